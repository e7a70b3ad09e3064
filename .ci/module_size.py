"""Fail when a Python module in intake/ or workers/ is longer than 400 lines (.ci/run, lint).

A module that grows past the limit is split by role before it lands (README: Architecture).
Run from anywhere: ``python3 .ci/module_size.py [LIMIT]``; prints each offender and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("intake", "workers")
LIMIT = 400


def oversized(limit: int) -> list[tuple[Path, int]]:
    """Every module under the packages with more than ``limit`` lines, longest first."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append((path.relative_to(ROOT), lines))
    return sorted(found, key=lambda item: -item[1])


def main(argv: list[str]) -> int:
    limit = int(argv[0]) if argv else LIMIT
    offenders = oversized(limit)
    for path, lines in offenders:
        print(f"{path}: {lines} lines (limit {limit}): split it by role")
    if offenders:
        return 1
    print(f"module size: every module in {' and '.join(PACKAGES)} has at most {limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

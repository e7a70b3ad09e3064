"""Read pip-audit's JSON report (.ci/run) and say plainly what was and was not audited.

Fails on any known vulnerability. A dependency pip-audit could not look up is listed as not
audited rather than failing the run: on a network that answers PyPI's per-release JSON
(``/pypi/<name>/<version>/json``) with 404, as the CI machine's does, every lookup is skipped,
and the summary line says so instead of a silent "No known vulnerabilities found".
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8") as report:
        dependencies = json.load(report)["dependencies"]
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} "
                  f"(fixed in {fixed})")  # fmt: skip
    audited = len(dependencies) - len(skipped)
    print(f"pip-audit: {len(dependencies)} locked dependencies, {audited} audited, "
          f"{len(vulnerable)} vulnerable, {len(skipped)} NOT audited")  # fmt: skip
    if skipped:
        print(f"  not audited ({skipped[0]['skip_reason'].split(':')[0].lower()}): "
              + ", ".join(d["name"] for d in skipped))  # fmt: skip
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

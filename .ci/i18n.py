"""The message catalogues: bring them up to date, or check that they are (.ci/run, lint).

    uv run python .ci/i18n.py update   # extract, merge into each language, compile
    uv run python .ci/i18n.py check    # fail when a catalogue lags the code, or Spanish has gaps

Patient strings form the ``messages`` domain (``intake/translations/messages.pot``), translated
into every language in ``intake.i18n.LANGUAGES``; staff strings form the ``staff`` domain, kept as
a template only (staff pages are English). ``check`` fails when extracting again would change a
template, when a language has a missing, fuzzy or obsolete string, when a compiled ``.mo`` is
older than its ``.po``, or when a questionnaire or notice translation leaves a text untranslated.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.i18n import DEFAULT, LANGUAGES  # noqa: E402

TRANSLATIONS = ROOT / "intake" / "translations"
DOMAINS = ("messages", "staff")
TRANSLATED = ("messages",)  # the domains translated into every language
OTHERS = [language for language in LANGUAGES if language != DEFAULT]
PROJECT = ("--project", "intake", "--copyright-holder", "intake", "--msgid-bugs-address", "-")


def pybabel(*args: str) -> None:
    os.chdir(ROOT)  # locations relative to the checkout, the same on every machine
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(domain: str, output: Path) -> None:
    pybabel(
        "extract",
        "-F",
        str(TRANSLATIONS / f"{domain}.cfg"),
        "-o",
        str(output),
        "--add-location=file",
        "--sort-output",
        "--no-wrap",
        "--keyword=lazy_gettext",  # module-level constants, translated when shown
        *PROJECT,
        ".",
    )


def po_path(language: str, domain: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, abort_invalid=True)


def _mo_bytes(path: Path) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, _read(path), use_fuzzy=False)
    return buffer.getvalue()


def update() -> int:
    for domain in DOMAINS:
        template = TRANSLATIONS / f"{domain}.pot"
        extract(domain, template)
        if domain not in TRANSLATED:
            continue
        for language in OTHERS:
            po = po_path(language, domain)
            verb = "update" if po.exists() else "init"
            extra = ("--no-wrap", "--ignore-obsolete") if verb == "update" else ("--no-wrap",)
            pybabel(
                verb,
                "-D",
                domain,
                "-i",
                str(template),
                "-d",
                str(TRANSLATIONS),
                "-l",
                language,
                *extra,
            )
            po.with_suffix(".mo").write_bytes(_mo_bytes(po))
    return check()


def _entries(catalog) -> list[tuple]:
    return sorted(
        (str(m.id), str(m.context or ""), tuple(m.auto_comments)) for m in catalog if m.id
    )


def check() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for domain in DOMAINS:
            committed = TRANSLATIONS / f"{domain}.pot"
            fresh = Path(scratch) / f"{domain}.pot"
            extract(domain, fresh)
            if not committed.exists() or _entries(_read(committed)) != _entries(_read(fresh)):
                problems.append(f"{committed.relative_to(ROOT)} lags the code")
    counts = {}
    for domain in TRANSLATED:
        template = {m.id for m in _read(TRANSLATIONS / f"{domain}.pot") if m.id}
        for language in OTHERS:
            po = po_path(language, domain)
            catalog = _read(po)
            ids = {m.id for m in catalog if m.id}
            missing = [m.id for m in catalog if m.id and not _translated(m)]
            missing += sorted(template - ids, key=str)
            fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
            obsolete = list(catalog.obsolete) + sorted(ids - template, key=str)
            counts[f"{language}/{domain}"] = (
                len(template),
                len(missing),
                len(fuzzy),
                len(obsolete),
            )
            for label, found in (("missing", missing), ("fuzzy", fuzzy), ("obsolete", obsolete)):
                problems += [f"{po.relative_to(ROOT)}: {label}: {text!r}" for text in found[:20]]
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.read_bytes() != _mo_bytes(po):
                problems.append(f"{mo.relative_to(ROOT)} is not compiled from its .po")
    problems += definition_gaps() + notice_gaps()
    for key, (total, missing, fuzzy, obsolete) in counts.items():
        print(f"{key}: {total} strings, {missing} missing, {fuzzy} fuzzy, {obsolete} obsolete")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            "run: uv run python .ci/i18n.py update, then translate what it lists", file=sys.stderr
        )
    return 1 if problems else 0


def _translated(message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def definition_gaps() -> list[str]:
    """Every questionnaire text a shipped translation leaves in English."""
    import yaml

    from intake.config import BaseConfig
    from intake.questionnaire.definition import DEFINITIONS, definition_paths, load_definition
    from intake.questionnaire.translation import missing

    name = BaseConfig.INTAKE_QUESTIONNAIRE
    source = load_definition(name)
    problems = []
    for language in OTHERS:
        questionnaire_path, rules_path = definition_paths(name, DEFINITIONS, language)
        if not questionnaire_path.exists() or not rules_path.exists():
            problems.append(f"{questionnaire_path.name} or {rules_path.name} is missing")
            continue
        gaps = missing(
            source.questionnaire,
            yaml.safe_load(questionnaire_path.read_text(encoding="utf-8")) or {},
            yaml.safe_load(rules_path.read_text(encoding="utf-8")) or {},
            source.ruleset,
        )
        print(f"{language}/{questionnaire_path.name}: {len(gaps)} missing")
        problems += [f"{questionnaire_path.name}: missing {gap}" for gap in gaps]
    return problems


def notice_gaps() -> list[str]:
    """Each notice exists in every language, at the same version as the source."""
    from intake.notices import translation_gaps

    return translation_gaps(OTHERS)


if __name__ == "__main__":
    commands = {"update": update, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())

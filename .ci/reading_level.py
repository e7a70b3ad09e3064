"""Fail when a patient-facing text reads too hard, in English or in Spanish (.ci/run, lint).

    uv run python .ci/reading_level.py                  # every language must have every source
    uv run python .ci/reading_level.py --allow-missing  # while translations land: say what is
                                                        # missing, measure what exists

What is measured, in each language of ``intake.i18n.LANGUAGES``: the ``messages`` catalogue
(``messages.pot`` msgids are the English, each language's ``messages.po`` msgstrs its words), the
questionnaire as ``load_definition`` gives it in that language (step intros and links back, each
question with its help, each choice, the eligibility messages) and the notices (``privacy.md``,
``terms.md``, their ``.<language>.md`` translations), front matter and Markdown taken out, and
the built-in message templates staff send (``intake/conversations/templates.yaml``: each body in
that language; an email's subject counts as a title). One text is one message, one question
with its help, one choice, one paragraph or list item, one template's body. A
missing source file of a language we speak fails the check; a text a translation leaves in
English is not measured as that language (``.ci/i18n.py check`` reports it).

Cleaning: tags and entities go; each placeholder (``%(name)s``, ``%s``, ``{clinic}``,
``{{ name }}``), email address and web address becomes one plain word ("name", "nombre"); each
paragraph ends as a sentence. Not prose, so skipped: titles and headings (a name, not a
sentence), and any text with fewer than five words of its own once placeholders, emails and
addresses are set aside (a button, a field name, a choice such as "Yes"). Under five words the
grade is the syllable count alone: "Clinically isolated syndrome (CIS)" would score grade 18 and
"Which type of MS?" grade -2, and neither says how hard the page is.

English is scored with the Flesch-Kincaid grade (US school grade; higher is harder). Spanish with
Fernández-Huerta (0-100, higher is easier; the Flesch formula refitted to Spanish syllables),
published scale: 90+ very easy (grade 4), 80-90 easy (5), 70-80 fairly easy (6), 60-70 normal
(7-8), 50-60 fairly hard (pre-university), 30-50 hard. We measured 20 patient texts of this
service translated into plain Spanish with all three formulas textstat offers: Szigriszt-Pazos
tracks Fernández-Huerta exactly (correlation 1.0, 4 points lower: the same formula with other
weights; its INFLESZ scale, validated on Spanish patient leaflets, calls 55-65 "normal", which
is Fernández-Huerta 59-69), so it adds nothing; Gutiérrez de Polini counts letters, was fitted on
primary-school readers, squeezed our texts into 29-53 and followed the English grade less well
(correlation -0.5 against -0.7). Fernández-Huerta it is, on its own scale.

The bars. Health-literacy guidance (NIH, AMA, the CDC Clear Communication Index) asks for
patient material at about grade 6-8. All the texts of a language joined must read at grade 8 or
below in English. One text alone is short and its grade noisy (one more "multiple sclerosis", a
name every reader here knows, adds two grades to a 12-word question), so a single text may reach
grade 12, the end of high school; above that it is hard for anyone and is rewritten. In Spanish,
on the 20 parallel texts, English grade 8 matched Fernández-Huerta 73 and grade 12 matched 62
(least squares); rounded down to the published bands: all texts joined at least 70, each text
at least 60. Figures of December 2026, English: 78 texts measured, overall grade 4.8, the
hardest 11.6 (an eligibility message), then 10.7 and 10.2 (questions naming hepatitis,
tuberculosis, a disease-modifying therapy); the one text over the bar, "Has a neurologist
diagnosed multiple sclerosis?" (16.2), now has a help line saying what a neurologist is (8.5).
The 20 parallel Spanish texts: 76 joined, 37-95 alone.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import textstat
from babel.messages.pofile import read_po
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.i18n import DEFAULT, LANGUAGES  # noqa: E402

TRANSLATIONS = ROOT / "intake" / "translations"
MIN_WORDS = 5
PLAIN_WORD = {"en": "name", "es": "nombre"}  # what a placeholder, email or address reads as
SHOWN = 10  # the hardest texts printed per language
_SENTINEL = "\x00"
_PLACEHOLDER = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]"  # %(name)s, %(count)d
    r"|%[sdifr]"  # %s
    r"|\{\{\s*[^{}]*?\s*\}\}"  # {{ name }}
    r"|\{[A-Za-z_][A-Za-z0-9_.]*\}"  # {clinic}
)
_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[^\W\d_](?:[^\W_]|['’-][^\W\d_])*")


@dataclass(frozen=True)
class Scale:
    """How one language is scored, and the bars its texts must meet."""

    name: str
    lang: str  # textstat's language
    formula: str  # the textstat function
    per_text: float  # the bar for each text
    overall: float  # the bar for all texts joined
    higher_is_harder: bool

    def measure(self, text: str) -> float:
        textstat.set_lang(self.lang)  # textstat keeps one language for all: set it every time
        return float(getattr(textstat, self.formula)(text))

    def too_hard(self, score: float, bar: float) -> bool:
        return score > bar if self.higher_is_harder else score < bar

    def hardness(self, score: float) -> float:
        """A sort key: the larger, the harder to read."""
        return score if self.higher_is_harder else -score

    def bar_words(self, bar: float) -> str:
        return f"{'at most' if self.higher_is_harder else 'at least'} {bar:g}"


SCALES = {
    "en": Scale("Flesch-Kincaid grade", "en_US", "flesch_kincaid_grade", 12, 8, True),
    "es": Scale("Fernández-Huerta", "es", "fernandez_huerta", 60, 70, False),
}


@dataclass(frozen=True)
class Text:
    where: str  # the file and the place in it
    raw: str  # as written
    label: bool = False  # a title or a heading: a name, not a sentence


Found = tuple[list[Text], list[str]]  # the texts, and the source files that are missing


@dataclass(frozen=True)
class Measured:
    text: Text
    prose: str  # cleaned: what was scored
    score: float


# --- cleaning ---------------------------------------------------------------------------------


def own_words(text: str) -> list[str]:
    """The words of ``text``: runs of letters (with inner apostrophes or hyphens)."""
    return _WORD.findall(text)


def _sentence(paragraph: str) -> str:
    paragraph = " ".join(paragraph.split())
    if not paragraph or paragraph.endswith((".", "!", "?", "…")):
        return paragraph
    return paragraph.rstrip(":;,") + "."


def clean(raw: str, language: str) -> str | None:
    """``raw`` as prose to measure, or None when it is not prose (fewer than MIN_WORDS words of
    its own once placeholders, emails and web addresses are set aside). Each paragraph (a blank
    line apart) ends as a sentence, so a greeting or a heading-like line does not run on."""
    text = html.unescape(_TAG.sub(" ", raw.replace("%%", "%")))
    text = _ADDRESS.sub(_SENTINEL, _PLACEHOLDER.sub(_SENTINEL, text))
    if len(own_words(text.replace(_SENTINEL, " "))) < MIN_WORDS:
        return None
    text = text.replace(_SENTINEL, PLAIN_WORD.get(language, PLAIN_WORD[DEFAULT]))
    return " ".join(filter(None, map(_sentence, re.split(r"\n\s*\n", text))))


def markdown_blocks(markdown: str) -> list[tuple[str, bool]]:
    """Each paragraph, heading and list item of ``markdown`` as plain text, and whether it is
    a heading."""
    blocks, heading = [], False
    for token in MarkdownIt("commonmark", {"html": False}).parse(markdown):
        if token.type in ("heading_open", "heading_close"):
            heading = token.type == "heading_open"
        if token.type != "inline":
            continue
        words = []
        for child in token.children or ():
            if child.type in ("text", "code_inline"):
                words.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
        block = " ".join("".join(words).split())
        if block:
            blocks.append((block, heading))
    return blocks


# --- gathering --------------------------------------------------------------------------------


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def catalogue_texts(language: str, translations: Path = TRANSLATIONS) -> Found:
    """The ``messages`` domain: msgids in the default language, msgstrs in the others (fuzzy
    ones are never shown, so not measured)."""
    path = (
        translations / "messages.pot"
        if language == DEFAULT
        else translations / language / "LC_MESSAGES" / "messages.po"
    )
    if not path.exists():
        return [], [_relative(path)]
    with path.open("rb") as handle:
        catalog = read_po(handle)
    texts = []
    for message in catalog:
        if not message.id or (language != DEFAULT and message.fuzzy):
            continue
        where = f"{_relative(path)} ({message.locations[0][0] if message.locations else '?'})"
        strings = message.id if language == DEFAULT else message.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        texts += [Text(where, string) for string in strings if string]
    return texts, []


def questionnaire_texts(
    language: str, name: str | None = None, directory: Path | None = None
) -> Found:
    """The questionnaire's words (each question with its help) and the eligibility messages,
    as a patient reads them in ``language``."""
    from intake.config import BaseConfig
    from intake.questionnaire.definition import DEFINITIONS, definition_paths, load_definition

    name = name or BaseConfig.INTAKE_QUESTIONNAIRE
    directory = directory or DEFINITIONS
    translation = None if language == DEFAULT else language
    paths = definition_paths(name, directory, translation)
    missing = [_relative(path) for path in paths if not path.exists()]
    if missing:
        return [], missing
    definition = load_definition(name, directory, language=translation)
    questionnaire, ruleset = definition.questionnaire, definition.ruleset
    file, rules = paths[0].name, paths[1].name
    texts = [Text(f"{file} title", questionnaire.title, label=True)]
    for step in questionnaire.steps:
        texts.append(Text(f"{file} steps.{step.id}.title", step.title, label=True))
        texts += [
            Text(f"{file} steps.{step.id}.{key}", value)
            for key, value in (("intro", step.intro), ("change", step.change))
            if value
        ]
        for item in step.items:
            where = f"{file} items.{item.link_id}"
            if item.help:
                texts.append(Text(f"{where} (with help)", f"{item.text}\n\n{item.help}"))
            else:
                texts.append(Text(where, item.text))
            texts += [Text(f"{where}.options.{o.code}", o.display) for o in item.options]
    texts += [Text(f"{rules} messages.{key}", text) for key, text in ruleset.messages.items()]
    return texts, []


def notice_texts(language: str, directory: Path | None = None) -> Found:
    """Each paragraph, heading and list item of each notice, front matter and Markdown out."""
    from intake.notices import DIRECTORY, NAMES, PLACEHOLDERS, parse_notice

    directory = directory or DIRECTORY
    texts, missing = [], []
    for name in NAMES:
        path = directory / (f"{name}.md" if language == DEFAULT else f"{name}.{language}.md")
        if not path.exists():
            missing.append(_relative(path))
            continue
        kept = {key: "{" + key + "}" for key in PLACEHOLDERS}  # left for clean() to replace
        notice = parse_notice(name, path.read_text(encoding="utf-8"), kept)
        texts.append(Text(f"{_relative(path)} title", notice.title, label=True))
        texts += [
            Text(f"{_relative(path)} block {number}", block, label=heading)
            for number, (block, heading) in enumerate(markdown_blocks(notice.text), start=1)
        ]
    return texts, missing


def message_template_texts(language: str, path: Path | None = None) -> Found:
    """The built-in message templates staff send (``intake/conversations/templates.yaml``):
    each body in ``language`` is one text; an email's subject is a label, like a title."""
    import yaml

    path = path or ROOT / "intake" / "conversations" / "templates.yaml"
    if not path.exists():
        return [], [_relative(path)]
    texts, missing = [], []
    for key, channels in yaml.safe_load(path.read_text(encoding="utf-8")).items():
        for channel, languages in channels.items():
            where = f"{_relative(path)} {key}.{channel}.{language}"
            entry = languages.get(language)
            if entry is None:
                missing.append(where)
                continue
            if entry.get("subject"):
                texts.append(Text(f"{where}.subject", entry["subject"], label=True))
            texts.append(Text(f"{where}.body", entry["body"]))
    return texts, missing


SOURCES: tuple[Callable[[str], Found], ...] = (
    catalogue_texts,
    questionnaire_texts,
    notice_texts,
    message_template_texts,
)


def gather(language: str, sources: Iterable[Callable[[str], Found]] = SOURCES) -> Found:
    """Every text of ``language``, and the source files it lacks."""
    texts, missing = [], []
    for source in sources:
        found, lacking = source(language)
        texts += found
        missing += lacking
    return texts, missing


# --- verdict ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    language: str
    scale: Scale
    measured: list[Measured]
    skipped: int
    untranslated: int
    overall: float | None

    @property
    def hardest(self) -> list[Measured]:
        return sorted(self.measured, key=lambda m: -self.scale.hardness(m.score))

    @property
    def failures(self) -> list[str]:
        scale = self.scale
        found = [
            f"{m.text.where}: {scale.name} {m.score:.1f}, the bar for one text is "
            f"{scale.bar_words(scale.per_text)}: rewrite it"
            for m in self.hardest
            if scale.too_hard(m.score, scale.per_text)
        ]
        if self.overall is not None and scale.too_hard(self.overall, scale.overall):
            found.append(
                f"all {self.language} texts: {scale.name} {self.overall:.1f}, the bar is "
                f"{scale.bar_words(scale.overall)}"
            )
        return found


def assess(language: str, texts: Iterable[Text], source_texts: Iterable[str] = ()) -> Report:
    """Score each text and all of them joined; ``source_texts`` are the default language's
    words, which a translation leaves as they are when it lacks a text (not scored here)."""
    scale = SCALES[language]
    untouched = set(source_texts) if language != DEFAULT else set()
    measured, skipped, untranslated = [], 0, 0
    for text in texts:
        if text.raw in untouched:
            untranslated += 1
            continue
        prose = None if text.label else clean(text.raw, language)
        if prose is None:
            skipped += 1
            continue
        measured.append(Measured(text, prose, scale.measure(prose)))
    joined = " ".join(m.prose for m in measured)
    overall = scale.measure(joined) if joined else None
    return Report(language, scale, measured, skipped, untranslated, overall)


def print_report(report: Report) -> None:
    scale = report.scale
    overall = "-" if report.overall is None else f"{report.overall:.1f}"
    print(
        f"{report.language} ({scale.name}): {len(report.measured)} texts measured, "
        f"{report.skipped} labels skipped, {report.untranslated} left untranslated; "
        f"overall {overall} (bar {scale.bar_words(scale.overall)}, each text "
        f"{scale.bar_words(scale.per_text)})"
    )
    for m in report.hardest[:SHOWN]:
        prose = m.prose if len(m.prose) <= 72 else m.prose[:71] + "…"
        print(f"  {m.score:5.1f}  {m.text.where}\n         {prose}")


def check(allow_missing: bool = False, sources=SOURCES, languages=LANGUAGES):
    """Every language's report, what fails, and what is only noted."""
    problems, notes = [], []
    source, missing = gather(DEFAULT, sources)
    problems += [f"{DEFAULT}: {path} is missing" for path in missing]
    reports = [assess(DEFAULT, source)]
    for language in sorted(set(languages) - {DEFAULT}):
        texts, missing = gather(language, sources)
        lacking = [f"{language}: {path} is missing" for path in missing]
        (notes if allow_missing else problems).extend(lacking)
        reports.append(assess(language, texts, [text.raw for text in source]))
    for report in reports:
        problems += report.failures
    return reports, problems, notes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="report a missing source file of a language without failing (work in progress)",
    )
    reports, problems, notes = check(parser.parse_args(argv).allow_missing)
    for report in reports:
        print_report(report)
    for note in notes:
        print(f"note: {note}: not measured (--allow-missing)")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

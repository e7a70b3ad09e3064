"""The privacy notice and the terms of use: Markdown files a clinic edits, each with a version.

Each file starts with a front matter block (``version``, ``title``, ``updated``) and uses
placeholders filled from the settings (``{clinic_name}``, ``{privacy_contact}``,
``{retention_days}``, ``{resume_days}``). The text is rendered once, at startup, by
markdown-it-py with raw HTML turned off and then cleaned by nh3, so a typo in the file cannot
put script on a patient page. A malformed file stops the app at startup, naming the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import nh3
import yaml
from markdown_it import MarkdownIt

from intake.config import for_language

DIRECTORY = Path(__file__).parent
NAMES = ("privacy", "terms")
PLACEHOLDERS = frozenset({"clinic_name", "privacy_contact", "retention_days", "resume_days"})
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_VERSION = re.compile(r"[A-Za-z0-9._-]{1,24}")
_TAGS = {"h2", "h3", "p", "ul", "ol", "li", "a", "strong", "em", "br", "code", "blockquote"}


class NoticeError(ValueError):
    """A notice file is malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Notice:
    name: str
    version: str
    title: str
    updated: date
    text: str  # the Markdown as shown, placeholders filled: what the hash covers
    html: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def consent_version(self) -> str:
        """The version as a consent record keeps it, e.g. ``privacy-2026.12.1``."""
        return f"{self.name}-{self.version}"


def _fill(body: str, values: Mapping[str, object], where: str) -> str:
    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key not in PLACEHOLDERS:
            known = ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))
            raise NoticeError(f"{where}: unknown placeholder {{{key}}} (known: {known})")
        return str(values[key])

    return _PLACEHOLDER.sub(replace, body)


def _render(text: str) -> str:
    markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
    html = markdown.render(text)
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)  # the page has its own h1: the title
    return nh3.clean(
        html, tags=_TAGS, attributes={"a": {"href"}}, url_schemes={"https", "http", "mailto"}
    )


def parse_notice(name: str, source: str, values: Mapping[str, object]) -> Notice:
    """Read one notice file's text into a Notice, or say what is wrong with it."""
    where = f"notice '{name}.md'"
    match = _FRONT_MATTER.match(source.replace("\r\n", "\n"))
    if not match:
        raise NoticeError(f"{where}: must start with a '---' front matter block")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise NoticeError(f"{where}: the front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise NoticeError(f"{where}: the front matter must be 'key: value' lines")
    version, title, updated = meta.get("version"), meta.get("title"), meta.get("updated")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise NoticeError(f'{where}: version must be quoted text like "2026.12.1" (24 at most)')
    if not isinstance(title, str) or not title.strip():
        raise NoticeError(f"{where}: needs a title")
    if not isinstance(updated, date):
        raise NoticeError(f"{where}: updated must be a date like 2026-12-06")
    body = match.group(2).strip()
    if not body:
        raise NoticeError(f"{where}: the text is empty")
    text = _fill(body, values, where)
    return Notice(name, version, title.strip(), updated, text, _render(text))


def _path(directory: Path | None, name: str, language: str | None) -> Path:
    return (directory or DIRECTORY) / (f"{name}.{language}.md" if language else f"{name}.md")


def load_notices(
    values: Mapping[str, object], directory: Path | None = None, language: str | None = None
) -> dict[str, Notice]:
    """Every notice, read and rendered once (at startup); in ``language``, its translation
    ``<name>.<language>.md`` where there is one, else the source text."""
    notices = {}
    for name in NAMES:
        path = _path(directory, name, language)
        if not path.exists():
            path = _path(directory, name, None)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NoticeError(f"notice '{path.name}': cannot read it ({exc})") from exc
        notices[name] = parse_notice(name, source, values)
    return notices


def translation_gaps(languages, directory: Path | None = None) -> list[str]:
    """What keeps each notice from being read in each of ``languages`` as in the source: a
    missing translation, or one of another version (a consent records the version)."""
    values = dict.fromkeys(PLACEHOLDERS, "x")
    source = load_notices(values, directory)
    gaps = []
    for language in languages:
        for name in NAMES:
            path = _path(directory, name, language)
            if not path.exists():
                gaps.append(f"notice '{path.name}' is missing")
                continue
            translated = parse_notice(name, path.read_text(encoding="utf-8"), values)
            if translated.version != source[name].version:
                gaps.append(
                    f"notice '{path.name}': version {translated.version}, "
                    f"the source is {source[name].version}"
                )
    return gaps


def placeholder_values(config: Mapping, language: str = "en") -> dict[str, object]:
    """The placeholders' values from the settings, for the notices in ``language``
    (``INTAKE_CLINIC_NAME_ES`` and ``INTAKE_PRIVACY_CONTACT_ES`` for Spanish)."""
    return {
        "clinic_name": for_language(config, "INTAKE_CLINIC_NAME", language),
        "privacy_contact": for_language(config, "INTAKE_PRIVACY_CONTACT", language),
        "retention_days": config["INTAKE_RETENTION_DAYS"],
        "resume_days": config["INTAKE_RESUME_DAYS"],
    }

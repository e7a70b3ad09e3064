"""Languages: which one a patient page speaks, and the one patient emails are written in.

A patient page speaks the language chosen from the link (``?lang=es``, or ``/es/inquiry``),
else the one this browser chose before (kept in the session, and restored from the lead on
resume), else the browser's Accept-Language, else the clinic's default. Staff pages and the API
speak English; their strings are marked for translation all the same (``staff.pot``).
Translations are Babel catalogues under ``intake/translations`` (``pybabel``; see README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations, refresh

T = TypeVar("T")
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
SWITCH_ACTION = "lang:"  # a step form's button "lang:es" switches and keeps what was typed
ENGLISH_ONLY = ("staff", "api")


def N_(text: str) -> str:  # noqa: N802 (Babel's own keyword for it)
    """Mark ``text`` for the catalogue and return it as it is: where it is shown, it is
    translated (for a constant read outside any request, such as one stored or hashed)."""
    return text


def default_language() -> str:
    configured = current_app.config.get("INTAKE_DEFAULT_LANGUAGE", DEFAULT)
    return configured if configured in LANGUAGES else DEFAULT


def supported(language: str | None) -> str | None:
    """``language`` if we speak it (case and region ignored: "es-MX" is Spanish), else None."""
    code = (language or "").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def english_only() -> bool:
    """This request is for staff or the API, which speak English only."""
    return request.blueprint in ENGLISH_ONLY or request.path.startswith(("/staff", "/api"))


def choose_locale() -> str:
    """Flask-Babel's locale selector."""
    if not has_request_context():
        return DEFAULT  # staff emails; patient emails force the lead's language
    if english_only():
        return DEFAULT
    chosen = supported(session.get("lang"))
    if chosen:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=default_language())


def asked_for() -> str | None:
    """The language this request asks for: ``?lang=`` on a link, or a switch button."""
    action = request.form.get("action", "") if request.method == "POST" else ""
    if action.startswith(SWITCH_ACTION):
        return supported(action.removeprefix(SWITCH_ACTION))
    return supported(request.args.get("lang"))


def remember(language: str | None) -> None:
    """Speak ``language`` from now on in this browser (for a new choice, or on resume)."""
    language = supported(language)
    if language and session.get("lang") != language:
        session["lang"] = language
        refresh()


def remember_asked() -> None:
    """Before each patient request: keep a language asked for by link or button."""
    remember(asked_for())


def current_language() -> str:
    """The language of the page or email being written (a ``LANGUAGES`` code); a request asks
    several times, so it is kept as ``translations`` keeps its catalogue."""
    locale = get_locale()
    if locale is None:
        return DEFAULT
    return _kept("_intake_language", locale, lambda: supported(str(locale)) or DEFAULT)


def template_values() -> dict:
    """What every page's template needs to say its language and offer the others."""
    language = current_language()
    return {
        "language": language,
        # None to switch to in an email, or on a staff or API page (their error pages use the
        # patients' base template).
        "other_languages": {}
        if not has_request_context() or english_only()
        else {code: name for code, name in LANGUAGES.items() if code != language},
    }


def translations():
    """Flask-Babel's catalogue for the current locale, found once per context and locale.

    Flask-Babel finds the domain, the locale and the catalogue again on every ``gettext`` (tens
    of microseconds each); a page of 150 calendar entries or a thread of 60 messages asks a few
    hundred times. The catalogue is kept in ``g`` beside the locale object it was found for
    (``_kept``)."""
    locale = get_locale()
    if locale is None:  # outside an app context: Flask-Babel's own (no catalogue)
        return get_translations()
    return _kept("_intake_translations", locale, get_translations)


def _kept(name: str, locale: Any, find: Callable[[], T]) -> T:
    """What ``find()`` gives for ``locale`` (the current one), kept in ``g`` under ``name``
    beside that locale object: ``force_locale`` and ``refresh`` (each a new locale object) find
    theirs again."""
    kept = g.get(name)
    if kept is not None and kept[0] is locale:
        return kept[1]
    found = find()
    setattr(g, name, (locale, found))
    return found


def gettext(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` through the kept catalogue (the same words, the same ``%``)."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def install_jinja(app: Flask) -> None:
    """Templates' ``_``, ``gettext`` and ``ngettext`` through the kept catalogue (after
    ``babel.init_app``, which installs Flask-Babel's own)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )

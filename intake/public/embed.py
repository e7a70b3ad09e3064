"""The embeddable start of the inquiry: a small panel the clinic's own articles frame (only the
origins in INTAKE_EMBED_ORIGINS may), which hands over to the full form in the top window.

It collects nothing: a frame on another site cannot keep our session, and patient data never
goes in a URL, so the hand-over carries the article's UTM fields and nothing else."""

from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, make_response, render_template, request
from flask_babel import force_locale

from intake import i18n
from intake.config import for_language
from intake.http import framed_by
from intake.public import bp
from intake.public.flow import ATTRIBUTION_KEYS
from intake.text import clean_line

UTM_MAX = 200  # as the inquiry keeps them


def handover_values() -> dict[str, str]:
    """The UTM fields this frame was given, cleaned, for the link to the full form."""
    given = {key: clean_line(request.args.get(key, ""))[:UTM_MAX] for key in ATTRIBUTION_KEYS}
    return {key: value for key, value in given.items() if value}


@bp.get("/embed/inquiry")
@bp.get("/<any(es, en):language>/embed/inquiry", endpoint="embed_in_language")
def embed(language: str | None = None):
    """The start panel for a narrow column of an article, in the language of its address (or
    the reader's browser); its button opens the full form in the top window."""
    with force_locale(language) if language else nullcontext():
        page_language = i18n.current_language()
        page = render_template(
            "public/embed.html",
            utm=handover_values(),
            page_language=page_language,
            response_time=for_language(current_app.config, "INTAKE_RESPONSE_TIME", page_language),
        )
    response = make_response(page)
    response.headers["Content-Security-Policy"] = framed_by(
        current_app.config["INTAKE_EMBED_ORIGINS"]
    )
    return response

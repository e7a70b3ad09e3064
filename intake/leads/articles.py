"""The clinic's articles and campaigns: keeping them (admins), and the links staff paste into
the clinic's website, each carrying the article's UTM fields so the inquiry it starts is
counted for it (the attribution figures on the dashboard).

A link carries only the UTM fields: patient data never goes in a URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape
from sqlalchemy import func, select

from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.links import absolute_url
from intake.models import ArticleLink
from intake.routing.admin import AdminInputError

# A UTM value as the links carry it: lower-case letters, digits, "-", "_" and ".".
SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
# The embed snippet's frame height: the panel in Spanish at 280 px wide, with room to spare.
EMBED_HEIGHT = 460

ArticleInputError = AdminInputError


@dataclass(frozen=True)
class ArticleData:
    title: str
    page_url: str | None
    utm_content: str
    utm_campaign: str
    utm_source: str = "website"
    utm_medium: str = "article"
    active: bool = True


@dataclass(frozen=True)
class ArticleLinks:
    """What staff copy for one article: the inquiry in English and in Spanish, and the snippet
    that frames the embeddable start in each language."""

    english: str
    spanish: str
    embed_english: str
    embed_spanish: str


# The frame's title, read by screen readers on the clinic's page, in the page's language.
FRAME_TITLES = {"en": "Start your inquiry", "es": "Empezar su solicitud"}


def list_articles() -> list[ArticleLink]:
    """Every article, active ones first, by title (one query)."""
    return list(
        db.session.scalars(
            select(ArticleLink).order_by(
                ArticleLink.active.desc(), func.lower(ArticleLink.title), ArticleLink.id
            )
        )
    )


def save_article(
    *, article: ArticleLink | None, data: ArticleData, actor_id: int, now: datetime
) -> ArticleLink:
    """Create or update an article. Its ``utm_content`` names it in the figures, so no two
    articles share one; an article is made inactive, never deleted."""
    for field in UTM_KEYS:
        if not SLUG.fullmatch(getattr(data, field)):
            raise ArticleInputError(
                field, _l("Use lower-case letters, digits, dashes, dots or underscores only.")
            )
    if data.page_url and not data.page_url.lower().startswith(("https://", "http://")):
        raise ArticleInputError("page_url", _l("Enter a full link starting https://"))
    taken = select(ArticleLink.id).where(ArticleLink.utm_content == data.utm_content)
    if article is not None:
        taken = taken.where(ArticleLink.id != article.id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise ArticleInputError("utm_content", _l("Another article already uses this name."))
    if article is None:
        article = ArticleLink(created_at=now)
        db.session.add(article)
    for name, value in vars(data).items():
        setattr(article, name, value)
    article.updated_at, article.updated_by_id = now, actor_id
    db.session.flush()
    return article


def utm_values(article: ArticleLink) -> dict[str, str]:
    """The article's UTM fields, in the order its links carry them."""
    return {key: getattr(article, key) for key in UTM_KEYS}


def embed_snippet(url: str, language: str) -> str:
    """The iframe to paste into an article: titled for screen readers, the article column's
    width, tall enough for the text to wrap, no border."""
    return (
        f'<iframe src="{escape(url)}" title="{FRAME_TITLES[language]}" '
        f'height="{EMBED_HEIGHT}" style="border:0;width:100%" loading="lazy"></iframe>'
    )


def article_links(article: ArticleLink) -> ArticleLinks:
    """The article's links on INTAKE_BASE_URL, and its embed snippets."""
    utm = utm_values(article)
    return ArticleLinks(
        english=absolute_url("public.contact", **utm),
        spanish=absolute_url("public.in_language", language="es", **utm),
        embed_english=embed_snippet(absolute_url("public.embed", **utm), "en"),
        embed_spanish=embed_snippet(
            absolute_url("public.embed_in_language", language="es", **utm), "es"
        ),
    )

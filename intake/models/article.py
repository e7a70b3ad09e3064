"""The clinic's articles and campaigns: the UTM fields their links to the inquiry carry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow


class ArticleLink(db.Model):
    """One article or campaign an admin keeps: staff copy its links and its embed snippet into
    the clinic's website, and the dashboard counts the leads that came through them."""

    __tablename__ = "article_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    # For staff only; patients never see it.
    title: Mapped[str] = mapped_column(String(200))
    # The page on the clinic's own website the links go on (optional, for staff to find it).
    page_url: Mapped[str | None] = mapped_column(String(500))
    utm_content: Mapped[str] = mapped_column(String(100), unique=True)
    utm_campaign: Mapped[str] = mapped_column(String(100))
    utm_source: Mapped[str] = mapped_column(String(100), default="website")
    utm_medium: Mapped[str] = mapped_column(String(100), default="article")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

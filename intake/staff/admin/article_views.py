"""Links for the clinic's articles: the page staff copy links and embed snippets from
(``articles.view``), and adding or editing an article (``admin.articles``). An article is made
inactive, never deleted, so the figures keep its name."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.extensions import db
from intake.leads.articles import (
    ArticleData,
    ArticleInputError,
    article_links,
    list_articles,
    save_article,
)
from intake.models import ArticleLink
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.article_forms import ArticleForm


@bp.get("/articles", endpoint="article_links")
@requires("articles.view")
def article_links_page():
    """Every article with its links to the inquiry (English, Spanish) and embed snippets."""
    articles = [(article, article_links(article)) for article in list_articles()]
    shown = render_template("staff/admin/articles.html", articles=articles)
    audit("articles.viewed")  # after drawing: the commit would expire every article read
    db.session.commit()
    return shown


@bp.route("/admin/articles/new", methods=["GET", "POST"], endpoint="admin_article_new")
@bp.route("/admin/articles/<int:article_id>", methods=["GET", "POST"])
@requires("admin.articles")
def admin_article(article_id: int | None = None):
    """Add or edit an article: its title, page and UTM fields, and whether it is in use."""
    article = db.session.get(ArticleLink, article_id) if article_id is not None else None
    if article_id is not None and article is None:
        deny(target=f"article:{article_id}", code=404)
    form = ArticleForm(obj=article)
    if request.method == "GET":
        audit("admin.viewed", target=request.endpoint, detail={"article_id": article_id})
        db.session.commit()
    elif form.validate_on_submit() and _saved(form, article):
        flash(_("The article is saved."), "success")
        return redirect(url_for("staff.article_links"))
    else:
        detail = {"id": article_id, "fields": sorted(form.errors)}
        audit("articles.saved", outcome="failed", detail=detail)
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template("staff/admin/article_form.html", form=form, article=article), status


def _saved(form: ArticleForm, article: ArticleLink | None) -> bool:
    data = ArticleData(
        title=form.title.data,
        page_url=form.page_url.data or None,
        utm_content=form.utm_content.data,
        utm_campaign=form.utm_campaign.data,
        utm_source=form.utm_source.data,
        utm_medium=form.utm_medium.data,
        active=bool(form.active.data),
    )
    try:
        saved = save_article(article=article, data=data, actor_id=current_user.id, now=utcnow())
    except ArticleInputError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
        return False
    detail = {"id": saved.id, "created": article is None}
    audit("articles.saved", target=f"article:{saved.id}", detail=detail)
    db.session.commit()
    return True

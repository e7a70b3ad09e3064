"""The lead queue (placeholder until built)."""

from flask import render_template

from intake.staff import bp
from intake.staff.access import requires


@bp.get("/")
@requires("leads.view")
def queue():
    return render_template("staff/base.html")


@bp.get("/dashboard")
@requires("dashboard.view")
def dashboard():
    return render_template("staff/base.html")

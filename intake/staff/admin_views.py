"""Administration (placeholder until built)."""

from flask import render_template

from intake.staff import bp
from intake.staff.access import requires


@bp.get("/admin/")
@requires("admin.staff")
def admin_home():
    return render_template("staff/base.html")

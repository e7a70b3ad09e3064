"""Sign-in, second factor, sign-out and the user's own account (placeholders until built)."""

from flask import redirect, render_template_string, url_for
from flask_login import logout_user

from intake.staff import bp
from intake.staff.access import public, requires


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    return render_template_string("sign in")


@bp.post("/logout")
@public
def logout():
    logout_user()
    return redirect(url_for("staff.login"))


@bp.route("/password", methods=["GET", "POST"])
@requires("account")
def change_password():
    return render_template_string("change password")


@bp.get("/account")
@requires("account")
def account():
    return render_template_string("account")

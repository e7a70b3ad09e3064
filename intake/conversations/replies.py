"""The reply address a patient email carries, and the lead a reply to it names.

Every patient email says ``Reply-To: replies+<token>@clinic.example``: the token is random,
made the first time the lead is written to and kept on the lead, so it names the lead without
revealing anything about them (not their id, not their name). A reply that comes back to that
address is matched to the lead by the token alone; a token that is not exactly one we made
matches nothing.
"""

from __future__ import annotations

import re
import secrets
import string
from email.utils import getaddresses, parseaddr

from flask import current_app
from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value

from intake.extensions import db
from intake.models import Lead

TOKEN_ALPHABET = string.ascii_lowercase + string.digits
# 20 characters of 36: about 103 bits, never guessed.
TOKEN_LENGTH = 20
_TOKEN = re.compile(rf"[a-z0-9]{{{TOKEN_LENGTH}}}")


def reply_base() -> tuple[str, str]:
    """The reply mailbox's local part and domain: INTAKE_REPLY_ADDRESS, else ``replies@`` the
    domain of INTAKE_MAIL_FROM."""
    config = current_app.config
    address = parseaddr(config.get("INTAKE_REPLY_ADDRESS") or "")[1]
    if "@" not in address:
        domain = parseaddr(config["INTAKE_MAIL_FROM"])[1].rpartition("@")[2] or "intake.local"
        address = f"replies@{domain}"
    local, _, domain = address.rpartition("@")
    return local.partition("+")[0], domain


def reply_address(lead: Lead) -> str:
    """``replies+<token>@domain`` for this lead, making and keeping its token on first use."""
    local, domain = reply_base()
    return f"{local}+{_token_of(lead)}@{domain}"


def new_token() -> str:
    """A token for a lead that has none (``_token_of``; on PostgreSQL the delivery task's claim
    of the lead's first patient email sets it, ``intake.messaging.delivery``)."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def _token_of(lead: Lead) -> str:
    """The lead's token. Set only where none is yet, so two workers writing to the same lead at
    once agree on one (the second waits for the first's row lock, then keeps its token)."""
    if lead.reply_token:
        return lead.reply_token
    token = db.session.scalar(
        update(Lead)
        .where(Lead.id == lead.id)
        .values(reply_token=func.coalesce(Lead.reply_token, new_token()))
        .returning(Lead.reply_token)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(lead, "reply_token", token)
    return token


def lead_for_token(token: str) -> Lead | None:
    """The lead this exact, well-formed token names; None for anything else or an erased lead."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    lead = db.session.scalar(db.select(Lead).where(Lead.reply_token == token))
    return lead if lead is not None and lead.erased_at is None else None


def token_in(address: str) -> str | None:
    """The token of a ``replies+<token>@domain`` address of ours (case aside), else None; the
    token as written, well-formed or not, so a forged one can be told from no token at all."""
    local, domain = reply_base()
    name, _, their_domain = parseaddr(address)[1].rpartition("@")
    base, plus, token = name.partition("+")
    if not plus or base.lower() != local.lower() or their_domain.lower() != domain.lower():
        return None
    return token.lower()


def tokens_in(headers: list[str]) -> list[str]:
    """The tokens of our reply addresses among these header values (To, Cc, Delivered-To...)."""
    found = (token_in(address) for _name, address in getaddresses(headers))
    return [token for token in found if token is not None]

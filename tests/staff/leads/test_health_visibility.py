"""What staff see of a lead's health, role by role (issue 10, item 3), on every staff page that
shows the lead or its eligibility: a coordinator without the answers permission reads the
outcome and each reason's category, never the condition; clinicians and admins read the rules'
reasons. Declared here as a role × content matrix, apart from the code it checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.extensions import db, encryption
from intake.models import EligibilityResult, Lead
from intake.questionnaire.definition import load_definition
from tests.conftest import HEALTH, complete_inquiry, page
from tests.factories import make_inquiry, make_lead

RULES = load_definition("ms_inquiry").ruleset
# The lead's answers trigger these two rules; the page shows their reasons or their categories.
TRIGGERED = {"active_infection": "yes", "able_to_travel": "no"}
REASONS = ("Hepatitis B or C, HIV or tuberculosis (or not sure).",
           "May not be able to travel to the clinic.")  # fmt: skip
CATEGORIES = ("Health screening needs a clinician's review", "Travel")
ANSWER = "Ocrevus"  # a health answer (the disease-modifying therapy's name)
# Words that would give a condition away, whichever rule it came from.
CONDITION_WORDS = ("Hepatitis", "HIV", "tuberculosis", "infection", "Cancer", "cancer", "Pregnan")

# identity → (may read the rules' reasons and the answers)
IDENTITIES = {
    "admin": True,
    "clinician": True,
    "coordinator": False,
    "coordinator_allowed": True,  # INTAKE_COORDINATORS_SEE_ANSWERS=1
}
# Every staff page that shows the lead, its outcome, or figures about outcomes: (page, roles).
PAGES = {
    "lead": ("/staff/leads/{lead_id}", None),
    "queue": ("/staff/?view=all", None),
    "review queue": ("/staff/?view=review", None),
    "unassigned queue": ("/staff/?view=unassigned", None),
    "dashboard": ("/staff/dashboard", None),
    "export": ("/staff/export.csv?view=all", {"admin", "coordinator"}),
    "audit log": ("/staff/admin/audit", {"admin"}),
    "questionnaire and re-evaluation": ("/staff/admin/questionnaire", {"admin"}),
}


def shown_text(response) -> str:
    if response.mimetype == "text/csv":
        return response.get_data(as_text=True)
    return " ".join(page(response).get_text(" ").split())


@pytest.fixture
def viewer(app_factory, make_staff, sign_in):
    """For an identity: (its signed-in client, its role, the lead sent through the form)."""

    def build(identity: str):
        app = app_factory(INTAKE_COORDINATORS_SEE_ANSWERS=identity == "coordinator_allowed")
        complete_inquiry(app.test_client(), health={**HEALTH, **TRIGGERED})
        with app.app_context():
            lead_id = db.session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1))
        role = identity.removesuffix("_allowed")
        # make_staff and sign_in use the `app` fixture's database, which this app shares.
        return sign_in(app.test_client(), make_staff(role)), role, lead_id

    return build


@pytest.mark.parametrize("identity", list(IDENTITIES))
def test_each_role_sees_the_outcome_and_either_the_reasons_or_only_their_categories(
    viewer, identity
):
    client, _role, lead_id = viewer(identity)
    sees_health = IDENTITIES[identity]

    shown = shown_text(client.get(f"/staff/leads/{lead_id}"))

    assert "Needs clinical review" in shown
    for reason in REASONS:
        assert (reason in shown) is sees_health, reason
    for category in CATEGORIES:
        assert (category in shown) is not sees_health, category
    assert (ANSWER in shown) is sees_health
    if not sees_health:
        assert "The health details behind these are shown to clinical staff only." in shown


def test_no_staff_page_shows_a_coordinator_the_condition_behind_an_outcome(viewer):
    client, role, lead_id = viewer("coordinator")
    every_reason = [rule.reason for rule in RULES.rules]

    for name, (url, roles) in PAGES.items():
        response = client.get(url.format(lead_id=lead_id))
        if roles is not None and role not in roles:
            assert response.status_code == 403, name
            continue
        assert response.status_code == 200, name
        shown = shown_text(response)
        assert [reason for reason in every_reason if reason in shown] == [], name
        assert [word for word in CONDITION_WORDS if word in shown] == [], name
        assert ANSWER not in shown, name


@pytest.mark.parametrize("identity", [i for i, sees_health in IDENTITIES.items() if sees_health])
def test_clinical_staff_read_the_reasons_on_the_lead_page_only(viewer, identity):
    # The queue, dashboard and exports carry the outcome only, whoever reads them.
    client, role, lead_id = viewer(identity)

    for name, (url, roles) in PAGES.items():
        if name == "lead" or (roles is not None and role not in roles):
            continue
        shown = shown_text(client.get(url.format(lead_id=lead_id)))
        assert [reason for reason in REASONS if reason in shown] == [], name


def test_a_result_stored_before_categories_shows_its_rules_current_category(
    app, make_staff, sign_in
):
    # Results evaluated before rules had categories hold no category: the rule set in force
    # names it by the rule's id, and a rule it no longer has reads as a reason for clinicians.
    with app.app_context():
        lead = make_lead(eligibility_outcome="needs_review")
        inquiry = make_inquiry(lead, status="complete")
        result = EligibilityResult(inquiry_id=inquiry.id, lead_id=lead.id, outcome="needs_review",
                                   ruleset_id="ms-eligibility", ruleset_version="2026.10.1",
                                   patient_message="review")  # fmt: skip
        result.triggered_sealed = encryption.keyring.seal_json(
            [
                {"id": "active_infection", "outcome": "needs_review", "reason": REASONS[0]},
                {"id": "retired_rule", "outcome": "needs_review", "reason": "Retired: HIV."},
            ],
            context=result.triggered_context,
        )
        db.session.add(result)
        db.session.commit()
        lead_id = lead.id
    client = sign_in(app.test_client(), make_staff("coordinator"))

    shown = shown_text(client.get(f"/staff/leads/{lead_id}"))

    assert "Health screening needs a clinician's review" in shown
    assert "A reason shown to clinical staff" in shown
    assert "HIV" not in shown and "Hepatitis" not in shown

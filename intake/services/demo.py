"""Sample leads for trying the service out (``intake serve --demo``); never real people."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app

from intake.services.inquiries import Attribution, complete_inquiry, save_step, start_inquiry

NAMES = [
    ("Alex", "Rivera"),
    ("Sam", "Okafor"),
    ("Jordan", "Lindqvist"),
    ("Casey", "Moreau"),
    ("Robin", "Takahashi"),
    ("Morgan", "Byrne"),
    ("Jamie", "Novak"),
    ("Taylor", "Haddad"),
]


def _answers(rng: random.Random, index: int, first: str, last: str) -> dict[str, dict]:
    born = f"{rng.randint(1950, 1995)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    return {
        "contact": {
            "filled_by": "self",
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}@example.org",
            "phone": f"+1202555{index:04d}",
            "preferred_contact_method": "email",
            "country": "US",
            "region": "Florida",
            "heard_about": "article",
        },
        "about_ms": {
            "diagnosed": "yes",
            "ms_type": rng.choice(["RRMS", "SPMS", "PPMS"]),
            "mobility": rng.choice(["unaided", "cane", "walker"]),
            "edss_known": "no",
            "on_dmt": "no",
            "relapse_12m": "no",
            "prior_stem_cell": "no",
        },
        "health": {
            "date_of_birth": born,
            "cancer_5y": "no",
            "pregnancy": "no",
            "active_infection": "no",
            "blood_thinners": rng.choice(["no", "yes"]),
            "organ_disease": "no",
            "able_to_travel": "yes",
        },
        "consent": {"privacy_notice": True, "consent_email": True, "not_medical_advice": True},
    }


def add_demo_leads(*, now: datetime, count: int = 8) -> int:
    """Create ``count`` sample leads through the same services the form uses."""
    definition = current_app.extensions["intake.definition"]
    # bandit B311: seeded on purpose so the sample leads repeat; nothing secret is drawn.
    questionnaire, rng = definition.questionnaire, random.Random(7)  # noqa: S311  # nosec B311
    for index, (first, last) in enumerate(NAMES[:count]):
        answers = _answers(rng, index, first, last)
        when = now - timedelta(hours=index * 5)
        inquiry = start_inquiry(
            questionnaire=questionnaire,
            answers=answers["contact"],
            attribution=Attribution(utm_source="demo"),
            submission_key=f"demo-{index}-{now:%s}",
            detected_time_zone="America/New_York",
            clinic_time_zone="America/New_York",
            dedupe_window=timedelta(days=0),
            now=when,
        )
        for step in questionnaire.steps[1:]:
            save_step(
                inquiry=inquiry,
                questionnaire=questionnaire,
                step=step,
                answers=answers[step.id],
                now=when,
            )
        if index % 3:  # leave some incomplete, as real traffic would
            complete_inquiry(inquiry=inquiry, definition=definition, now=when)
    return count

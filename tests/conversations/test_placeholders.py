"""Placeholders and text-message parts, without a database: what ``check`` refuses and why, what
``fill`` writes, and how many parts a text goes as."""

from __future__ import annotations

import pytest

from intake.conversations.placeholders import SAFE_FIELDS, TemplateError, check, fill
from intake.messaging.texts import measure
from tests.factories import INQUIRY_FORM

HEALTH = "is a health answer. Templates cannot include health information."


def ph(name: str, spaced: bool = True) -> str:
    """``{{ name }}`` (or ``{{name}}``)."""
    return "{{ " + name + " }}" if spaced else "{{" + name + "}}"


def test_every_safe_field_may_be_used_with_or_without_spaces():
    text = " ".join(ph(name) + ph(name, spaced=False) for name in SAFE_FIELDS)
    assert check(text) == []
    assert check("Hello, no placeholder at all.") == [] and check(None) == []


@pytest.mark.parametrize(
    "placeholder", ["ms_type", "eligibility_outcome", "clinical_decision", "MS_Type", "edss"]
)
def test_a_placeholder_naming_a_health_answer_is_refused_by_name(placeholder):
    assert check(f"Dear {{{{ first_name }}}}, about {{{{ {placeholder} }}}}.") == [
        f"{{{{ {placeholder} }}}} {HEALTH}"
    ]


def test_every_health_item_of_the_questionnaire_is_refused_even_through_a_dotted_name():
    health = [item.link_id for item in INQUIRY_FORM.items.values() if item.health]
    assert "date_of_birth" in health and "symptoms" in health
    for name in health:
        assert check(ph(name)) == [f"{{{{ {name} }}}} {HEALTH}"]
    assert check("{{ lead.mobility }} {{ answers }}") == [
        f"{{{{ lead.mobility }}}} {HEALTH}",
        f"{{{{ answers }}}} {HEALTH}",
    ]


@pytest.mark.parametrize("placeholder", ["last_name", "email", "phone", "caregiver_email"])
def test_another_detail_of_the_patient_is_refused_naming_what_may_be_used(placeholder):
    (error,) = check(ph(placeholder))
    assert error.startswith(f"{{{{ {placeholder} }}}} is a detail from the patient's inquiry.")
    assert "{{ first_name }}, {{ clinic_name }}" in error


def test_an_unknown_placeholder_is_refused_and_each_is_named_once():
    assert check("{{ favourite_colour }} and {{ favourite_colour }}") == [
        "{{ favourite_colour }} is not a placeholder we can fill. Use only {{ first_name }}, "
        "{{ clinic_name }}, {{ staff_first_name }}, {{ privacy_link }}, {{ inquiry_link }}, "
        "{{ booking_link }}."
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Hello {first_name}", "{first_name}"),
        ("Hello {{ first name }}", "{{ first name }}"),
        ("Hello {{ first_name }", "{{ first_name }"),
        ("Hello {{ first_name | upper }}", "{{ first_name | upper }}"),
        ("{% if ms_type %}yes{% endif %}", "{% if ms_type %}"),
        ("Hello }}", "}}"),
    ],
)
def test_braces_that_are_not_a_placeholder_are_refused_as_malformed(text, shown):
    error = check(text)[0]
    assert error.startswith(f"“{shown}” is not a placeholder we can read.")


def test_fill_puts_each_value_in_as_plain_text_and_never_reads_it_again():
    values = {"first_name": "{{ ms_type }} <b>", "clinic_name": "Clínica Sol"}
    text = "Hola, {{first_name}}: {{ clinic_name }} {{ first_name }}"
    assert fill(text, values) == "Hola, {{ ms_type }} <b>: Clínica Sol {{ ms_type }} <b>"


def test_fill_refuses_a_placeholder_without_a_value_or_outside_the_safe_fields():
    with pytest.raises(TemplateError) as refused:
        fill("Hello {{ staff_first_name }}", {"first_name": "Ada"})
    assert refused.value.field == "body"
    assert refused.value.messages == ["{{ staff_first_name }} has no value to fill in."]
    with pytest.raises(TemplateError):
        fill("{{ ms_type }}", {"ms_type": "RRMS"})


@pytest.mark.parametrize(
    ("body", "encoding", "length", "count"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # each of ^ { } \ [ ~ ] | € takes two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # the € is not split across two parts
        ("¿Señor Muñoz? ¡Hola!" * 8, "GSM-7", 160, 1),  # ¿ ñ ¡ are GSM-7
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("á" * 135, "UCS-2", 135, 3),
        ("a" * 68 + "🙂", "UCS-2", 70, 1),  # an emoji is two UTF-16 code units
        ("a" * 66 + "🙂" + "a" * 66, "UCS-2", 134, 3),  # and never split
    ],
)
def test_a_text_is_counted_in_parts_as_the_provider_counts_them(body, encoding, length, count):
    segments = measure(body)
    assert (segments.encoding, segments.length, segments.count) == (encoding, length, count)

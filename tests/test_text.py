"""Text at the edges: invisible characters never reach storage from any form, and the export's
formula test sees through leading spaces and full-width forms."""

from __future__ import annotations

import inspect

import pytest
from wtforms import Form, HiddenField, PasswordField, StringField
from wtforms.fields.core import UnboundField

from intake.public.date_parts import _clean as clean_date_part
from intake.public.forms import step_form_class
from intake.questionnaire.definition import load_definition
from intake.staff.admin import forms as admin_forms
from intake.staff.auth import forms as auth_forms
from intake.staff.leads import lead_forms, queue_forms
from intake.text import clean_line, clean_text, starts_like_formula

# Each of these reorders or hides text while showing nothing itself.
INVISIBLE = [
    "\u061c", "\u180e", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2060", "\u2061", "\u2062", "\u2063", "\u2064",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u206a", "\u206f",
    "\ufeff", "\ufff9", "\ufffb", "\U000e0001", "\U000e0041", "\U000e007f",
]  # fmt: skip
# A name that reads "Ada" but, stored as typed, would show reversed or hide a second name.
SPOOFED = " \u202eA\u200bd\u2066a\u2069\ufeff\u200f "


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_clean_text_removes_each_invisible_formatting_character(char):
    assert clean_text(f"An{char}na {char}Lee{char}") == "Anna Lee"


def test_clean_text_keeps_letters_of_every_script_line_breaks_and_emoji():
    for kept in ("José Ñúñez", "Zoë O'Brien-Smith", "محمد", "שרה", "李小龙", "Line 1\nLine 2\tend"):
        assert clean_text(kept) == kept
    assert clean_text("I feel 🙂\u00a0better") == "I feel 🙂\u00a0better"
    assert clean_text(" \x00Ada\x07 ") == "Ada"
    assert clean_text(None) is None and clean_text(["a"]) == ["a"]


def test_clean_text_composes_accents_typed_as_a_letter_and_a_combining_mark():
    """Some keyboards (a Mac's, among others) send "ñ" as "n" and a combining tilde."""
    decomposed = "Mari\u0301a Jose\u0301 Garci\u0301a Ma\u0301rquez de la Pen\u0303a"
    composed = clean_text(f" {decomposed}\u200b ")
    assert composed == "María José García Márquez de la Peña"
    assert len(composed) == len("María José García Márquez de la Peña") == 36
    assert clean_line("Pen\u0303a\tNu\u0301n\u0303ez") == "PeñaNúñez"
    # An invisible character between a letter and its accent no longer keeps them apart.
    assert clean_text("n\u200b\u0303") == "ñ"
    # Compatibility forms are left as typed (NFC, not NFKC): "ﬁ" and full-width letters stay.
    assert clean_text("ﬁn Ｈello") == "ﬁn Ｈello"


def _text_fields(form_class: type[Form]):
    """(name, unbound field) for every field that keeps typed text: not passwords (kept exactly
    as typed, and only hashed) and not hidden fields (tokens the app wrote itself)."""
    for name, value in vars(form_class).items():
        if not isinstance(value, UnboundField):
            continue
        kind = value.field_class
        if issubclass(kind, StringField) and not issubclass(kind, (PasswordField, HiddenField)):
            yield name, value


def test_clean_line_is_clean_text_on_one_line():
    assert clean_line(" Ada\tLovelace\r\n ") == "AdaLovelace"
    assert clean_line(SPOOFED) == "Ada"
    assert clean_line("Zoë\u00a0O'Brien") == "Zoë\u00a0O'Brien"
    assert clean_line(None) is None and clean_line(["a"]) == ["a"]


@pytest.mark.parametrize(
    ("typed", "kept"),
    [(" 27 ", "27"), ("2\u00a07", "27"), ("\u00a0 March.\u200b", "March."), ("1\t9\n75", "1975"),
     (SPOOFED, "Ada"), ("\u00ad12\x85", "12"), ("x" * 20, "x" * 12), (None, ""), (3, "")],
)  # fmt: skip
def test_a_date_box_keeps_only_printable_characters_on_one_line(typed, kept):
    assert clean_date_part(typed) == kept


def _form_classes():
    for module in (admin_forms, auth_forms, lead_forms, queue_forms):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Form) and cls.__module__ == module.__name__:
                yield cls
    questionnaire = load_definition("ms_inquiry").questionnaire
    for step in questionnaire.steps:
        form_class = step_form_class(questionnaire, step.id)
        yield from (form_class, *form_class.__mro__[1:2])  # the step and its base (the bot checks)


def test_every_text_field_of_every_public_and_staff_form_drops_invisible_characters():
    checked, unclean = [], []
    for cls in _form_classes():
        for name, field in _text_fields(cls):
            value = SPOOFED
            for applied in field.kwargs.get("filters", ()):
                value = applied(value)
            checked.append(f"{cls.__name__}.{name}")
            if value != "Ada":
                unclean.append(f"{cls.__name__}.{name}: {value!r}")
    assert unclean == []
    assert {"ContactForm.leave_blank", "NoteForm.text", "InviteForm.name"} <= set(checked)
    assert any(name.endswith(".first_name") for name in checked)
    assert any(name.endswith(".dmt_name") for name in checked)


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\tcmd", "\rcmd",
     "＝HYPERLINK(\"http://evil\")", "＋1", "－1", "＠SUM(A1)", "﹦1", "⁼1", "₊1",
     " =1+1", "   @x", "\u00a0=1", "\u3000＝1", "\n=1", " \t x", " \rx", "\u200b=1", "\ufeff+1",
     "\u202e=1"],
)  # fmt: skip
def test_a_cell_starting_a_formula_after_spaces_or_in_compatibility_form_is_caught(cell):
    assert starts_like_formula(cell)


@pytest.mark.parametrize(
    "cell",
    ["", "Ada", "42", "José", "'=1", "a=b", " Ada", "\u3000李", "２０２６", "(202) 555-0143",
     "x-1", "Ｈello"],
)  # fmt: skip
def test_ordinary_cells_are_left_alone(cell):
    assert not starts_like_formula(cell)

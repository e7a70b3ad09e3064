"""The reading-level check (.ci/reading_level.py): what it gathers, how it cleans a text before
measuring it, and when it fails, on made-up texts (the live figures are the check's own output)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from intake.questionnaire.definition import DEFINITIONS

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "reading_level.py"


def _load():
    spec = importlib.util.spec_from_file_location("reading_level", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


reading = _load()
Text = reading.Text

EASY_EN = "We will call you soon. You can ask us any question. We are here to help you."
HARD_EN = (
    "Notwithstanding the aforementioned considerations, individuals experiencing neurological "
    "deterioration should immediately consult appropriately qualified professionals."
)
EASY_ES = "Le vamos a llamar pronto. Nos puede hacer una pregunta. Estamos aquí para usted."
HARD_ES = (
    "No obstante las consideraciones anteriormente mencionadas, las personas que experimenten "
    "un empeoramiento neurológico significativo deberán consultar inmediatamente a "
    "profesionales debidamente cualificados."
)
NOTICE = """---
# a comment the patient never reads
version: "2027.1"
title: Privacy notice
updated: 2027-01-15
---
This notice explains what **{clinic_name}** does with the answers
you give in [our form](https://clinic.example/form).

## Who we are

- Write to {privacy_contact} to see your details.
- Yes
"""


# --- cleaning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        ("Hello %(name)s, we will call you soon.", "en", "Hello name, we will call you soon."),
        ("Step %(number)d of %(total)d", "en", None),
        ("%s will call you on the phone soon", "en", "name will call you on the phone soon."),
        ("{clinic} will call you {response_time}", "en", None),
        (
            "{clinic} le llamará para hablar de sus preguntas {response_time}",
            "es",
            "nombre le llamará para hablar de sus preguntas nombre.",
        ),
        ("Dear {{ first_name }}, thank you for writing", "en", "Dear name, thank you for writing."),
        (
            "You have answered 100%% of the questions",
            "en",
            "You have answered 100% of the questions.",
        ),
    ],
)
def test_placeholders_read_as_one_plain_word_and_do_not_count_as_words(raw, language, expected):
    assert reading.clean(raw, language) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "Save and continue",
        "Yes",
        "Clinically isolated syndrome (CIS)",
        "%(first_name)s %(last_name)s",
        "{clinic_name}",
        "privacy@clinic.example",
        "https://clinic.example/privacy-notice",
        "Write to privacy@clinic.example today",
        "",
    ],
)
def test_labels_placeholders_emails_and_addresses_are_not_prose(raw):
    assert reading.clean(raw, "en") is None


def test_emails_and_addresses_inside_prose_read_as_a_plain_word():
    assert reading.clean(
        "Write to privacy@clinic.example or see https://a.example/b today.", "en"
    ) == ("Write to name or see name today.")


def test_tags_and_entities_go_and_each_paragraph_ends_as_a_sentence():
    raw = 'Hello %(name)s,\n\nPlease <a href="%(url)s">finish your form</a> &amp; send it\nto us'

    assert reading.clean(raw, "en") == "Hello name. Please finish your form & send it to us."


def test_markdown_blocks_are_plain_text_with_headings_marked():
    blocks = reading.markdown_blocks(
        "A *short* paragraph,\nwrapped, with `code` and [a link](https://x.example).\n\n"
        "## A heading\n\n- First item\n- Second **item**\n"
    )

    assert blocks == [
        ("A short paragraph, wrapped, with code and a link.", False),
        ("A heading", True),
        ("First item", False),
        ("Second item", False),
    ]


# --- gathering --------------------------------------------------------------------------------


def test_a_notice_is_measured_per_paragraph_without_its_front_matter(tmp_path):
    (tmp_path / "privacy.md").write_text(NOTICE, encoding="utf-8")
    (tmp_path / "terms.md").write_text(NOTICE.replace("Privacy notice", "Terms"), encoding="utf-8")

    texts, missing = reading.notice_texts("en", tmp_path)

    assert missing == []
    privacy = [text for text in texts if "privacy.md" in text.where]
    assert [(text.raw, text.label) for text in privacy] == [
        ("Privacy notice", True),
        (
            "This notice explains what {clinic_name} does with the answers you give in our form.",
            False,
        ),
        ("Who we are", True),
        ("Write to {privacy_contact} to see your details.", False),
        ("Yes", False),
    ]
    assert not any("version" in text.raw or "comment" in text.raw for text in texts)
    assert reading.clean(privacy[1].raw, "en") == (
        "This notice explains what name does with the answers you give in our form."
    )


def test_a_missing_notice_translation_is_named_and_the_others_are_still_measured(tmp_path):
    (tmp_path / "privacy.es.md").write_text(NOTICE, encoding="utf-8")

    texts, missing = reading.notice_texts("es", tmp_path)

    assert [Path(path).name for path in missing] == ["terms.es.md"]
    assert {Path(text.where.split()[0]).name for text in texts} == {"privacy.es.md"}


def test_the_catalogue_gives_msgids_in_english_and_translated_msgstrs_in_spanish(tmp_path):
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
    header_es = header + '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
    entries = (
        "\n#: templates/public/done.html\n"
        'msgid "Thank you, we have your inquiry."\nmsgstr "%s"\n'
        "\n#, fuzzy\n#: templates/base.html\n"
        'msgid "Back to the previous step"\nmsgstr "%s"\n'
        "\n#: templates/public/step.html\n"
        'msgid "You have %%(n)s answer left to give."\n'
        'msgid_plural "You have %%(n)s answers left to give."\n'
        'msgstr[0] "%s"\nmsgstr[1] "%s"\n'
    )
    (tmp_path / "messages.pot").write_text(header + entries % ("", "", "", ""), encoding="utf-8")
    po = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        header_es
        + entries
        % (
            "Gracias, hemos recibido su solicitud.",
            "Volver al paso anterior",
            "Le queda %(n)s respuesta por dar.",
            "",
        ),
        encoding="utf-8",
    )

    english, _ = reading.catalogue_texts("en", tmp_path)
    spanish, _ = reading.catalogue_texts("es", tmp_path)

    assert [text.raw for text in english] == [
        "Thank you, we have your inquiry.",
        "Back to the previous step",
        "You have %(n)s answer left to give.",
        "You have %(n)s answers left to give.",
    ]
    assert english[0].where.endswith("(templates/public/done.html)")
    # the fuzzy entry is never shown, the empty plural form is not written yet
    assert [text.raw for text in spanish] == [
        "Gracias, hemos recibido su solicitud.",
        "Le queda %(n)s respuesta por dar.",
    ]
    assert reading.catalogue_texts("fr", tmp_path) == (
        [],
        [str(tmp_path / "fr/LC_MESSAGES/messages.po")],
    )


def test_the_questionnaire_gives_each_question_with_its_help_and_the_patient_messages():
    texts, missing = reading.questionnaire_texts("en")

    assert missing == []
    found = {text.where: text for text in texts}
    phone = found["ms_inquiry.yaml items.phone (with help)"].raw
    assert phone.startswith("Phone number of the person with MS\n\nInclude the country code")
    assert found["ms_inquiry.yaml steps.contact.title"].label
    assert found["ms_inquiry.yaml items.filled_by.options.self"].raw.startswith("I have MS")
    assert "{response_time}" in found["ms_eligibility.yaml messages.review"].raw


def test_a_spanish_questionnaire_is_read_through_its_translation(tmp_path):
    for path in DEFINITIONS.glob("ms_*.yaml"):
        if path.name.count(".") == 1:
            shutil.copy(path, tmp_path)
    (tmp_path / "ms_inquiry.es.yaml").write_text(
        'version: "2026.11.1"\n'
        "items:\n  filled_by:\n    text: ¿Quién está rellenando este formulario?\n",
        encoding="utf-8",
    )

    assert [Path(p).name for p in reading.questionnaire_texts("es", directory=tmp_path)[1]] == [
        "ms_eligibility.es.yaml"
    ]
    (tmp_path / "ms_eligibility.es.yaml").write_text(
        'version: "2026.11.1"\nmessages: {}\n', encoding="utf-8"
    )
    texts, missing = reading.questionnaire_texts("es", directory=tmp_path)

    assert missing == []
    assert (
        Text("ms_inquiry.es.yaml items.filled_by", "¿Quién está rellenando este formulario?")
        in texts
    )


# --- verdict ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "easy", "hard"), [("en", EASY_EN, HARD_EN), ("es", EASY_ES, HARD_ES)]
)
def test_an_easy_text_passes_and_a_hard_one_fails_naming_where_it_is(language, easy, hard):
    passing = reading.assess(language, [Text("a.yaml easy", easy)])
    failing = reading.assess(language, [Text("a.yaml easy", easy), Text("b.md block 3", hard)])

    assert passing.failures == []
    assert [m.text.where for m in failing.hardest] == ["b.md block 3", "a.yaml easy"]
    assert failing.failures[0].startswith("b.md block 3: ")
    assert "rewrite it" in failing.failures[0]


def test_the_overall_figure_fails_when_every_text_passes_alone_but_all_read_hard_together():
    moderate = [
        Text(f"m{n}", text)
        for n, text in enumerate(
            [
                "A member of our clinical team will look at your answers, and a patient "
                "coordinator will contact you to talk about the next steps.",
                "Only the members of our patient team who work on your inquiry can see your "
                "contact details and your answers.",
                "From your answers, the treatment we offer may not be suitable for you at the "
                "moment, and a member of our team will explain why.",
            ]
        )
    ]

    report = reading.assess("en", moderate)

    scale = reading.SCALES["en"]
    assert all(scale.overall < m.score <= scale.per_text for m in report.measured)
    assert report.failures == [
        f"all en texts: Flesch-Kincaid grade {report.overall:.1f}, the bar is at most 8"
    ]


def test_spanish_scores_higher_for_easier_text_and_its_bar_is_a_floor():
    report = reading.assess("es", [Text("easy", EASY_ES), Text("hard", HARD_ES)])

    easy, hard = sorted(report.measured, key=lambda m: m.text.where)
    assert easy.score > reading.SCALES["es"].per_text > hard.score
    assert report.hardest[0] is hard
    assert any("at least 60" in failure for failure in report.failures)


def test_each_measurement_sets_its_own_language():
    """textstat keeps one language for all callers: whatever the last caller left, English
    syllables are counted the English way and Spanish ones the Spanish way."""
    import textstat

    english = "The neurologist is available every Wednesday afternoon for a conversation."
    spanish = "La neuróloga atiende cada miércoles por la tarde para hablar con usted."
    textstat.set_lang("en_US")
    expected_en = textstat.flesch_kincaid_grade(english)
    textstat.set_lang("es")
    expected_es = textstat.fernandez_huerta(spanish)

    assert reading.SCALES["en"].measure(english) == expected_en  # left in Spanish before
    assert reading.SCALES["es"].measure(spanish) == expected_es  # left in English before
    textstat.set_lang("en_US")
    assert reading.SCALES["es"].measure(spanish) == expected_es


def test_labels_and_texts_left_in_english_are_not_measured_in_spanish():
    report = reading.assess(
        "es",
        [Text("t", "Solicitud", label=True), Text("u", EASY_EN), Text("v", EASY_ES)],
        source_texts=[EASY_EN],
    )

    assert (report.skipped, report.untranslated) == (1, 1)
    assert [m.text.where for m in report.measured] == ["v"]


def _source(found):
    return lambda language: found[language]


def test_a_missing_spanish_file_fails_unless_missing_files_are_allowed():
    sources = [
        _source(
            {
                "en": ([Text("a.md block 1", EASY_EN)], []),
                "es": ([Text("a.es.md block 1", EASY_ES)], ["b.es.md"]),
            }
        )
    ]

    _, problems, notes = reading.check(sources=sources, languages={"en": "", "es": ""})
    _, allowed, noted = reading.check(True, sources=sources, languages={"en": "", "es": ""})

    assert (problems, notes) == (["es: b.es.md is missing"], [])
    assert (allowed, noted) == ([], ["es: b.es.md is missing"])


TEMPLATES = """first_reply:
  email:
    en:
      subject: Thank you for your inquiry
      body: |
        Hello {{ first_name }},

        We will call you soon. You can ask us any question.
    es:
      subject: Gracias por su solicitud
      body: Hola, {{ first_name }}. Le vamos a llamar pronto.
  text:
    en:
      body: Hello {{ first_name }}, this is {{ staff_first_name }}. When can we call you?
"""


def test_each_message_template_body_is_a_text_and_its_subject_a_label(tmp_path):
    path = tmp_path / "templates.yaml"
    path.write_text(TEMPLATES, encoding="utf-8")
    texts, missing = reading.message_template_texts("en", path)
    assert missing == []
    assert [(text.where.split()[-1], text.label) for text in texts] == [
        ("first_reply.email.en.subject", True),
        ("first_reply.email.en.body", False),
        ("first_reply.text.en.body", False),
    ]
    report = reading.assess("en", texts)
    assert [m.prose for m in report.measured][0] == (
        "Hello name. We will call you soon. You can ask us any question."
    )
    texts, missing = reading.message_template_texts("es", path)
    assert [text.raw for text in texts][-1] == "Hola, {{ first_name }}. Le vamos a llamar pronto."
    assert missing == [f"{path} first_reply.text.es"]


def test_the_built_in_message_templates_are_measured_in_every_language():
    for language in ("en", "es"):
        texts, missing = reading.message_template_texts(language)
        assert missing == [] and len([text for text in texts if not text.label]) == 10
    assert reading.message_template_texts in reading.SOURCES

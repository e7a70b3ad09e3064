"""The benchmark data set: N leads on PostgreSQL, generated set-based in a few minutes.

``ensure_leads(url, count)`` migrates the database and, unless it already holds exactly the
data set asked for (a marker in the comment on ``leads``), empties the tables and generates it
with ``INSERT … SELECT … FROM generate_series``, each row derived from its number by cheap
arithmetic hashes (no random(): the same N always gives the same rows).

What is generated, and the schema it assumes (the models of intake at migration head):

- 6 teams, 8 coordinators each (``staff_users`` 1–48), plus ``bench-coordinator@bench.example``
  (member of team 1) and ``bench-admin@bench.example`` that the scenarios sign in as.
- ``leads``: ids ascending with ``created_at``, spread evenly over the last 730 days; names from
  60 first names × up to 24,389 generated surnames, a unique email and E.164 phone each (what the
  trigram indexes and the search see); statuses weighted towards the closed ones for old leads
  and ``new`` for the last 30 days; team and owner (a third of new leads unassigned, with no
  SLA yet); 8 % incomplete; an SLA due two hours after assignment, first contact for leads
  past ``attempting_contact``, a breach for some; eligibility outcome, MS type and source for
  complete leads.
- ``inquiries``: one per lead (draft for incomplete leads), answers sealed as the app seals them.
- ``eligibility_results``: one per complete inquiry; ``consents``: contact_email and
  follow_up_emails granted per complete inquiry.
- ``sends``: the confirmation (sent) and nurture step 1 (sent, or cancelled once contacted) per
  complete lead; leads of the last 14 days still have later nurture steps scheduled in the
  future, so the due-sweep index holds realistic not-yet-due rows. No row is due: P5 adds its
  own 1,000 due rows and removes them.
- ``outbox_events``: inquiry.started and inquiry.completed, published, per lead.
- ``lead_contacts``: the name, email and phone each lead's inquiry gave (what search reads
  beside the lead's columns), as the app records them.

Sealed fields hold ciphertext the app's own keyring made (under the fixed benchmark key), from
a handful of payloads sealed once and reused; the associated data binds each to one inquiry,
so only those few rows open — enough for list, search, export and sweep, which never open them.
"""

# ruff: noqa: S608 - SQL built from constants and numbers here, no outside input

from __future__ import annotations

import time

import psycopg

from bench.harness import BENCH_DATABASE_URL, bench_app, psycopg_url

VERSION = 4
TEAMS = 6
STAFF_PER_TEAM = 8
COORDINATOR_EMAIL = "bench-coordinator@bench.example"
ADMIN_EMAIL = "bench-admin@bench.example"
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farah",
    "Gabriel",
    "Hana",
    "Isaac",
    "Julia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samuel",
    "Tara",
    "Umar",
    "Vera",
    "William",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Esther",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Rania",
    "Sven",
    "Thea",
    "Ulrich",
    "Valentina",
    "Wen",
    "Yara",
    "Zane",
    "Alice",
    "Boris",
    "Clara",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Henry",
    "Irene",
    "James",
]
SYLLABLES = [
    "ok",
    "ar",
    "be",
    "cha",
    "do",
    "el",
    "fin",
    "ga",
    "ha",
    "ir",
    "jo",
    "ka",
    "lo",
    "mu",
    "na",
    "or",
    "pe",
    "qu",
    "ri",
    "so",
    "ta",
    "ul",
    "va",
    "we",
    "xi",
    "ya",
    "zu",
    "ber",
    "ton",
]
# Plain indexes (not constraints) of the big tables are dropped before the load and built
# after it: building a trigram GIN index once is far faster than maintaining it row by row.
BIG_TABLES = (
    "leads",
    "inquiries",
    "eligibility_results",
    "consents",
    "sends",
    "outbox_events",
    "lead_contacts",
)


def _marker(count: int) -> str:
    return f"intake-bench v{VERSION} leads={count}"


def _sealed_samples() -> tuple[list[str], list[str]]:
    """A few answer documents and triggered-rule lists, sealed by the app's own keyring."""
    app = bench_app(BENCH_DATABASE_URL)
    keyring = app.extensions["intake.keyring"]
    answers = [
        keyring.seal_json(
            {
                "ms_type": ms,
                "diagnosis_year": 2000 + n,
                "edss": str(2 + n % 5),
                "current_dmt": ["ocrelizumab", "natalizumab", "none"][n % 3],
                "pregnant": "no",
                "active_cancer": "no",
                "notes": "Walking is harder in the afternoon; fatigue most days." * (1 + n % 3),
            },
            context=f"inquiry-answers:bench{n:027d}",
        )
        for n, ms in enumerate(("RRMS", "SPMS", "PPMS", "CIS", "not_sure", "RRMS", "SPMS", "PPMS"))
    ]
    triggered = [
        keyring.seal_json(rules, context=f"eligibility-triggered:{n}:1")
        for n, rules in enumerate(
            (
                [],
                [{"id": "edss_high", "outcome": "needs_review", "reason": "EDSS above 6.5"}],
                [{"id": "active_cancer", "outcome": "not_eligible", "reason": "Active cancer"}],
            )
        )
    ]
    return answers, triggered


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _statements(count: int, answers: list[str], triggered: list[str]) -> list[tuple[str, str]]:
    first = _sql_array(FIRST_NAMES)
    syl = _sql_array(SYLLABLES)
    nfirst, nsyl = len(FIRST_NAMES), len(SYLLABLES)
    ans = _sql_array(answers)
    trig = _sql_array(triggered)
    # h1..h4: independent cheap hashes of the row number, each in 0..999.
    hashes = (
        "(i::bigint * 2654435761 % 1000)::int AS h1, "
        "(i::bigint * 40503 % 997)::int AS h2, "
        "(i::bigint * 69069 % 1009 % 1000)::int AS h3, "
        "(i::bigint * 1103515245 % 1013 % 1000)::int AS h4"
    )
    leads = f"""
    INSERT INTO leads (id, created_at, updated_at, last_inquiry_at, status, incomplete, owner_id,
        filled_by, first_name, last_name, email, phone, preferred_contact_method,
        preferred_contact_time, country, region, postal_code, time_zone, time_zone_source,
        source, utm_campaign, ms_type, eligibility_outcome, team_id, assigned_at,
        first_contacted_at, sla_due_at, sla_breached_at)
    SELECT i, created, created + interval '3 days' * (h4 / 1000.0), created, status, incomplete,
        CASE WHEN status = 'new' AND h3 < 300 THEN NULL
             ELSE (team - 1) * {STAFF_PER_TEAM} + 1 + h2 % {STAFF_PER_TEAM} END,
        CASE WHEN h4 < 150 THEN 'someone_else' ELSE 'self' END,
        fname, lname,
        lower(fname) || '.' || lower(lname) || i || '@' ||
            (ARRAY['gmail.com','outlook.com','yahoo.com','icloud.com','proton.me'])[1 + h2 % 5],
        '+1' || (2000000000 + (i::bigint * 48271 % 7999999999))::text,
        (ARRAY['email','phone','either'])[1 + h1 % 3],
        (ARRAY['morning','afternoon','evening'])[1 + h3 % 3],
        'US', 'NY', lpad((10000 + h2 * 89 % 89999)::text, 5, '0'), 'America/New_York', 'phone',
        CASE WHEN incomplete THEN NULL ELSE
            (ARRAY['search','article','social','doctor','patient_group','friend','other'])
            [1 + h4 % 7] END,
        CASE WHEN h3 < 400 THEN 'spring-' || (h3 % 12) END,
        CASE WHEN incomplete THEN NULL ELSE
            (ARRAY['RRMS','SPMS','PPMS','CIS','not_sure'])[1 + h2 % 5] END,
        CASE WHEN incomplete THEN NULL WHEN h3 < 600 THEN 'no_exclusion_found'
             WHEN h3 < 900 THEN 'needs_review' ELSE 'not_eligible' END,
        team, CASE WHEN NOT (status = 'new' AND h3 < 300) THEN created + interval '5 minutes' END,
        CASE WHEN status NOT IN ('new', 'attempting_contact')
             THEN created + interval '1 hour' * (0.5 + h1 % 5) END,
        CASE WHEN NOT (status = 'new' AND h3 < 300) THEN created + interval '2 hours' END,
        CASE WHEN status NOT IN ('new') AND h1 % 5 >= 2 THEN created + interval '2 hours' END
    FROM (
        SELECT i, h1, h2, h3, h4, created, 1 + h2 % {TEAMS} AS team,
            h4 < 80 AS incomplete,
            ({first})[1 + (i * 7) % {nfirst}] AS fname,
            initcap(({syl})[1 + (i / 3) % {nsyl}] || ({syl})[1 + (i / 97) % {nsyl}]
                || ({syl})[1 + (i / 2801) % {nsyl}]) AS lname,
            CASE
                WHEN i > {count} * 0.96 AND h1 < 500 THEN 'new'
                WHEN h1 < 60 THEN 'new'
                WHEN h1 < 140 THEN 'attempting_contact'
                WHEN h1 < 240 THEN 'contacted'
                WHEN h1 < 300 THEN 'screening'
                WHEN h1 < 340 THEN 'consult_scheduled'
                WHEN h1 < 370 THEN 'consult_done'
                WHEN h1 < 390 THEN 'treatment_planned'
                WHEN h1 < 410 THEN 'treated'
                WHEN h1 < 600 THEN 'not_eligible'
                WHEN h1 < 800 THEN 'not_interested'
                WHEN h1 < 930 THEN 'unreachable'
                WHEN h1 < 990 THEN 'do_not_contact'
                ELSE 'merged' END AS status
        FROM (
            SELECT i, {hashes},
                now() - interval '730 days' * (1 - i::float8 / {count}) AS created
            FROM generate_series(1, {count}) AS i
        ) AS numbered
    ) AS shaped
    """
    inquiries = f"""
    INSERT INTO inquiries (id, public_id, lead_id, submission_key, status, questionnaire_id,
        questionnaire_version, steps_saved, started_at, updated_at, completed_at, answers_sealed,
        utm_source, utm_medium, utm_campaign, referrer, landing_page)
    SELECT id, md5('inquiry' || id), id, md5('submission' || id) || md5('key' || id),
        CASE WHEN incomplete THEN 'draft' ELSE 'completed' END, 'ms_inquiry', '1',
        CASE WHEN incomplete THEN 1 + id % 3 ELSE 4 END,
        created_at, created_at + interval '10 minutes',
        CASE WHEN incomplete THEN NULL ELSE created_at + interval '10 minutes' END,
        ({ans})[1 + id % {len(answers)}],
        CASE WHEN utm_campaign IS NOT NULL THEN 'newsletter' END,
        CASE WHEN utm_campaign IS NOT NULL THEN 'email' END, utm_campaign,
        'https://www.example.org/ms-support', '/inquiry'
    FROM leads
    """
    eligibility = f"""
    INSERT INTO eligibility_results (id, inquiry_id, lead_id, outcome, ruleset_id, ruleset_version,
        patient_message, triggered_sealed, evaluated_at)
    SELECT id, id, id, eligibility_outcome, 'ms_eligibility', '1',
        CASE eligibility_outcome WHEN 'not_eligible' THEN 'not_eligible' ELSE 'next_steps' END,
        ({trig})[CASE eligibility_outcome WHEN 'no_exclusion_found' THEN 1
                  WHEN 'needs_review' THEN 2 ELSE 3 END],
        created_at + interval '10 minutes'
    FROM leads WHERE NOT incomplete
    """
    consents = """
    INSERT INTO consents (lead_id, inquiry_id, purpose, granted, text_version, text_hash, source,
        recorded_at)
    SELECT id, id, purpose, true, '1', md5(purpose), 'inquiry', created_at + interval '10 minutes'
    FROM leads, (VALUES ('contact_email'), ('follow_up_emails')) AS p(purpose)
    WHERE NOT incomplete
    """
    sends = """
    INSERT INTO sends (key, lead_id, inquiry_id, cadence, step, template, status, due_at,
        created_at, enqueued_at, claimed_at, sent_at, finished_reason, attempts, message_id)
    SELECT key, id, inquiry_id, cadence, step, cadence, state, due,
        created_at + interval '10 minutes',
        CASE WHEN state <> 'scheduled' THEN due END,
        CASE WHEN state = 'sent' THEN due END,
        CASE WHEN state = 'sent' THEN due + interval '2 seconds' END,
        CASE WHEN state = 'cancelled' THEN 'contacted' END,
        CASE WHEN state = 'sent' THEN 1 ELSE 0 END,
        CASE WHEN state = 'sent' THEN '<' || key || '@intake.local>' END
    FROM (
        SELECT l.id, l.id AS inquiry_id, l.created_at, s.cadence, s.step,
            CASE WHEN s.cadence = 'confirmation'
                 THEN l.id || ':confirmation:' || l.id || ':' || s.step
                 ELSE l.id || ':nurture:' || s.step END AS key,
            l.created_at + interval '10 minutes' + s.delay AS due,
            CASE WHEN l.created_at + interval '10 minutes' + s.delay > now() THEN 'scheduled'
                 WHEN s.cadence = 'nurture' AND l.first_contacted_at IS NOT NULL
                      AND l.first_contacted_at < l.created_at + s.delay THEN 'cancelled'
                 ELSE 'sent' END AS state
        FROM leads AS l
        CROSS JOIN LATERAL (VALUES ('confirmation', 0, interval '0'),
                                   ('nurture', 1, interval '1 day'),
                                   ('nurture', 2, interval '3 days'),
                                   ('nurture', 3, interval '7 days'),
                                   ('nurture', 4, interval '14 days')) AS s(cadence, step, delay)
        WHERE NOT l.incomplete
          AND (s.step <= 1 OR l.created_at > now() - interval '14 days')
    ) AS planned
    """
    outbox = """
    INSERT INTO outbox_events (topic, payload, created_at, published_at, attempts)
    SELECT topic, json_build_object('lead_id', id, 'inquiry_id', id), at,
        at + interval '1 second', 1
    FROM (
        SELECT id, 'inquiry.started' AS topic, created_at AS at FROM leads
        UNION ALL
        SELECT id, 'inquiry.completed', created_at + interval '10 minutes' FROM leads
        WHERE NOT incomplete
    ) AS events
    """
    contacts = """
    INSERT INTO lead_contacts (lead_id, kind, value, source, inquiry_id, recorded_at)
    SELECT id, kind, value, 'inquiry', id, created_at
    FROM leads, LATERAL (VALUES ('name', first_name || ' ' || last_name), ('email', email),
        ('phone', phone)) AS detail (kind, value)
    WHERE value IS NOT NULL
    """
    return [
        ("leads", leads),
        ("inquiries", inquiries),
        ("lead_contacts", contacts),
        ("eligibility_results", eligibility),
        ("consents", consents),
        ("sends", sends),
        ("outbox_events", outbox),
    ]


def _staff_statements() -> list[str]:
    teams = ", ".join(f"({t}, 'Team {t}', 'round_robin', now())" for t in range(1, TEAMS + 1))
    staff = STAFF_PER_TEAM * TEAMS
    return [
        f"INSERT INTO teams (id, name, strategy, created_at) VALUES {teams}",
        f"""INSERT INTO staff_users (id, email, name, role, password_hash, must_change_password,
            active, created_at, time_zone, working_hours, capacity, totp_confirmed_at,
            failed_sign_ins)
        SELECT n, 'coordinator' || n || '@bench.example', 'Coordinator ' || n, 'coordinator',
            '!', false, true, now(), 'America/New_York',
            '{{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}}', 50, now(), 0
        FROM generate_series(1, {staff}) AS n""",
        f"""INSERT INTO staff_users (id, email, name, role, password_hash, must_change_password,
            active, created_at, time_zone, working_hours, capacity, totp_confirmed_at,
            failed_sign_ins)
        VALUES ({staff + 1}, '{COORDINATOR_EMAIL}', 'Bench Coordinator', 'coordinator', '!',
                false, true, now(), 'America/New_York',
                '{{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}}', 50, now(), 0),
               ({staff + 2}, '{ADMIN_EMAIL}', 'Bench Admin', 'admin', '!',
                false, true, now(), 'America/New_York',
                '{{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}}', 50, now(), 0)""",
        f"""INSERT INTO team_members (team_id, staff_user_id)
        SELECT 1 + (n - 1) / {STAFF_PER_TEAM}, n FROM generate_series(1, {staff}) AS n
        UNION ALL SELECT 1, {staff + 1}""",
    ]


def lead_count(database_url: str = BENCH_DATABASE_URL) -> int | None:
    """The N of the generated data set in place, or None if there is none."""
    with psycopg.connect(psycopg_url(database_url)) as connection:
        comment = connection.execute("SELECT obj_description('leads'::regclass)").fetchone()[0]
    if comment and comment.startswith(f"intake-bench v{VERSION} leads="):
        return int(comment.rsplit("=", 1)[1])
    return None


def migrate(database_url: str) -> None:
    from flask_migrate import upgrade

    app = bench_app(database_url)
    with app.app_context():
        upgrade()
        from intake.extensions import db

        db.engine.dispose()


def ensure_leads(database_url: str = BENCH_DATABASE_URL, count: int = 1_000_000) -> None:
    """Migrate, then generate ``count`` leads unless exactly that data set is already there.
    Two runs at once take turns (an advisory lock held throughout): the second finds the first's
    data set in place, instead of emptying its tables half-way through."""
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as turn:
        turn.execute("SELECT pg_advisory_lock(hashtext('intake-bench data set'))")
        migrate(database_url)
        if lead_count(database_url) == count:
            print(f"# data: {count:,} generated leads already in place", flush=True)
            return
        _generate(database_url, count)


def _generate(database_url: str, count: int) -> None:
    answers, triggered = _sealed_samples()
    started = time.perf_counter()
    print(f"# data: generating {count:,} leads …", flush=True)
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        connection.execute("SET synchronous_commit = off")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        connection.execute("COMMENT ON TABLE leads IS NULL")  # set again once complete
        connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        indexes = list(
            connection.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes AS i
                WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)""",
                (list(BIG_TABLES),),
            )
        )
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        for statement in _staff_statements():
            connection.execute(statement)
        for table, statement in _statements(count, answers, triggered):
            step = time.perf_counter()
            connection.execute(statement)
            print(f"#   {table}: {time.perf_counter() - step:.1f}s", flush=True)
        step = time.perf_counter()
        for _, definition in indexes:
            connection.execute(definition)
        print(f"#   {len(indexes)} indexes: {time.perf_counter() - step:.1f}s", flush=True)
        for table in (
            "leads",
            "inquiries",
            "eligibility_results",
            "consents",
            "sends",
            "lead_contacts",
        ):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        for table in ("teams", "staff_users"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) + 1 FROM {table}), false)"
            )
        # The audit chain's head row, as the migration leaves it.
        connection.execute(
            "INSERT INTO audit_head (id, seq, prev_hash, hash) "
            "VALUES (1, 0, repeat('0', 64), repeat('0', 64))"
        )
        step = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        print(f"#   vacuum analyze: {time.perf_counter() - step:.1f}s", flush=True)
        connection.execute(f"COMMENT ON TABLE leads IS '{_marker(count)}'")
    print(f"# data: {count:,} leads generated in {time.perf_counter() - started:.0f}s", flush=True)

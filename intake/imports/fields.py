"""The fields a CSV column can fill, and a first guess at which column fills which, from the
header names a spreadsheet or another CRM's export uses (English and Spanish)."""

from __future__ import annotations

import re
import unicodedata

from intake.display import lazy_gettext as _l

# field → what staff read on the mapping page.
FIELDS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "country": _l("Country"),
    "region": _l("Region or state"),
    "language": _l("Language"),
    "time_zone": _l("Time zone"),
    "source": _l("Source"),
    "utm_source": _l("utm_source"),
    "utm_medium": _l("utm_medium"),
    "utm_campaign": _l("utm_campaign"),
    "utm_content": _l("utm_content"),
    "created_at": _l("Created date"),
    "external_id": _l("External id"),
    "notes": _l("Notes"),
}

# field → header names that mean it, compared as ``header_key`` reads them.
_NAMES = {
    "first_name": "first name, firstname, first, given name, forename, nombre, nombres, "
    "primer nombre",
    "last_name": "last name, lastname, surname, family name, last, apellido, apellidos",
    "email": "email, e mail, email address, e mail address, mail, correo, correo electronico, "
    "email personal",
    "phone": "phone, phone number, telephone, tel, mobile, mobile phone, cell, cell phone, "
    "telefono, numero de telefono, movil, celular, whatsapp",
    "country": "country, pais, country code, nation",
    "region": "region, state, province, state province, county, estado, provincia, departamento",
    "language": "language, lang, preferred language, idioma, lengua",
    "time_zone": "time zone, timezone, tz, zona horaria, huso horario",
    "source": "source, lead source, origin, origen, fuente, how did you hear about us",
    "utm_source": "utm source",
    "utm_medium": "utm medium",
    "utm_campaign": "utm campaign, campaign, campana",
    "utm_content": "utm content",
    "created_at": "created, created at, created date, date created, creation date, date, "
    "fecha, fecha de creacion, fecha creacion, submitted, submitted at",
    "external_id": "id, external id, record id, lead id, contact id, crm id, identificador",
    "notes": "notes, note, comments, comment, notas, nota, comentarios, observaciones",
}
_KNOWN = {name: field for field, names in _NAMES.items() for name in names.split(", ")}


def header_key(header: str) -> str:
    """A header as compared: accents and case dropped, punctuation read as spaces."""
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", header or "") if not unicodedata.combining(ch)
    )
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.casefold()).split())


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """field → column index for each header that names a field; the first column wins."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = header_key(header)
        field = _KNOWN.get(key) or _KNOWN.get(key.removesuffix(" 1"))
        if field is None and key.startswith(("full name", "name", "nombre completo")):
            continue  # one column with the whole name cannot be split safely: the admin decides
        if field is not None and field not in mapping:
            mapping[field] = index
    return mapping


def column_name(headers: list[str], index: int) -> str:
    """How a column is named in messages: its header, or its position when it has none."""
    header = headers[index].strip() if index < len(headers) else ""
    return header or f"column {index + 1}"

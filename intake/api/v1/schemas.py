"""The API's JSON shapes (marshmallow), documented in the OpenAPI document. snake_case
throughout; times are ISO 8601 in UTC; ids are integers."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from intake.i18n import LANGUAGES
from intake.leads.filters import SORTS
from intake.models import STATUSES
from intake.routing.sla import SLA_STATES

ID = {"strict": True, "validate": validate.Range(min=1, max=2**31 - 1)}
OWNER = validate.Regexp(r"^(none|[1-9][0-9]{0,8})$", error="A staff id, or 'none'.")


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class PageArgs(StrictSchema):
    cursor = ma.fields.String(
        validate=validate.Length(max=500),
        metadata={"description": "The next_cursor of the previous page (opaque)."},
    )
    limit = ma.fields.Integer(
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "Rows per page (at most INTAKE_API_MAX_PAGE_SIZE)."},
    )


class LeadListArgs(PageArgs):
    """The staff queue's filters, and its search."""

    sort = ma.fields.String(validate=validate.OneOf(SORTS), load_default="newest")
    status = ma.fields.List(ma.fields.String(validate=validate.OneOf(STATUSES)))
    owner = ma.fields.String(validate=OWNER, metadata={"description": "A staff id, or none."})
    team = ma.fields.String(validate=OWNER, metadata={"description": "A team id, or none."})
    outcome = ma.fields.String(validate=validate.Length(max=32))
    ms_type = ma.fields.String(validate=validate.Length(max=16))
    source = ma.fields.String(validate=validate.Length(max=64))
    created_from = ma.fields.Date()
    created_to = ma.fields.Date()
    sla = ma.fields.String(validate=validate.OneOf(SLA_STATES))
    incomplete = ma.fields.Boolean()
    language = ma.fields.String(validate=validate.OneOf(tuple(LANGUAGES)))
    replied = ma.fields.Boolean()
    q = ma.fields.String(
        validate=validate.Length(min=2, max=200),
        metadata={"description": "Part of a name, an email or a phone number."},
    )


class LeadSchema(ma.Schema):
    """A lead. Contact details are included: they are how the clinic's other systems reach the
    person and are not health data (PRODUCT); health answers are never in a list."""

    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    incomplete = ma.fields.Boolean(required=True)
    owner_id = ma.fields.Integer(allow_none=True, required=True)
    team_id = ma.fields.Integer(allow_none=True, required=True)
    eligibility_outcome = ma.fields.String(allow_none=True, required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    last_inquiry_at = ma.fields.AwareDateTime(required=True)
    source = ma.fields.String(allow_none=True, required=True)
    utm_campaign = ma.fields.String(allow_none=True, required=True)
    language = ma.fields.String(required=True)
    country = ma.fields.String(allow_none=True, required=True)
    region = ma.fields.String(allow_none=True, required=True)
    first_name = ma.fields.String(allow_none=True, required=True)
    last_name = ma.fields.String(allow_none=True, required=True)
    email = ma.fields.String(allow_none=True, required=True)
    phone = ma.fields.String(allow_none=True, required=True)
    preferred_contact_method = ma.fields.String(allow_none=True, required=True)


class LeadPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LeadSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class InquiryOutSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "The inquiry's public id."})
    status = ma.fields.String(required=True)
    started_at = ma.fields.AwareDateTime(required=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    utm_source = ma.fields.String(allow_none=True, required=True)
    utm_medium = ma.fields.String(allow_none=True, required=True)
    utm_campaign = ma.fields.String(allow_none=True, required=True)
    answers = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Only for keys with leads:read_answers."},
    )


class LeadDetailSchema(LeadSchema):
    inquiries = ma.fields.List(ma.fields.Nested(InquiryOutSchema), required=True)


class LeadPatchSchema(StrictSchema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    reason = ma.fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "Required when closing the lead."},
    )
    owner_id = ma.fields.Integer(**ID)

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if "status" not in data and "owner_id" not in data:
            raise ma.ValidationError("Give a status, an owner_id or both.", "status")


class NoteInSchema(StrictSchema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=10000))


class NoteOutSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    lead_id = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class InquiryInSchema(StrictSchema):
    """An inquiry from another system: the public form's questions by their ids (step 1 in
    contact, the consent step in consents, the rest in answers)."""

    contact = ma.fields.Dict(keys=ma.fields.String(), required=True)
    answers = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    consents = ma.fields.Dict(keys=ma.fields.String(), required=True)
    language = ma.fields.String(validate=validate.OneOf(tuple(LANGUAGES)), load_default="en")
    utm_source = ma.fields.String(validate=validate.Length(max=200))
    utm_medium = ma.fields.String(validate=validate.Length(max=200))
    utm_campaign = ma.fields.String(validate=validate.Length(max=200))
    utm_term = ma.fields.String(validate=validate.Length(max=200))
    utm_content = ma.fields.String(validate=validate.Length(max=200))
    referrer = ma.fields.String(validate=validate.Length(max=500))
    landing_page = ma.fields.String(validate=validate.Length(max=500))


class InquiryCreatedSchema(ma.Schema):
    """Ids only: this answer is what a repeated Idempotency-Key gets back."""

    lead_id = ma.fields.Integer(required=True)
    inquiry_id = ma.fields.String(required=True)
    eligibility_outcome = ma.fields.String(allow_none=True, required=True)


class RangeArgs(PageArgs):
    lead_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    starts_from = ma.fields.AwareDateTime(metadata={"description": "From this time (UTC)."})
    starts_to = ma.fields.AwareDateTime(metadata={"description": "Before this time (UTC)."})


class ConsultSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    lead_id = ma.fields.Integer(required=True)
    staff_user_id = ma.fields.Integer(required=True)
    consult_type_id = ma.fields.Integer(required=True)
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    status = ma.fields.String(required=True)
    booked_by = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class TaskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    lead_id = ma.fields.Integer(required=True)
    assignee_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    due_at = ma.fields.AwareDateTime(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    done_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class ConsultPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsultSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class TaskPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)

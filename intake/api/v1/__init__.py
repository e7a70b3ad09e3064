"""The REST API, version 1, under /api/v1: for the clinic's other systems, with scoped keys.

Built on flask-smorest: the marshmallow schemas that read and write each call also generate the
OpenAPI 3.1 document (/api/v1/openapi.json), so the document cannot drift from the code; the
reference page (/api/v1/docs) is rendered from that document on the server.

Bearer keys, no cookies: the blueprints are exempt from CSRF. Errors are problem details
(``problems``), keys and scopes are checked by ``auth``, POSTs honour ``Idempotency-Key``."""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from intake.api.v1.problems import PREFIX, PROBLEM_TYPE, ProblemSchema, from_exception


class IntakeApi(Api):
    """flask-smorest's Api, answering errors as problem details only under /api/v1 (the rest
    of the site keeps its HTML error pages) and serving the document from our own blueprint."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        renderers = self._app.extensions.setdefault("intake.error_renderers", [])
        renderers.append((f"{PREFIX}/", from_exception))

    def _register_doc_blueprint(self):
        """The document and reference are served by ``intake.api.v1.docs``."""

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


SETTINGS = {
    "API_TITLE": "intake API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Leads, inquiries, consults and tasks for the clinic's other systems. "
            "Send an API key as 'Authorization: Bearer <key>'; each operation names the scope "
            "it needs. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."}
            }
        },
    },
}


def register(app: Flask) -> None:
    """Add the API's blueprints, its document and reference, CSRF exemption and auditing."""
    from intake.api.v1 import activity, docs, inquiries, leads, webhooks
    from intake.api.v1.auth import audit_call
    from intake.extensions import csrf

    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    api = IntakeApi(app)  # one per app: its document is built from this app's routes
    app.extensions["intake.api"] = api
    for blueprint in (leads.blp, inquiries.blp, activity.blp, webhooks.blp):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    app.register_blueprint(docs.bp)
    app.after_request(audit_call)

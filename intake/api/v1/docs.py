"""The API's OpenAPI document at a stable address, and a reference page rendered from it on the
server by our own template (no script, no third-party style: the site's CSP holds)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template

from intake.api.v1.problems import PREFIX

bp = Blueprint("api-v1", __name__, url_prefix=PREFIX)
METHODS = ("get", "post", "put", "patch", "delete")


def document() -> dict:
    return current_app.extensions["intake.api"].spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document, generated from the code."""
    g.api_unaudited = True  # describes the API; names no lead and needs no key
    return current_app.response_class(
        current_app.json.dumps(document()), mimetype="application/json"
    )


def _type(schema: dict, schemas: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "items" in schema:
        kind = f"{kind} of {_type(schema['items'], schemas)}"
    if "enum" in schema:
        kind = f"{kind}: one of {', '.join(str(v) for v in schema['enum'] if v is not None)}"
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    return kind


def _content_schema(part: dict) -> str | None:
    for body in (part.get("content") or {}).values():
        if "schema" in body:
            return body["schema"].get("$ref", "").rsplit("/", 1)[-1] or None
    return None


def _anchor(method: str, path: str) -> str:
    return f"{method}{path}".replace("/", "-").replace("{", "").replace("}", "")


def _operations(spec: dict) -> list[dict]:
    schemas = spec.get("components", {}).get("schemas", {})
    responses = spec.get("components", {}).get("responses", {})
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            scopes = [s for need in op.get("security", []) for s in need.get("bearer", [])]
            shown = []
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = responses.get(response["$ref"].rsplit("/", 1)[-1], {})
                shown.append((status, response.get("description", ""), _content_schema(response)))
            operations.append(
                {
                    "anchor": f"{method}-{path}".replace("/", "-")
                    .replace("{", "")
                    .replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "scopes": scopes,
                    "parameters": [
                        (
                            p["name"],
                            p["in"],
                            p.get("required", False),
                            _type(p["schema"], schemas),
                            p.get("description", ""),
                        )
                        for p in [*item.get("parameters", []), *op.get("parameters", [])]
                    ],
                    "request": _content_schema(op.get("requestBody", {})),
                    "responses": shown,
                }
            )
    return operations


def _schemas(spec: dict) -> list[dict]:
    schemas = spec.get("components", {}).get("schemas", {})
    return [
        {
            "name": name,
            "description": schema.get("description", ""),
            "fields": [
                (
                    field,
                    _type(value, schemas),
                    field in schema.get("required", []),
                    value.get("description", ""),
                )
                for field, value in schema.get("properties", {}).items()
            ],
        }
        for name, schema in sorted(schemas.items())
    ]


@bp.get("/docs")
def reference():
    """The API reference, for people: every operation, its scope, parameters and shapes."""
    g.api_unaudited = True
    spec = document()
    return render_template(
        "api/reference.html",
        spec=spec,
        operations=_operations(spec),
        schemas=_schemas(spec),
    )

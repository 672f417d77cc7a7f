"""The OpenAPI 3.1 description of the JSON API v1, served at /api/v1/openapi.json.

Built from the constants the code checks against; tests/test_openapi.py fails when a route is
missing here or described without existing, and runs schemathesis against the app. The paths
are here; the schemas of the components and the shared error replies in survey/openapi_schemas.py.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from survey import config
from survey.exports import FORMATS, MIMETYPES, WHATS
from survey.filters import GROUPS
from survey.models import CHANNELS
from survey.openapi_schemas import (
    Schema,
    components,
    error_replies,
    json_reply,
    nullable,
    obj,
    ref,
)
from survey.submissions import BATCH_MAX


def _op(summary: str, replies: dict, *, security: list | None = None, **extra: Any) -> dict:
    operation: dict = {"summary": summary, "parameters": [_ref_param("lang")], **extra}
    operation["responses"] = {**replies, **error_replies("400", "500")}
    if security is not None:
        operation["security"] = security
    return operation


def _public(summary: str, replies: dict) -> dict:
    return {"get": _op(summary, replies, security=[])}


def _list(name: str) -> dict:
    return json_reply({"type": "array", "items": ref(name)}, f"{name} list")


def _ref_param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _body(schema: Schema, *, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


KIOSK = [{"kioskToken": []}, {"kioskCookie": []}]
API = [{"apiToken": []}]


DATE = {"type": "string", "format": "date"}
PERIOD_PATTERN = (
    r"^(this-month|last-month|this-quarter|last-quarter|this-year|last-year|custom"
    r"|\d{4}(-(H[12]|9M|Q[1-4]|M(0[1-9]|1[0-2])))?)$"
)
PERIOD_HELP = (
    "A reporting period: 2026, 2026-H1, 2026-H2, 2026-9M, 2026-Q3, 2026-M07, this-month, "
    "last-month, this-quarter, last-quarter, this-year, last-year; or custom (the default) "
    "with from and to"
)


def _query(name: str, description: str, schema: Schema, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description} | {
        "schema": schema
    }


def _paths() -> dict:
    ok = json_reply({"type": "object"}, "OK")
    code = {"type": "string"}
    summary_params = [
        _query("period", PERIOD_HELP, {"type": "string", "pattern": PERIOD_PATTERN}),
        _query("from", "First day (YYYY-MM-DD), with period=custom", DATE),
        _query("to", "Last day (YYYY-MM-DD), with period=custom", DATE),
        *(_query(n, f"{n.title()} code", code) for n in ("unit", "agency", "field", "service")),
        _query("counter", "Counter code", code),
        _query("channel", "Channel", {"enum": list(CHANNELS)}),
        _query("group_by", "Grouping", {"enum": list(GROUPS)}),
    ]
    health = obj(["status", "database"], status={"type": "string"}, database={"type": "string"})
    return {
        "/healthz": _public(
            "Whether the app and its database answer",
            {"200": json_reply(health, "Ready"), "503": json_reply(health, "Database unavailable")},
        ),
        "/api/v1/openapi.json": _public("This description", {"200": ok}),
        "/api/v1/questionnaire": _public(
            "The active questionnaire, labels in the request's language",
            {"200": ok, **error_replies("503")},
        ),
        "/api/v1/services": _public("The active procedures", {"200": _list("Service")}),
        "/api/v1/units": _public(
            "Centres and service points with their counters", {"200": _list("Unit")}
        ),
        "/api/v1/responses": {
            "post": _op(
                "Record one response from a kiosk (idempotent on its id)",
                {
                    "201": json_reply(ref("ItemResult"), "Created"),
                    "200": json_reply(ref("ItemResult"), "Duplicate (nothing changed) or updated"),
                    "422": json_reply(ref("ItemResult"), "Invalid: status invalid, with errors"),
                    **error_replies("401", "413", "429", "503"),
                },
                security=KIOSK,
                requestBody=_body(ref("Submission")),
            )
        },
        "/api/v1/responses/batch": {
            "post": _op(
                "Record queued responses; a definite status per item, in order",
                {
                    "200": json_reply(
                        obj(["results"], results={"type": "array", "items": ref("ItemResult")}),
                        "A status per item",
                    ),
                    "422": json_reply(ref("Errors"), f"Not between 1 and {BATCH_MAX} responses"),
                    **error_replies("401", "413", "429", "503"),
                },
                security=KIOSK,
                requestBody=_body(
                    obj(
                        ["responses"],
                        responses={
                            "type": "array",
                            "minItems": 1,
                            "maxItems": BATCH_MAX,
                            "items": ref("Submission"),
                        },
                    )
                ),
            )
        },
        "/api/v1/kiosk/heartbeat": {
            "post": _op(
                "A kiosk says it is alive, with its version and queue sizes",
                {
                    "200": json_reply(
                        obj(
                            ["status", "unit", "counter"],
                            status={"const": "ok"},
                            unit=code,
                            counter=nullable(code),
                        ),
                        "Recorded",
                    ),
                    "422": json_reply(ref("Errors"), "Bad queue sizes or version"),
                    **error_replies("401", "413", "503"),
                },
                security=KIOSK,
                requestBody=_body(
                    obj(
                        [],
                        app_version=nullable({"type": "string"}),
                        queued={"type": "integer", "minimum": 0, "maximum": 999_999},
                        dead_letters={"type": "integer", "minimum": 0, "maximum": 999_999},
                    ),
                    required=False,
                ),
            )
        },
        "/api/v1/summary": {
            "get": _op(
                "SIPAS figures for a period, within the token user's units",
                {
                    "200": json_reply(ref("Summary"), "The figures"),
                    "403": json_reply(ref("Errors"), "A unit outside the token user's scope"),
                    **error_replies("401", "503"),
                },
                security=API,
                parameters=[_ref_param("lang"), *summary_params],
            )
        },
        "/api/v1/export/{what}.{fmt}": {"get": _export_op(code)},
        "/api/v1/profile": {
            "get": _op(
                "The overall index per respondent profile option (who is satisfied), with the "
                "filters of /api/v1/summary; a group of fewer than 5 ratings is hidden",
                {
                    "200": json_reply(ref("Profile"), "The index per profile item and option"),
                    "403": json_reply(ref("Errors"), "A unit outside the token user's scope"),
                    **error_replies("401", "503"),
                },
                security=API,
                parameters=[_ref_param("lang"), *summary_params[:-1]],
            )
        },
        "/api/v1/visit-codes": {
            "post": _op(
                "New single-use visit codes for a procedure (admin or manager token)",
                {
                    "201": json_reply(
                        obj(
                            ["codes"],
                            codes={
                                "type": "array",
                                "items": obj(["code", "url"], code=code, url=code),
                            },
                        ),
                        "The codes and their addresses",
                    ),
                    "403": json_reply(ref("Errors"), "A counter outside the token user's scope"),
                    "422": json_reply(ref("Errors"), "Unknown procedure or counter, or bad count"),
                    **error_replies("401", "413", "503"),
                },
                security=API,
                requestBody=_body(
                    obj(
                        ["service"],
                        service=code,
                        counter=nullable(code),
                        count={"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
                    )
                ),
            )
        },
    }


def _path(name: str, values: tuple[str, ...], description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description} | {
        "schema": {"enum": list(values)}
    }


def _export_op(code: Schema) -> dict:
    """GET /api/v1/export/{what}.{fmt}: a file, not JSON (errors are JSON)."""
    period = "this-month, last-month, this-quarter, this-year, last-year, or custom with from/to"
    params = [
        _ref_param("lang"),
        _path("what", WHATS, "summary (tables), responses (one row each) or comments"),
        _path("fmt", FORMATS, "CSV (UTF-8 with BOM; vi and km: `;` and a decimal comma) or XLSX"),
        _query("period", period, {"type": "string"}),
        _query("from", "First day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
        _query("to", "Last day (YYYY-MM-DD)", {"type": "string", "format": "date"}),
        *(_query(n, f"{n.title()} code", code) for n in ("unit", "agency", "field", "service")),
        _query("counter", "Counter code", code),
        _query("channel", "Channel", {"enum": list(CHANNELS)}),
        _query("low", "1: only comments rated 1 or 2 overall", {"type": "string"}),
    ]
    binary = {"schema": {"type": "string", "format": "binary"}}
    return _op(
        "An export of the summary tables, the responses or the comments, streamed",
        {
            "200": {
                "description": "The file (Content-Disposition: attachment)",
                "content": {MIMETYPES["csv"].split(";")[0]: binary, MIMETYPES["xlsx"]: binary},
            },
            "403": json_reply(ref("Errors"), "A unit outside the scope, or comments for a viewer"),
            "404": json_reply(ref("Errors"), "No such export or format"),
            **error_replies("401", "503"),
        },
        security=API,
        parameters=params,
    )


def document() -> dict:
    """The OpenAPI document of the JSON API v1."""
    schemas = components(current_app.config["MAX_COMMENT_LENGTH"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SIPAS survey JSON API",
            "version": "1",
            "description": 'Errors are {"errors": [{"field", "message"}]} with a 4xx '
            "code, in the request's language (?lang= or Accept-Language). See README, JSON API.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": schemas,
            "parameters": {"lang": _query("lang", "Language", {"enum": list(config.LOCALES)})},
            "securitySchemes": {
                "kioskToken": _bearer("A kiosk's token (survey kiosk create, or /admin/kiosks)"),
                "kioskCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "kiosk_device",
                    "description": "The cookie of a browser activated as a kiosk (/k/activate)",
                },
                "apiToken": _bearer("A user's API token (survey api-token create, /admin/tokens)"),
            },
        },
    }


def _bearer(description: str) -> dict:
    return {"type": "http", "scheme": "bearer", "description": description}

"""The OpenAPI 3.1 description of the JSON API v1, served at /api/v1/openapi.json.

Built from the constants the code checks against; tests/test_openapi.py fails when a route is
missing here or described without existing, and runs schemathesis against the app.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from survey import config
from survey.exports import FORMATS, MIMETYPES, WHATS
from survey.filters import GROUPS
from survey.models import CHANNELS
from survey.submissions import BATCH_MAX

ITEM_STATUSES = ["created", "updated", "duplicate", "invalid", "rejected"]

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def _json(schema: Schema, description: str, headers: dict | None = None) -> dict:
    reply: dict = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        reply["headers"] = headers
    return reply


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
ERRORS = {
    "400": _json(_ref("Errors"), "Not JSON, nested too deeply, or a NUL in the query"),
    "401": _json(_ref("Errors"), "No valid token (or a revoked kiosk)"),
    "413": _json(_ref("Errors"), "The body is larger than 64 KB"),
    "429": _json(_ref("Errors"), "Too many requests from this device", RETRY_AFTER),
    "500": _json(_ref("Errors"), "Our failure: nothing was stored; send again later"),
    "503": _json(_ref("Errors"), "The database is unavailable; send again", RETRY_AFTER),
}


def _errors(*codes: str) -> dict:
    return {code: ERRORS[code] for code in codes}


def _schemas(comment_max: int) -> dict[str, Schema]:
    level5 = _nullable({"type": "integer", "minimum": 1, "maximum": 5})
    level4 = _nullable({"type": "integer", "minimum": 1, "maximum": 4})
    text = {"type": "string"}
    error_list = {"type": "array", "minItems": 1, "items": _ref("ErrorItem")}
    proportion = _obj(
        ["index", "n"],
        index=_nullable({"type": "number"}),
        n={"type": "integer"},
        ci95=_nullable({"type": "array", "items": _nullable({"type": "number"})}),
    )
    return {
        "ErrorItem": _obj(["field", "message"], field=_nullable(text), message=text),
        "Errors": _obj(["errors"], errors=error_list),
        "Submission": {
            **_obj(
                ["id", "service", "captured_at"],
                id={"type": "string", "format": "uuid", "description": "Made by the device"},
                service={**text, "description": "Procedure code (GET /api/v1/services)"},
                counter={**_nullable(text), "description": "Defaults to the kiosk's counter"},
                captured_at={
                    "type": "string",
                    "format": "date-time",
                    "description": "Device clock with a time zone; ≤ 5 min ahead, ≤ 30 days old",
                },
                locale={"enum": list(config.LOCALES)},
                answers={
                    "type": "object",
                    "description": "OV and criterion codes → 1..5, or null (not applicable)",
                    "additionalProperties": level5,
                },
                expectations={
                    "type": "object",
                    "description": "Expectation number → 1..4, or null",
                    "additionalProperties": level4,
                },
                comment={**_nullable({"type": "string", "maxLength": comment_max})},
                status={"enum": ["partial", "complete"], "default": "complete"},
                profile=_nullable({"type": "object", "additionalProperties": text}),
                contact=_nullable(
                    _obj(["phone", "consent"], phone=text, consent={"type": "boolean"})
                ),
            ),
            "description": "A new response needs an answer; a known partial one may be "
            "completed with a comment only. Text may not hold NUL or lone surrogates.",
        },
        "ItemResult": _obj(
            ["id", "status"],
            id=_nullable(text),
            status={
                "enum": ITEM_STATUSES,
                "description": "created/updated/duplicate: stored, delete it from the queue; "
                "invalid/rejected: refused for good, keep it aside (dead letter)",
            },
            errors=error_list,
        ),
        "Proportion": proportion,
        "Summary": {
            **_obj(["period", "from", "to", "questionnaire", "responses", "groups"]),
            "properties": {
                "period": {"type": "string", "description": "2026-Q3, or from..to for dates"},
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
                "questionnaire": text,
                "responses": {"type": "integer"},
                "overall": _nullable(_ref("Proportion")),
                "elements": _nullable({"type": "object", "additionalProperties": proportion}),
                "overall_question": _ref("Proportion"),
                "criteria": _nullable({"type": "object"}),
                "groups": {"type": "array", "items": {"type": "object"}},
                "hidden": {"type": "boolean"},
                "message": text,
            },
        },
        "Profile": _obj(
            ["period", "from", "to", "questionnaire", "items"],
            **{"from": {"type": "string", "format": "date"}},
            period=text,
            to={"type": "string", "format": "date"},
            questionnaire=text,
            items={
                "type": "array",
                "description": "Per profile item (gender, age_band, ethnicity, …), its groups: "
                "key, label, responses and overall (index, ci95, n); a group of 1 to 4 ratings "
                "has only key, label and hidden: true",
                "items": _obj(["key", "label", "groups"], key=text, label=text),
            },
        ),
    }


def _op(summary: str, replies: dict, *, security: list | None = None, **extra: Any) -> dict:
    operation: dict = {"summary": summary, "parameters": [_ref_param("lang")], **extra}
    operation["responses"] = {**replies, **_errors("400", "500")}
    if security is not None:
        operation["security"] = security
    return operation


def _public(summary: str, replies: dict) -> dict:
    return {"get": _op(summary, replies, security=[])}


def _list(name: str) -> dict:
    return _json({"type": "array", "items": _ref(name)}, f"{name} list")


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
    ok = _json({"type": "object"}, "OK")
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
    health = _obj(["status", "database"], status={"type": "string"}, database={"type": "string"})
    return {
        "/healthz": _public(
            "Whether the app and its database answer",
            {"200": _json(health, "Ready"), "503": _json(health, "Database unavailable")},
        ),
        "/api/v1/openapi.json": _public("This description", {"200": ok}),
        "/api/v1/questionnaire": _public(
            "The active questionnaire, labels in the request's language",
            {"200": ok, **_errors("503")},
        ),
        "/api/v1/services": _public("The active procedures", {"200": _list("Service")}),
        "/api/v1/units": _public(
            "Centres and service points with their counters", {"200": _list("Unit")}
        ),
        "/api/v1/responses": {
            "post": _op(
                "Record one response from a kiosk (idempotent on its id)",
                {
                    "201": _json(_ref("ItemResult"), "Created"),
                    "200": _json(_ref("ItemResult"), "Duplicate (nothing changed) or updated"),
                    "422": _json(_ref("ItemResult"), "Invalid: status invalid, with errors"),
                    **_errors("401", "413", "429", "503"),
                },
                security=KIOSK,
                requestBody=_body(_ref("Submission")),
            )
        },
        "/api/v1/responses/batch": {
            "post": _op(
                "Record queued responses; a definite status per item, in order",
                {
                    "200": _json(
                        _obj(["results"], results={"type": "array", "items": _ref("ItemResult")}),
                        "A status per item",
                    ),
                    "422": _json(_ref("Errors"), f"Not between 1 and {BATCH_MAX} responses"),
                    **_errors("401", "413", "429", "503"),
                },
                security=KIOSK,
                requestBody=_body(
                    _obj(
                        ["responses"],
                        responses={
                            "type": "array",
                            "minItems": 1,
                            "maxItems": BATCH_MAX,
                            "items": _ref("Submission"),
                        },
                    )
                ),
            )
        },
        "/api/v1/kiosk/heartbeat": {
            "post": _op(
                "A kiosk says it is alive, with its version and queue sizes",
                {
                    "200": _json(
                        _obj(
                            ["status", "unit", "counter"],
                            status={"const": "ok"},
                            unit=code,
                            counter=_nullable(code),
                        ),
                        "Recorded",
                    ),
                    "422": _json(_ref("Errors"), "Bad queue sizes or version"),
                    **_errors("401", "413", "503"),
                },
                security=KIOSK,
                requestBody=_body(
                    _obj(
                        [],
                        app_version=_nullable({"type": "string"}),
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
                    "200": _json(_ref("Summary"), "The figures"),
                    "403": _json(_ref("Errors"), "A unit outside the token user's scope"),
                    **_errors("401", "503"),
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
                    "200": _json(_ref("Profile"), "The index per profile item and option"),
                    "403": _json(_ref("Errors"), "A unit outside the token user's scope"),
                    **_errors("401", "503"),
                },
                security=API,
                parameters=[_ref_param("lang"), *summary_params[:-1]],
            )
        },
        "/api/v1/visit-codes": {
            "post": _op(
                "New single-use visit codes for a procedure (admin or manager token)",
                {
                    "201": _json(
                        _obj(
                            ["codes"],
                            codes={
                                "type": "array",
                                "items": _obj(["code", "url"], code=code, url=code),
                            },
                        ),
                        "The codes and their addresses",
                    ),
                    "403": _json(_ref("Errors"), "A counter outside the token user's scope"),
                    "422": _json(_ref("Errors"), "Unknown procedure or counter, or bad count"),
                    **_errors("401", "413", "503"),
                },
                security=API,
                requestBody=_body(
                    _obj(
                        ["service"],
                        service=code,
                        counter=_nullable(code),
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
            "403": _json(_ref("Errors"), "A unit outside the scope, or comments for a viewer"),
            "404": _json(_ref("Errors"), "No such export or format"),
            **_errors("401", "503"),
        },
        security=API,
        parameters=params,
    )


def document() -> dict:
    """The OpenAPI document of the JSON API v1."""
    code = {"type": "string"}
    schemas = _schemas(current_app.config["MAX_COMMENT_LENGTH"])
    names = {"code": code, "name": code}
    schemas["Service"] = _obj(
        ["code", "name", "field", "agency"],
        **names,
        **dict.fromkeys(("field", "field_name", "agency", "agency_name"), code),
        national_code=_nullable(code),
    )
    schemas["Unit"] = _obj(
        ["code", "name", "parent", "counters"],
        **names,
        parent=_nullable(code),
        counters={"type": "array", "items": _obj(["code", "name"], **names)},
    )
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

"""The building blocks of the OpenAPI description (survey/openapi.py): the schemas of its
components and the error replies every operation shares.
"""

from __future__ import annotations

from typing import Any

from survey import config

ITEM_STATUSES = ["created", "updated", "duplicate", "invalid", "rejected"]

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema`, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: list[str], **properties: Schema) -> Schema:
    """An object schema with its required names and its properties."""
    return {"type": "object", "required": required, "properties": properties}


def json_reply(schema: Schema, description: str, headers: dict | None = None) -> dict:
    """A JSON response of `schema`, with its headers if any."""
    reply: dict = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        reply["headers"] = headers
    return reply


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
ERRORS = {
    "400": json_reply(ref("Errors"), "Not JSON, nested too deeply, or a NUL in the query"),
    "401": json_reply(ref("Errors"), "No valid token (or a revoked kiosk)"),
    "413": json_reply(ref("Errors"), "The body is larger than 64 KB"),
    "429": json_reply(ref("Errors"), "Too many requests from this device", RETRY_AFTER),
    "500": json_reply(ref("Errors"), "Our failure: nothing was stored; send again later"),
    "503": json_reply(ref("Errors"), "The database is unavailable; send again", RETRY_AFTER),
}


def error_replies(*codes: str) -> dict:
    """The shared error responses of `codes`."""
    return {code: ERRORS[code] for code in codes}


def components(comment_max: int) -> dict[str, Schema]:
    """The schemas of components/schemas, in the order the document lists them."""
    return {**_schemas(comment_max), **_catalogue_schemas()}


def _schemas(comment_max: int) -> dict[str, Schema]:
    level5 = nullable({"type": "integer", "minimum": 1, "maximum": 5})
    level4 = nullable({"type": "integer", "minimum": 1, "maximum": 4})
    text = {"type": "string"}
    error_list = {"type": "array", "minItems": 1, "items": ref("ErrorItem")}
    proportion = obj(
        ["index", "n"],
        index=nullable({"type": "number"}),
        n={"type": "integer"},
        ci95=nullable({"type": "array", "items": nullable({"type": "number"})}),
    )
    return {
        "ErrorItem": obj(["field", "message"], field=nullable(text), message=text),
        "Errors": obj(["errors"], errors=error_list),
        "Submission": {
            **obj(
                ["id", "service", "captured_at"],
                id={"type": "string", "format": "uuid", "description": "Made by the device"},
                service={**text, "description": "Procedure code (GET /api/v1/services)"},
                counter={**nullable(text), "description": "Defaults to the kiosk's counter"},
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
                comment={**nullable({"type": "string", "maxLength": comment_max})},
                status={"enum": ["partial", "complete"], "default": "complete"},
                profile=nullable({"type": "object", "additionalProperties": text}),
                contact=nullable(
                    obj(["phone", "consent"], phone=text, consent={"type": "boolean"})
                ),
            ),
            "description": "A new response needs an answer; a known partial one may be "
            "completed with a comment only. Text may not hold NUL or lone surrogates.",
        },
        "ItemResult": obj(
            ["id", "status"],
            id=nullable(text),
            status={
                "enum": ITEM_STATUSES,
                "description": "created/updated/duplicate: stored, delete it from the queue; "
                "invalid/rejected: refused for good, keep it aside (dead letter)",
            },
            errors=error_list,
        ),
        "Proportion": proportion,
        "Summary": {
            **obj(["period", "from", "to", "questionnaire", "responses", "groups"]),
            "properties": {
                "period": {"type": "string", "description": "2026-Q3, or from..to for dates"},
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
                "questionnaire": text,
                "responses": {"type": "integer"},
                "overall": nullable(ref("Proportion")),
                "elements": nullable({"type": "object", "additionalProperties": proportion}),
                "overall_question": ref("Proportion"),
                "criteria": nullable({"type": "object"}),
                "groups": {"type": "array", "items": {"type": "object"}},
                "hidden": {"type": "boolean"},
                "message": text,
            },
        },
        "Profile": obj(
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
                "items": obj(["key", "label", "groups"], key=text, label=text),
            },
        ),
    }


def _catalogue_schemas() -> dict[str, Schema]:
    """A procedure and a unit, as /api/v1/services and /api/v1/units list them."""
    code = {"type": "string"}
    names = {"code": code, "name": code}
    return {
        "Service": obj(
            ["code", "name", "field", "agency"],
            **names,
            **dict.fromkeys(("field", "field_name", "agency", "agency_name"), code),
            national_code=nullable(code),
        ),
        "Unit": obj(
            ["code", "name", "parent", "counters"],
            **names,
            parent=nullable(code),
            counters={"type": "array", "items": obj(["code", "name"], **names)},
        ),
    }

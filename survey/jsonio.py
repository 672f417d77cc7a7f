"""JSON in and out for the API: the error shape and a body parser that never gives a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, make_response, request
from flask_babel import gettext as _

MAX_DEPTH = 8  # a batch is 4 levels deep; anything deeper is not ours


def error(status: int, field: str | None, message) -> tuple[dict, int]:
    """The API's error document (README "JSON API") with its status."""
    return {"errors": [{"field": field, "message": str(message)}]}, status


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests lists or objects more than `limit` levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def json_body() -> Any:
    """The request's JSON document, or a 400 (not JSON, not UTF-8, or nested too deeply)."""
    if not request.is_json:
        abort(make_response(*error(400, None, _("The body must be JSON."))))
    try:
        data = json.loads(request.get_data(cache=True).decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: thousands of nested arrays
        abort(make_response(*error(400, None, _("The body must be JSON."))))
    if too_deep(data):
        abort(make_response(*error(400, None, _("The JSON document is nested too deeply."))))
    return data

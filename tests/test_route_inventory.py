"""Every route of the app, for every method, in ONE permission matrix (as GOV.UK Notify's admin
checks its routes): who may open it, and what each caller gets.

How to read MATRIX: each row is a request (method and an example URL) and the status each caller
gets, in the order of CALLERS. The URL may use these placeholders, filled from the test world:
  {rid}    a response of the citizen's browser (created at the overall question just before)
  {visit}  an unused visit code of a service at XA1
  {kiosk}  the kiosk token (its activation link)     {kiosk_id}  that kiosk (at XA1)
  {user_id}  the viewer's account     {token_id}  a second API token of the manager's
  {reset_id}  a manager's account that no caller signs in as
  {endpoint_id}, {delivery_id}  a webhook endpoint on loopback and a delivery queued for it
  {commented} (its public id), {comment_id}  a rating of XA1 with a comment
Callers: a browser with no credential; a citizen's browser that owns {rid}; an activated kiosk
(its cookie); viewer and manager of unit XA1, a manager of XA2 (out of scope: every object in
the URLs belongs to XA1) and an admin, each signed in through the form; the API tokens of the
viewer, manager and admin; the kiosk's token (`Authorization: Bearer`).

A new route fails test_every_route_has_a_row until a row is added for each of its methods:
copy a neighbour, open the route as each caller, and write down the status each one SHOULD get.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from survey import accounts, cases, catalogue, kiosks, visits, webhooks
from survey.extensions import db
from survey.followup_models import Holiday
from survey.models import ApiToken, Service, Unit, User
from survey.webhook_models import WebhookDelivery
from tests.builders import PASSWORD, bearer, rate, sign_in
from tests.servers import free_port

CALLERS = (
    "anonymous",
    "citizen",
    "kiosk",
    "viewer",
    "manager",
    "manager_out",
    "admin",
    "api_viewer",
    "api_manager",
    "api_admin",
    "kiosk_token",
)

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                  anon citizn kiosk view mgr out admin api-v api-m api-a k-tok
    # Citizen pages (phone and browser)
    "GET /":                           (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /vi/":                        (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /s/HT-KHAISINH":              (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /v/{visit}":                  (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /vi/s/HT-KHAISINH":           (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /vi/s/HT-KHAISINH":          (303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303),
    "GET /vi/r/{rid}/more":            (404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /vi/r/{rid}/tc":              (404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /vi/r/{rid}/tc":             (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /vi/r/{rid}/finish":         (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /vi/r/{rid}/about-you":       (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /vi/r/{rid}/about-you":      (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /vi/privacy":                 (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /vi/r/{rid}/thank-you":       (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    # The call-back offer: only the browser's own sent rating (a partial one goes on: 303)
    "GET /vi/r/{rid}/call-back":       (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /vi/r/{rid}/call-back":      (404, 303, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    # Kiosk pages: only an activated kiosk (its cookie) gets past 401
    "GET /k/":                         (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    # The kiosk's own endpoints (survey/kiosk.py; outside /k/ they do not exist: NO_ROUTE).
    # Activation: a confirmation page, then a POST; never on a browser signed in as staff (403)
    "GET /k/activate?token={kiosk}":   (200, 200, 200, 403, 403, 403, 403, 200, 200, 200, 200),
    "POST /k/activate":                (303, 303, 303, 403, 403, 403, 403, 303, 303, 303, 303),
    # Pairing (survey/kiosk_pairing.py): a keypad open to any browser but a staff one (403);
    # a key press comes back with the digit typed (200)
    "GET /k/pair":                     (200, 200, 200, 403, 403, 403, 403, 200, 200, 200, 200),
    "POST /k/pair":                    (200, 200, 200, 403, 403, 403, 403, 200, 200, 200, 200),
    "POST /k/reset":                   (401, 401, 303, 401, 401, 401, 401, 401, 401, 401, 303),
    "GET /k/sw.js":                    (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "GET /k/s/HT-KHAISINH":            (401, 401, 302, 401, 401, 401, 401, 401, 401, 401, 302),
    "GET /k/v/{visit}":                (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "GET /k/vi/":                      (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "GET /k/vi/s/HT-KHAISINH":         (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "POST /k/vi/s/HT-KHAISINH":        (401, 401, 303, 401, 401, 401, 401, 401, 401, 401, 303),
    "GET /k/vi/r/{rid}/more":          (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "GET /k/vi/r/{rid}/tc":            (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "POST /k/vi/r/{rid}/tc":           (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "POST /k/vi/r/{rid}/finish":       (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "GET /k/vi/r/{rid}/about-you":     (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "POST /k/vi/r/{rid}/about-you":    (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "GET /k/vi/privacy":               (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "GET /k/vi/r/{rid}/thank-you":     (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "GET /k/vi/r/{rid}/call-back":     (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    "POST /k/vi/r/{rid}/call-back":    (401, 401, 404, 401, 401, 401, 401, 401, 401, 401, 404),
    # Manager pages: a kiosk's browser never reaches them (404); others sign in (302)
    "GET /admin/login":                (200, 200, 404, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /admin/login":               (400, 400, 404, 400, 400, 400, 400, 400, 400, 400, 400),
    "GET /admin/language/en":          (302, 302, 404, 302, 302, 302, 302, 302, 302, 302, 302),
    "POST /admin/logout":              (302, 302, 404, 303, 303, 303, 303, 302, 302, 302, 302),
    "GET /admin/password":             (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/password":            (302, 302, 404, 400, 400, 400, 400, 302, 302, 302, 302),
    "GET /admin/account":              (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    # Alert choices (issue 13): admins and managers; viewers get no e-mail
    "GET /admin/account/alerts":       (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/account/alerts":      (302, 302, 404, 403, 303, 303, 303, 302, 302, 302, 302),
    # Redacting a comment of XA1: its managers and admins; never viewers (403)
    "GET /admin/comments/{comment_id}/redact":
                                       (302, 302, 404, 403, 200, 404, 200, 302, 302, 302, 302),
    "POST /admin/comments/{comment_id}/redact":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "GET /admin/two-factor":           (303, 303, 404, 303, 303, 303, 303, 303, 303, 303, 303),
    "POST /admin/two-factor":          (303, 303, 404, 303, 303, 303, 303, 303, 303, 303, 303),
    "GET /admin/two-factor/enrol":     (303, 303, 404, 200, 200, 200, 200, 303, 303, 303, 303),
    "POST /admin/two-factor/enrol":    (303, 303, 404, 400, 400, 400, 400, 303, 303, 303, 303),
    "GET /admin/two-factor/qr.svg":    (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /admin/account/two-factor/disable":
                                       (302, 302, 404, 403, 403, 403, 403, 302, 302, 302, 302),
    "POST /admin/users/{reset_id}/two-factor-reset":
                                       (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    "GET /admin/?unit=XA1":            (302, 302, 404, 200, 200, 403, 200, 302, 302, 302, 302),
    "GET /admin/export/responses.csv?unit=XA1":
                                       (302, 302, 404, 200, 200, 403, 200, 302, 302, 302, 302),
    "GET /admin/export/comments.xlsx": (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/planning?unit=XA1":    (302, 302, 404, 200, 200, 403, 200, 302, 302, 302, 302),
    "POST /admin/planning/import":     (302, 302, 404, 403, 303, 403, 303, 302, 302, 302, 302),
    "POST /admin/planning/entry":      (302, 302, 404, 403, 303, 403, 303, 302, 302, 302, 302),
    "GET /admin/report?unit=XA1&period=2026-Q1":
                                       (302, 302, 404, 200, 200, 403, 200, 302, 302, 302, 302),
    "POST /admin/report?unit=XA1&period=2026-Q1":
                                       (302, 302, 404, 403, 303, 403, 303, 302, 302, 302, 302),
    "GET /admin/report.pdf?unit=XA1&period=2026-Q1":
                                       (302, 302, 404, 200, 200, 403, 200, 302, 302, 302, 302),
    "GET /admin/paper":                (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    # Follow-up cases: the case {case_id} is XA1's; viewers read, managers and admins act
    "GET /admin/cases":                (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/cases?overdue=y&state=new":
                                       (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/cases/{case_id}":      (302, 302, 404, 200, 200, 404, 200, 302, 302, 302, 302),
    "POST /admin/cases/{case_id}/state":
                                       (302, 302, 404, 403, 400, 404, 400, 302, 302, 302, 302),
    "POST /admin/cases/{case_id}/assign":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "POST /admin/cases/{case_id}/note":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    # The full number: only the case's assignee (nobody here)
    "POST /admin/cases/{case_id}/reveal":
                                       (302, 302, 404, 403, 403, 404, 403, 302, 302, 302, 302),
    "POST /admin/cases/open/{comment_id}":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "GET /admin/cases/hotline":        (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/cases/hotline":       (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/cases/withdraw":      (302, 302, 404, 403, 400, 400, 400, 302, 302, 302, 302),
    "GET /admin/holidays":             (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "POST /admin/holidays":            (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    "POST /admin/holidays/{holiday_id}/delete":
                                       (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    "POST /admin/paper":               (302, 302, 404, 403, 303, 403, 303, 302, 302, 302, 302),
    "GET /admin/paper/import":         (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/paper/import":        (302, 302, 404, 403, 303, 400, 303, 302, 302, 302, 302),
    "GET /admin/paper/print":          (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/paper/forms.pdf?lang=km&prefix=P&first=1&count=1":
                                       (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/kiosks":               (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/kiosks/new":           (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/kiosks/new":          (302, 302, 404, 403, 200, 403, 200, 302, 302, 302, 302),
    "POST /admin/kiosks/{kiosk_id}/pairing-code":
                                       (302, 302, 404, 403, 200, 404, 200, 302, 302, 302, 302),
    "GET /admin/kiosks/{kiosk_id}":    (302, 302, 404, 403, 200, 404, 200, 302, 302, 302, 302),
    "POST /admin/kiosks/{kiosk_id}":   (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    # The catalogue: admins every kind, managers the units and counters of their scope
    "GET /admin/catalogue":            (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/catalogue/counter/new":(302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/catalogue/counter/new":
                                       (302, 302, 404, 403, 303, 403, 303, 302, 302, 302, 302),
    "GET /admin/catalogue/counter/XA1-Q01":
                                       (302, 302, 404, 403, 200, 404, 200, 302, 302, 302, 302),
    "POST /admin/catalogue/counter/XA1-Q01":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "GET /admin/flags":                (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/flags":               (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "GET /admin/topics":               (302, 302, 404, 200, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/topics":              (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    "POST /admin/comments/{commented}/topics":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    # A comment's page (topics, case, redaction; linked from the dashboard since 2026-12-06)
    "GET /admin/comments/{commented}": (302, 302, 404, 403, 200, 404, 200, 302, 302, 302, 302),
    "GET /admin/qr":                   (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/qr/HT-KHAISINH.svg":   (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "GET /admin/tokens":               (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/tokens":              (302, 302, 404, 403, 200, 200, 200, 302, 302, 302, 302),
    "POST /admin/tokens/{token_id}/revoke":
                                       (302, 302, 404, 403, 303, 404, 303, 302, 302, 302, 302),
    "GET /admin/users":                (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "POST /admin/users":               (302, 302, 404, 403, 403, 403, 400, 302, 302, 302, 302),
    "GET /admin/users/{user_id}":      (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "POST /admin/users/{user_id}":     (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "GET /admin/audit":                (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    # Webhooks to the province's systems: administrators only
    "GET /admin/webhooks":             (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "POST /admin/webhooks":            (302, 302, 404, 403, 403, 403, 200, 302, 302, 302, 302),
    "POST /admin/webhooks/{endpoint_id}/resume":
                                       (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    "POST /admin/webhooks/deliveries/{delivery_id}/resend":
                                       (302, 302, 404, 403, 403, 403, 303, 302, 302, 302, 302),
    # JSON API and health
    "GET /healthz":                    (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/questionnaire":       (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/services":            (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/openapi.json":        (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/units":               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /api/v1/summary?from=2026-01-01&to=2026-01-31&unit=XA1":
                                       (401, 401, 401, 401, 401, 401, 401, 200, 200, 200, 401),
    "GET /api/v1/export/responses.csv?from=2026-01-01&to=2026-01-31&unit=XA1":
                                       (401, 401, 401, 401, 401, 401, 401, 200, 200, 200, 401),
    "GET /api/v1/export/comments.xlsx?from=2026-01-01&to=2026-01-31":
                                       (401, 401, 401, 401, 401, 401, 401, 403, 200, 200, 401),
    "GET /api/v1/profile?from=2026-01-01&to=2026-01-31&unit=XA1":
                                       (401, 401, 401, 401, 401, 401, 401, 200, 200, 200, 401),
    "POST /api/v1/visit-codes":        (401, 401, 401, 401, 401, 401, 401, 401, 201, 201, 401),
    "POST /api/v1/responses":          (401, 401, 201, 401, 401, 401, 401, 401, 401, 401, 201),
    "POST /api/v1/responses/batch":    (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "POST /api/v1/kiosk/heartbeat":    (401, 401, 200, 401, 401, 401, 401, 401, 401, 401, 200),
    "GET /static/survey.css":          (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
}
# fmt: on

# The kiosk-only views exist under /k/ alone: outside it every caller gets 404.
NO_ROUTE = (
    "GET /activate",
    "POST /activate",
    "GET /pair",
    "POST /pair",
    "POST /reset",
    "GET /sw.js",
)

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%d/%m/%Y")
# Bodies of the requests that need one (form fields, or JSON for the API).
FORMS = {
    "POST /vi/s/HT-KHAISINH": {"OV": "4"},
    "POST /k/vi/s/HT-KHAISINH": {"OV": "4"},
    "POST /admin/kiosks/{kiosk_id}": {"name": "Sảnh", "unit": "XA1", "counter": "XA1-Q01"},
    "POST /admin/kiosks/new": {"name": "Sảnh mới", "unit": "XA1", "language": "km"},
    "POST /k/pair": {"code": "123", "key": "4"},
    "POST /admin/catalogue/counter/new": {"code": "{new_id}", "parent": "XA1", "name_vi": "Quầy"},
    "POST /admin/catalogue/counter/XA1-Q01": {"parent": "XA1", "name_vi": "Quầy 01"},
    "POST /admin/flags": {"id": "{flagged}", "decision": "confirm"},
    "POST /admin/account/alerts": {"kinds": ["kiosk"], "locale": "vi"},
    "POST /admin/comments/{comment_id}/redact": {"text": "Chờ lâu", "save": "1"},
    # A receiver on loopback that nothing listens at (allowed for the test world)
    "POST /admin/webhooks": {"url": "{hook_url}", "events": "case.opened"},
    "POST /admin/topics": {"thoi_gian_cho": "chờ lâu\nxếp hàng"},
    "POST /admin/comments/{commented}/topics": {"topics": "thai_do", "next": "/admin/"},
    "POST /admin/cases/{case_id}/state": {"state": "closed"},  # no outcome: refused
    "POST /admin/cases/{case_id}/assign": {"assignee": "0"},
    "POST /admin/cases/{case_id}/note": {"text": "Đã gọi lại"},
    "POST /admin/cases/hotline": {"phone": "0912 345 678"},
    "POST /admin/cases/withdraw": {"code": "AAAA-AAAA"},
    "POST /admin/holidays": {"day": "2026-09-02", "name": "Quốc khánh"},
    # A file (content, name): each request sends a fresh copy; the dossiers are XA1's
    "POST /admin/planning/import": {
        "file": (b"date,unit,service,dossiers\n01/07/2026,XA1,HT-KHAISINH,3\n", "d.csv")
    },
    "POST /admin/planning/entry": {
        "period": "2026-Q3",
        "unit": "XA1",
        "service": "HT-KHAISINH",
        "dossiers": "9",
    },
    "POST /k/activate": {"token": "{kiosk}"},
    # A paper form of XA1 (a new serial each time), dated yesterday; the file of one form is
    # imported by the manager, skipped for the admin (stored already), refused out of scope
    "POST /admin/paper": {
        "serial": "P-{new_id}",
        "unit": "XA1",
        "service": "HT-KHAISINH",
        "written_on": YESTERDAY,
        "locale": "vi",
        "OV": "4",
    },
    "POST /admin/paper/import": {
        "file": (f"serial,unit,service,date,OV\nP-1,XA1,HT-KHAISINH,{YESTERDAY},5\n".encode(), "p")
    },
}
RATING = {
    "id": "{new_id}",
    "service": "HT-KHAISINH",
    "captured_at": "{now}",
    "locale": "vi",
    "answers": {"OV": 4},
}
JSON = {
    "POST /api/v1/visit-codes": {"service": "HT-KHAISINH", "counter": "XA1-Q01", "count": 1},
    "POST /api/v1/responses": RATING,
    "POST /api/v1/responses/batch": {"responses": [RATING]},
    "POST /api/v1/kiosk/heartbeat": {"app_version": "t", "queued": 0, "dead_letters": 0},
}
ENDS_SESSION = {"POST /admin/logout"}  # opened in browsers signed in for that row alone
# Verified once (argon2id, lowest cost) so that signing in through the form stays quick.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def _rule_of(app, row: str) -> str:
    """The route ("METHOD /rule") that a row's request reaches."""
    method, url = row.split(" ", 1)
    example = re.sub(r"\{\w+\}", "1", url.split("?")[0])  # any value reaches the same route
    adapter = app.url_map.bind("localhost")
    try:
        rule, _ = adapter.match(example, method=method, return_rule=True)
    except HTTPException as exc:
        raise AssertionError(f"MATRIX row {row!r} reaches no route ({exc})") from exc
    return f"{method} {rule.rule}"


def routes_without_a_row(app) -> list[str]:
    """Every "METHOD /rule  (endpoint …)" of the app that no MATRIX row reaches."""
    routes = {
        f"{method} {rule.rule}": rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    }
    covered = {_rule_of(app, row) for row in MATRIX}
    return [f"{route}  (endpoint {routes[route]})" for route in sorted(set(routes) - covered)]


def test_every_route_has_a_row(app):
    missing = routes_without_a_row(app)
    assert not missing, (
        "These routes have no row in MATRIX (tests/test_route_inventory.py); add one per "
        "route and method, with the status each caller should get:\n  " + "\n  ".join(missing)
    )
    assert all(len(statuses) == len(CALLERS) for statuses in MATRIX.values())


def test_a_new_route_without_a_row_is_named(app):
    app.add_url_rule("/<lang:lang>/new-page", "public.new_page", lambda lang: "", methods=["POST"])
    assert routes_without_a_row(app) == ["POST /<lang:lang>/new-page  (endpoint public.new_page)"]


def _unit(code: str, parent: str | None = None) -> None:
    catalogue.import_csv(
        "kind,code,parent,name_vi,name_en,name_km,national_code,field,agency,active\n"
        f"unit,{code},{parent or ''},Xã {code},Commune {code},ឃុំ {code},,,,\n"
    )


def _user(email: str, role: str, units: tuple[str, ...] = ()) -> User:
    user = User(
        email=email,
        role=role,
        password_hash=CHEAP_HASH,
        totp_secret=pyotp.random_base32() if role == "admin" else None,  # required for admins
        units=list(db.session.scalars(select(Unit).where(Unit.code.in_(units)))),
    )
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def world(app):
    """Accounts of each role, their API tokens, a kiosk, a visit code and a flagged rating."""
    with app.app_context():
        _unit("XA2", "CTR")
        people = {
            "viewer": _user("viewer@ag.vn", "viewer", ("XA1",)),
            "manager": _user("manager@ag.vn", "manager", ("XA1",)),
            "manager_out": _user("out@ag.vn", "manager", ("XA2",)),
            "admin": _user("admin@ag.vn", "admin"),
        }
        # A reset ends the sessions of the account it resets: one that no caller signs in as.
        reset_id = _user("reset@ag.vn", "manager", ("XA1",)).id
        tokens = {
            f"api_{role}": accounts.create_api_token(people[role], actor="t")
            for role in ("viewer", "manager", "admin")
        }
        device, tokens["kiosk_token"] = kiosks.create_kiosk(
            unit="XA1", counter="XA1-Q01", name="Sảnh", actor="t"
        )
        # A second token of the manager's, for the revoke row (the first one stays valid).
        accounts.create_api_token(people["manager"], actor="t")
        revocable = db.session.scalar(select(func.max(ApiToken.id)))
        service = db.session.scalar(select(Service).filter_by(code="HT-KHAISINH"))
        flagged = rate(counter="XA1-Q01", answers={"OV": 5})
        flagged.flag_reason = "burst"
        commented = rate(counter="XA1-Q01", answers={"OV": 2}, comment="Chờ lâu")
        followed = cases.open_case(flagged.id, now=datetime.now(UTC))
        holiday = Holiday(day=datetime(2026, 1, 1).date(), name="Tết Dương lịch")
        db.session.add(holiday)
        db.session.commit()
        # A webhook endpoint on loopback (nothing listens there) and a delivery queued for it.
        app.config["SURVEY_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
        hook_url = f"http://127.0.0.1:{free_port()}/hook"
        endpoint, _secret = webhooks.register(
            hook_url, ["case.opened"], actor="t", now=datetime.now(UTC)
        )
        webhooks.enqueue_event("case.opened", {"case": "C-1"}, now=datetime.now(UTC))
        db.session.commit()
        delivery_id = db.session.scalar(select(func.max(WebhookDelivery.id)))
        return {
            "now": datetime.now(UTC).isoformat(),  # captured_at must be near the server's clock
            "emails": {role: user.email for role, user in people.items()},
            "tokens": tokens,
            "values": {
                "visit": visits.mint(service, 1, actor="t")[0],
                "kiosk": tokens["kiosk_token"],
                "kiosk_id": device.id,
                "user_id": people["viewer"].id,
                "reset_id": reset_id,
                "token_id": revocable,
                "flagged": flagged.public_id,
                "comment_id": commented.id,
                "hook_url": hook_url,
                "endpoint_id": endpoint.id,
                "delivery_id": delivery_id,
                "commented": commented.public_id,
                "case_id": followed.id,
                "holiday_id": holiday.id,
            },
        }


def _client(app, who: str, world: dict, signed_in: dict | None = None):
    """A fresh browser or API client for `who`, and the headers of its requests.

    A staff member signs in once; each row then starts a fresh browser holding only that
    session cookie (the sign-in form allows 20 tries per address in 10 minutes). A row that
    ends the session (`signed_in` None) signs in a browser of its own."""
    client = app.test_client()
    if who == "kiosk":
        client.set_cookie("kiosk_device", world["tokens"]["kiosk_token"])
    if who in world["emails"]:
        if signed_in is not None and who in signed_in:
            client.set_cookie("session", signed_in[who])
        else:
            assert sign_in(client, world["emails"][who]).status_code == 303
            if signed_in is not None:
                signed_in[who] = client.get_cookie("session").value
    token = world["tokens"].get(who)
    return client, (bearer(token) if token else {})


def _fill(value, values: dict):
    if isinstance(value, tuple):  # a file to upload
        return (io.BytesIO(value[0]), value[1])
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _citizen_rid(client) -> str:
    """Answer the overall question in this browser; return the id of its new response."""
    rid = str(uuid.uuid4())
    reply = client.post("/vi/s/HT-KHAISINH", data={"rid": rid, "OV": "5"})
    assert reply.status_code == 303, reply.text
    return rid


def _statuses(app, world: dict, row: str, signed_in: dict) -> dict[str, int]:
    """Open the row's request as each caller; return the status each one got."""
    method, url = row.split(" ", 1)
    reuse = None if row in ENDS_SESSION else signed_in
    citizen, _ = _client(app, "citizen", world)
    values = {**world["values"], "rid": _citizen_rid(citizen), "now": world["now"]}
    got = {}
    for who in CALLERS:
        client, headers = (citizen, {}) if who == "citizen" else _client(app, who, world, reuse)
        values["new_id"] = str(uuid.uuid4())
        reply = client.open(
            _fill(url, values),
            method=method,
            headers=headers,
            data=_fill(FORMS.get(row), values),
            json=_fill(JSON.get(row), values),
        )
        got[who] = reply.status_code
    return got


def test_each_caller_gets_the_expected_status(app, world):
    wrong, signed_in = [], {}
    for row, statuses in MATRIX.items():
        got = _statuses(app, world, row, signed_in)
        wrong += [
            f"{row}: {who} expected {want}, got {got[who]}"
            for who, want in zip(CALLERS, statuses, strict=True)
            if got[who] != want
        ]
    assert not wrong, "\n".join(wrong)


def test_kiosk_only_views_have_no_route_outside_k(app, world):
    signed_in: dict = {}
    for row in NO_ROUTE:
        method, url = row.split(" ", 1)
        with pytest.raises(AssertionError, match="reaches no route"):
            _rule_of(app, row)
        for who in CALLERS:
            client, headers = _client(app, who, world, signed_in)
            reply = client.open(url, method=method, headers=headers)
            assert reply.status_code == 404, f"{row}: {who} got {reply.status_code}"

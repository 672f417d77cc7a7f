"""The read API and the health check."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from survey.extensions import db


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_a_broken_database(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        reply = client.get("/healthz")
    assert reply.status_code == 503 and reply.get_json()["status"] == "error"


def test_questionnaire_in_each_language(client):
    vi = client.get("/api/v1/questionnaire").get_json()
    km = client.get("/api/v1/questionnaire?lang=km").get_json()
    assert vi["code"] == "sipas-2024" and vi["locale"] == "vi"
    assert [e["code"] for e in vi["elements"]] == ["TC", "TT", "CC", "KQ", "PA"]
    assert vi["scale"][4] == {"value": 5, "label": "Rất hài lòng"}
    assert vi["overall"]["code"] == "OV" and len(vi["expectations"]) == 10
    assert km["scale"][4]["label"] != "Rất hài lòng" and km["locale"] == "km"


def test_services_lists_only_active_ones(client):
    services = client.get("/api/v1/services?lang=en").get_json()
    codes = {s["code"] for s in services}
    assert codes == {"HT-KHAISINH", "HT-KETHON", "CT-BANSAO"}
    birth = next(s for s in services if s["code"] == "HT-KHAISINH")
    assert (
        birth
        | {
            "name": "Birth registration",
            "field": "HOTICH",
            "agency": "UBNDXA",
            "national_code": "1.001193",
        }
        == birth
    )


def test_units_with_parents_and_counters(client):
    units = {u["code"]: u for u in client.get("/api/v1/units").get_json()}
    assert units["CTR"]["parent"] is None and units["XA1"]["parent"] == "CTR"
    assert units["XA1"]["counters"] == [{"code": "XA1-Q01", "name": "Quầy 01"}]


def test_unknown_api_path_is_a_json_404(client):
    reply = client.get("/api/v1/nothing")
    assert reply.status_code == 404 and reply.get_json()["errors"][0]["message"]

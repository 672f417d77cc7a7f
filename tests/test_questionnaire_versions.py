"""Questionnaire versions: each read once per app and shared read-only, while which version is
active is asked of the database every time (another worker or server may switch it)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from survey import questionnaire
from survey.extensions import db
from survey.models import QuestionnaireVersion
from tests.conftest import build_app
from tests.test_write_statements import statements  # noqa: F401  (the fixture)

DEFAULT = questionnaire.DATA_DIR / f"{questionnaire.DEFAULT_CODE}.json"
NEW_QUESTION = "Nhìn chung, ông/bà hài lòng đến mức nào với lần giải quyết hồ sơ này?"


def new_version(code: str = "sipas-2025") -> dict:
    """The default questionnaire under another code, with another overall question."""
    data = questionnaire.load_file(DEFAULT)
    data["code"] = code
    data["overall"]["label"]["vi"] = NEW_QUESTION
    return data


@pytest.fixture
def other_worker(database_url, tmp_path):
    """A second app on the same database, as another gunicorn worker or server would be."""
    other = build_app(database_url, tmp_path / "other")
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_version_is_read_from_the_database_once(app, statements):  # noqa: F811
    with app.app_context():
        first = questionnaire.active()
        statements.clear()
        assert questionnaire.by_id(first.id) is first
        assert statements == []  # the definition is not read again
        assert questionnaire.active() is first
        # Which version is active is asked again (another worker may have switched it), but
        # only its id and code: the definition, a few kilobytes of JSON, is not read.
        assert len(statements) == 1 and "definition" not in statements[0]


def test_a_version_switched_by_another_worker_is_served_at_once(app, client, other_worker):
    assert "hài lòng" in client.get("/vi/s/HT-KHAISINH").text
    with app.app_context():
        before = questionnaire.active()  # kept by this worker from now on
    with other_worker.app_context():
        questionnaire.install(new_version())
    with app.app_context():
        now = questionnaire.active()
        assert (now.code, now.id != before.id) == ("sipas-2025", True)
        assert questionnaire.by_id(before.id).code == before.code  # older answers keep theirs
    # The citizen's next page asks the new version's question.
    assert NEW_QUESTION in client.get("/vi/s/HT-KHAISINH").text
    with other_worker.app_context():
        questionnaire.install(questionnaire.load_file(DEFAULT))  # switched back: seen too
    assert NEW_QUESTION not in client.get("/vi/s/HT-KHAISINH").text


def test_the_shared_version_cannot_be_changed_by_a_page(app):
    """Every page of a worker shares one copy: a caller that changed it would change what
    every later citizen and dashboard sees."""
    with app.app_context():
        q = questionnaire.active()
        with pytest.raises(TypeError):
            q.data["overall"]["label"]["vi"] = "Sửa nhầm"
        with pytest.raises(TypeError):
            q.data["elements"][0]["criteria"][0] = {}
        with pytest.raises(AttributeError):
            q.elements[0]["criteria"].append({"code": "X"})
        with pytest.raises(TypeError):
            q.criteria["X"] = "Y"
        q.expectation_codes.append("X")  # a list of the caller's own
        assert "X" not in questionnaire.by_id(q.id).expectation_codes
        assert questionnaire.by_id(q.id).data["overall"]["label"]["vi"] != "Sửa nhầm"
        # What the API sends is built from it, and still plain JSON.
        assert json.loads(json.dumps(questionnaire.localized(q, "en")))["code"] == q.code


def write(tmp_path, data: dict) -> str:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return str(path)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["elements"][0]["criteria"].pop(),  # a criterion less
        lambda d: d["expectations"][0].update(code="EXX"),  # another code
        lambda d: d["elements"].reverse(),  # another order
        lambda d: d["overall"].update(code="OV2"),
    ],
)
def test_the_questions_and_scales_of_a_stored_version_never_change(app, runner, tmp_path, change):
    changed = questionnaire.load_file(DEFAULT)
    change(changed)
    result = runner.invoke(args=["questionnaire", "load", write(tmp_path, changed)])
    assert result.exit_code != 0 and "a code of its own" in result.output
    same = runner.invoke(args=["questionnaire", "load", str(DEFAULT)])
    assert same.exit_code == 0, same.output  # loading the same content again is fine
    with app.app_context():
        stored = db.session.scalars(select(QuestionnaireVersion.definition)).one()
        assert stored == questionnaire.load_file(DEFAULT)


def test_wording_is_corrected_in_place_and_the_answers_keep_their_meaning(app, runner, tmp_path):
    """DESIGN.md §3: labels may be corrected in place (answers are codes, figures stay)."""
    corrected = questionnaire.load_file(DEFAULT)
    corrected["overall"]["label"]["vi"] = NEW_QUESTION
    corrected["expectation_scale"][1]["label"]["vi"] = "Ít mong muốn (sửa)"
    with app.app_context():
        q = questionnaire.active()
        assert q.data["overall"]["label"]["vi"] != NEW_QUESTION  # read and kept by this app
    result = runner.invoke(args=["questionnaire", "load", write(tmp_path, corrected)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 1
        now = questionnaire.active()
        assert now.id == q.id and now.data["overall"]["label"]["vi"] == NEW_QUESTION
        scale = questionnaire.localized(now, "vi")["expectation_scale"]
        assert [s["value"] for s in scale] == [1, 2, 3, 4] and scale[1]["label"].endswith("(sửa)")


def test_serve_brings_the_default_versions_wording_up_to_date(app):
    """An instance that installed the bundled questionnaire before a correction gets it."""
    with app.app_context():
        version = db.session.scalars(select(QuestionnaireVersion)).one()
        old = questionnaire.load_file(DEFAULT)
        old["expectation_scale"][1]["label"]["vi"] = "Khá mong muốn"
        version.definition = old
        db.session.commit()
        questionnaire.ensure_default()
        stored = db.session.scalars(select(QuestionnaireVersion.definition)).one()
        assert stored["expectation_scale"][1]["label"]["vi"] == "Ít mong muốn"

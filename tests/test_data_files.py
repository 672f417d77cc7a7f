"""The questionnaire and catalogue files, their loaders and the commands that use them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from survey import catalogue, questionnaire
from survey.extensions import db
from survey.models import QuestionnaireVersion, Service, Unit


def test_bundled_questionnaire_is_complete():
    data = questionnaire.load_file(questionnaire.DATA_DIR / "sipas-2024.json")
    assert [len(e["criteria"]) for e in data["elements"]] == [3, 4, 3, 3, 3]
    assert [e["code"] for e in data["elements"]] == ["TC", "TT", "CC", "KQ", "PA"]
    assert len(data["expectations"]) == 10 and data["overall"]["code"] == "OV"
    assert data["elements"][0]["criteria"][0]["label"]["vi"].startswith("Nơi tiếp nhận")


def _broken(tmp_path, change) -> str:
    data = json.loads((questionnaire.DATA_DIR / "sipas-2024.json").read_text("utf-8"))
    change(data)
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d["elements"][1]["criteria"][0].update(code="TC1"),
            "the code 'TC1' is used twice",
        ),
        (
            lambda d: d["elements"][0]["criteria"][2]["label"].pop("km"),
            "TC3: the label has no text in 'km'",
        ),
        (
            lambda d: d["expectations"][0]["label"].update(en=" "),
            "EX1: the label has no text in 'en'",
        ),
        (lambda d: d.pop("scale"), "missing section 'scale'"),
        (lambda d: d["scale"].pop(), "the values 1 to 5"),
        (  # the rollups keep 40 scored questions' counts per version
            lambda d: d["expectations"].extend(
                {**d["expectations"][0], "code": f"EXX{n}"} for n in range(14)
            ),
            "41 scored questions, the overall question, 16 criteria and 24 expectations: "
            "at most 40",
        ),
    ],
)
def test_bad_questionnaire_is_refused_with_the_reason(app, runner, tmp_path, change, reason):
    path = _broken(tmp_path, change)
    with pytest.raises(questionnaire.QuestionnaireError, match=reason):
        questionnaire.load_file(path)
    result = runner.invoke(args=["questionnaire", "load", path])
    assert result.exit_code != 0 and reason in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 1


def test_questionnaire_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "q.json"
    path.write_text('{\n  "code": "x",\n  oops\n}', "utf-8")
    with pytest.raises(questionnaire.QuestionnaireError, match="line 3"):
        questionnaire.load_file(path)


def test_demo_catalogue_is_realistic(app):
    with app.app_context():
        db.session.execute(Service.__table__.delete())
        rows = catalogue.ensure_demo()
        services = list(db.session.scalars(select(Service)))
        units = list(db.session.scalars(select(Unit)))
    assert rows > 100
    assert sum(s.active for s in services) >= 40
    assert (
        any(u.parent_id is None for u in units) and sum(u.parent_id is not None for u in units) >= 5
    )
    assert all(s.name_vi and s.name_en and s.name_km for s in services)
    assert all(catalogue.NATIONAL_RE.match(s.national_code) for s in services if s.national_code)


def test_catalogue_import_adds_and_updates(app, runner, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        ",".join(catalogue.HEADER) + "\n"
        "field,DATDAI,,Đất đai,Land,ដីធ្លី,,,,\n"
        "service,DD-BIENDONG,,Đăng ký biến động đất đai,Land change,,,DATDAI,STP,1\n"
        "service,HT-KETHON,,Đăng ký kết hôn (sửa),Marriage,,,HOTICH,UBNDXA,0\n",
        "utf-8",
    )
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 rows" in result.output
    with app.app_context():
        kethon = db.session.scalar(select(Service).filter_by(code="HT-KETHON"))
        assert (kethon.name_vi, kethon.active) == ("Đăng ký kết hôn (sửa)", False)
        assert (
            db.session.scalar(select(Service).filter_by(code="DD-BIENDONG")).field.code == "DATDAI"
        )


def test_catalogue_with_a_bad_line_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        ",".join(catalogue.HEADER) + "\n"
        "field,DATDAI,,Đất đai,Land,ដីធ្លី,,,,\n"
        "service,DD-1,,Một,One,,,DATDAI,NOAGENCY,1\n"
        "service,DD-2,,Hai,Two,,12345,DATDAI,STP,1\n"
        "thing,X,,X,X,X,,,,\n"
        "service,DD-3,,,Three,,,DATDAI,STP,1\n",
        "utf-8",
    )
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 1
    for expected in (
        "nothing imported",
        "line 3: unknown agency 'NOAGENCY'",
        "line 4: national_code '12345'",
        "line 5: unknown kind 'thing'",
        "line 6: name_vi is empty",
    ):
        assert expected in result.output
    with app.app_context():
        assert db.session.scalar(select(Service).filter_by(code="DD-3")) is None
        assert not db.session.scalar(
            select(func.count()).select_from(Service).filter(Service.field.has(code="DATDAI"))
        )


def test_catalogue_header_and_encoding_are_checked(app):
    with pytest.raises(catalogue.CatalogueError, match="line 1: the header"):
        catalogue.import_csv("code,name\nA,B\n")
    with pytest.raises(catalogue.CatalogueError, match="not UTF-8"):
        catalogue.import_csv(",".join(catalogue.HEADER).encode() + b"\nfield,X,,\xe1,,,,,,\n")

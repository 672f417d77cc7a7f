"""How the package is put together: the app never loads the screenshot tooling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh interpreter where Playwright (the test extra) cannot be imported.
NO_PLAYWRIGHT = "import sys; sys.modules['playwright'] = None\n"


def _python(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(tmp_path), "SURVEY_SECRET_KEY": "x" * 32}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )


def test_the_app_never_imports_the_screenshot_tooling(tmp_path):
    done = _python(
        "import sys, survey\n"
        "survey.create_app()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('playwright', 'survey.screens'))))",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_command_works_without_the_test_extra(tmp_path):
    main = "from survey.cli import main\nsys.argv = ['survey', *sys.argv[1:]]\nmain()"
    helped = _python(NO_PLAYWRIGHT + "sys.argv[1:] = ['--help']\n" + main, tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "screens" in helped.stdout and "create-user" in helped.stdout
    shots = _python(
        NO_PLAYWRIGHT + "sys.argv[1:] = ['screens', '--out', 'shots']\n" + main, tmp_path
    )
    assert shots.returncode == 1 and "Traceback" not in shots.stderr
    assert "Error: Screenshots need Playwright, part of the test extra" in shots.stderr
    assert not (tmp_path / "shots").exists()


def test_one_page_skeleton_for_citizen_and_manager_pages(app, client):
    """Both page families extend one skeleton, so skip link, <head> and <main> are written once."""
    templates = Path(__file__).resolve().parent.parent / "templates"
    documents = {
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if "<!doctype html>" in path.read_text().lower()
    }
    # The poster, the printed report and the blank paper form are documents of their own,
    # printed by WeasyPrint; an e-mail's HTML part is one too.
    assert documents == {
        "skeleton.html",
        "posters/poster.html",
        "admin/report/print.html",
        "admin/paper/sheet.html",
        "mail/layout.html",
    }
    citizen, manager = client.get("/vi/").text, client.get("/admin/login").text
    for page in (citizen, manager):
        assert page.count('class="skip-link" href="#main"') == 1
        assert page.count('<main id="main"') == 1


def test_postgresql_sessions_plan_without_jit(app):
    """A summary's plan passes PostgreSQL's JIT cost threshold; compiling it would take longer
    than running it, so the app's connections turn JIT off (SQLite has none)."""
    from sqlalchemy import text

    from survey.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite has no JIT")
        assert db.session.execute(text("SHOW jit")).scalar() == "off"

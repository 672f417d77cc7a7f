"""The README's two commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    command = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"  # noqa: E501
    assert command in readme and command in ci
    assert "pip install . && .venv/bin/survey serve" in readme


def test_the_wheel_lists_every_package_and_resource_folder():
    """`pip install .` (not only an editable install) must carry every module and folder."""
    import tomllib

    packages = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    on_disk = {
        ".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "survey").rglob("__init__.py")
    }
    assert on_disk <= packages, sorted(on_disk - packages)
    assert {
        "survey.templates",
        "survey.translations",
        "survey.migrations",
        "survey.migrations.versions",
        "survey.static",
        "survey.data",
    } <= packages

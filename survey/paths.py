"""Where the app finds its templates, translations and migrations.

In the repository they sit at the top level beside the package; an installed wheel carries
them inside the package (see pyproject.toml). The first folder that exists wins.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder `name` (templates, translations, migrations) of this installation."""
    inside = PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    return PACKAGE_DIR.parent / name

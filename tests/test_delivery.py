"""Static files and API documents: fingerprinted names, caching, gzip; HTML never compressed."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

from survey import delivery

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
STATIC = Path(delivery.__file__).parent / "static"


def fingerprinted(client, name: str) -> str:
    """The URL the question page links for the static file `name`."""
    page = client.get("/vi/s/HT-KHAISINH").text
    stem, suffix = name.rsplit(".", 1)
    return re.search(rf'"(/static/{stem}\.[0-9a-f]{{10}}\.{suffix})"', page)[1]


def test_pages_link_fingerprinted_static_files_cached_for_a_year(client):
    url = fingerprinted(client, "survey.css")
    reply = client.get(url)
    assert reply.status_code == 200 and reply.mimetype == "text/css"
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert reply.data == (STATIC / "survey.css").read_bytes()


def test_the_plain_name_still_works_with_a_short_cache(client):
    reply = client.get("/static/survey.css")
    assert reply.status_code == 200 and reply.data == (STATIC / "survey.css").read_bytes()
    assert reply.headers["Cache-Control"] == "public, max-age=300"
    # An earlier content's fingerprint (a page from before an upgrade) gets today's file, briefly.
    stale = client.get("/static/survey.0123456789.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/static/nothing.0123456789.css").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404


def test_static_text_is_gzipped_only_when_accepted(client):
    for name in ("survey.css", "kiosk.js", "favicon.svg"):
        packed = client.get(f"/static/{name}", headers=GZIP)
        assert packed.headers["Content-Encoding"] == "gzip", name
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert gzip.decompress(packed.data) == (STATIC / name).read_bytes()
        plain = client.get(f"/static/{name}")
        assert "Content-Encoding" not in plain.headers
        assert "Accept-Encoding" in plain.headers["Vary"]
        refused = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in refused.headers
        assert packed.headers["ETag"] != plain.headers["ETag"]  # one per representation
    font = client.get("/static/fonts/noto-sans-vi-Regular.woff2", headers=GZIP)
    assert "Content-Encoding" not in font.headers  # woff2 is compressed already


def test_conditional_requests_answer_304_per_representation(client):
    for headers in ({}, GZIP):
        first = client.get("/static/survey.css", headers=headers)
        again = client.get(
            "/static/survey.css", headers={**headers, "If-None-Match": first.headers["ETag"]}
        )
        assert again.status_code == 304 and again.data == b""
    plain_etag = client.get("/static/survey.css").headers["ETag"]
    crossed = client.get("/static/survey.css", headers={**GZIP, "If-None-Match": plain_etag})
    assert crossed.status_code == 200 and crossed.headers["Content-Encoding"] == "gzip"


def test_json_is_gzipped_when_accepted(client):
    packed = client.get("/api/v1/questionnaire", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    plain = client.get("/api/v1/questionnaire")
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data


def test_a_page_with_a_csrf_token_is_never_compressed(app):
    app.config["WTF_CSRF_ENABLED"] = True
    reply = app.test_client().get("/vi/s/HT-KHAISINH", headers=GZIP)
    assert reply.status_code == 200 and 'name="csrf_token"' in reply.text
    assert "Content-Encoding" not in reply.headers


def test_a_changed_file_gets_a_new_name(tmp_path):
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    before = delivery.Assets(folder).fingerprinted("survey.css")
    assert delivery.Assets(folder).fingerprinted("survey.css") == before  # same content, same name
    with (folder / "survey.css").open("a") as css:
        css.write("\n.new { color: red; }\n")
    after = delivery.Assets(folder).fingerprinted("survey.css")
    assert after != before and re.fullmatch(r"survey\.[0-9a-f]{10}\.css", after)
    assert delivery.Assets(folder).fingerprinted("fonts/OFL.txt").startswith("fonts/OFL.")

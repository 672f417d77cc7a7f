"""How static files and API documents leave the server: fingerprinted names, caching, gzip.

At start-up every file of the static folder is read once: its content hash gives it a
fingerprinted name (`survey.css` → `survey.3f2a9c0b1d.css`), and the text formats (CSS, JS, SVG)
are gzipped once, so that no request pays for compression. A fingerprinted URL names one
content for ever and is cached for a year (`immutable`); the plain name keeps working with a
short cache, for the kiosk's service worker and for pages rendered before an upgrade.

JSON answers of the API are gzipped per request when the client accepts it. HTML pages are
never compressed: most carry a CSRF token beside text a visitor chose (BREACH, docs/SECURITY.md).
Brotli would need a compiled package; gzip alone takes the CSS and JS to about a quarter.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, abort, current_app, request, url_for

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".webmanifest"}
JSON_MIN_BYTES = 1024  # below a packet, gzip saves nothing worth the CPU
FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class Asset:
    """One static file as read at start-up: its bytes, their gzip, and its names."""

    name: str
    fingerprinted: str
    body: bytes
    gzipped: bytes | None
    etag: str
    modified: datetime
    mimetype: str


def read_asset(folder: Path, path: Path) -> Asset:
    """Read one file of the static folder, hash it, and gzip it when that helps."""
    name = path.relative_to(folder).as_posix()
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:10]
    stem, dot, suffix = name.rpartition(".")
    fingerprinted = f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{name}.{digest}"
    gzipped = None
    if path.suffix in COMPRESSIBLE:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    modified = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
    return Asset(name, fingerprinted, body, gzipped, digest, modified, mimetype)


class Assets:
    """Every file of a static folder, by plain and by fingerprinted name."""

    def __init__(self, folder: str | Path | None):
        self.by_name: dict[str, Asset] = {}
        root = Path(folder) if folder else None
        if root and root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    asset = read_asset(root, path)
                    self.by_name[asset.name] = asset
        self.by_fingerprint = {asset.fingerprinted: asset for asset in self.by_name.values()}

    def fingerprinted(self, name: str) -> str:
        """The fingerprinted name of `name`, or `name` itself for a file not in the folder."""
        asset = self.by_name.get(name)
        return asset.fingerprinted if asset else name

    def find(self, filename: str) -> tuple[Asset | None, bool]:
        """The asset a URL names, and whether the URL is its current fingerprinted name.

        A fingerprint of an earlier content (a page rendered before an upgrade) still gets the
        file, with the short cache: never a year-long promise for bytes the name did not hash.
        """
        if filename in self.by_name:
            return self.by_name[filename], False
        if filename in self.by_fingerprint:
            return self.by_fingerprint[filename], True
        match = FINGERPRINTED.match(filename)
        if match:
            return self.by_name.get(match["stem"] + match["suffix"]), False
        return None, False


def accepts_gzip() -> bool:
    """Whether this request's Accept-Encoding allows gzip (a q=0 refuses it)."""
    return request.accept_encodings["gzip"] > 0


def serve_static(filename: str) -> Response:
    """The static view: the file from memory, gzipped when accepted, with its cache policy."""
    asset, current = current_app.extensions["delivery"].find(filename)
    if asset is None:
        abort(404)
    packed = asset.gzipped is not None and accepts_gzip()
    response = Response(asset.gzipped if packed else asset.body, mimetype=asset.mimetype)
    if packed:
        response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    # One ETag per representation: a cache must not answer a gzip client with the plain bytes.
    response.set_etag(asset.etag + ("-gz" if packed else ""))
    response.last_modified = asset.modified
    response.headers["Cache-Control"] = IMMUTABLE if current else SHORT
    return response.make_conditional(request, accept_ranges=True)


def compress_json(response: Response) -> Response:
    """Gzip a JSON answer of a fair size for a client that accepts it (never HTML: BREACH)."""
    if response.mimetype != "application/json" or response.direct_passthrough:
        return response
    response.vary.add("Accept-Encoding")
    body = response.get_data()
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or len(body) < JSON_MIN_BYTES
        or not accepts_gzip()
    ):
        return response
    response.set_data(gzip.compress(body, compresslevel=5, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:
        response.set_etag(etag + "-gz", weak=weak)
    return response


def static_url(filename: str, **values) -> str:
    """The URL of a static file under its fingerprinted name (a Jinja global)."""
    name = current_app.extensions["delivery"].fingerprinted(filename)
    return url_for("static", filename=name, **values)


def init_app(app: Flask) -> None:
    """Read the static folder once, serve it from memory, and gzip the API's JSON."""
    app.extensions["delivery"] = Assets(app.static_folder)
    app.view_functions["static"] = serve_static
    app.after_request(compress_json)
    app.jinja_env.globals["static_url"] = static_url

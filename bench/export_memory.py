"""Peak memory of `survey export` at 200,000 responses, and the files read back.

    python bench/export_memory.py [--responses 200000] [--points 100]
                                  [--server postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

On a PostgreSQL database created for the run (and dropped after): `survey seed-demo` loads the
synthetic province (two years of ratings, 10% with a comment) and one comment is set to `=1+1`.
Then each export runs as a process of its own, over every day of the demo (`--from 2000-01-01
--to 2099-12-31`), and its peak RSS is read from os.wait4: the responses and the comments as
CSV and XLSX, and the summary tables. Baseline: the same command for the summary (a few hundred
rows), so the figure of a big export reads as "what the rows add". Each file is read back
(csv; openpyxl in read-only mode): its row count against the database's, a Vietnamese
diacritic, the decimal comma, and the `=1+1` comment as text.

Then the same through the API of `survey serve` (gunicorn, one sync worker, its 60 s timeout):
GET /api/v1/export/responses.csv and .xlsx with an administrator's token, the body written to
a file as it arrives; the worker's peak RSS (VmHWM) after a small export, then after each big
one. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import SURVEY, Server, free_port  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EVERY_DAY = ["--from", "2000-01-01", "--to", "2099-12-31"]
FORMULA = "=1+1"
VIETNAMESE = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def vietnamese(values) -> bool:
    """Whether a text among `values` has a letter only Vietnamese writes (ư, đ, ệ…)."""
    return any(isinstance(v, str) and not VIETNAMESE.isdisjoint(v.lower()) for v in values)


def run(env: dict, *args: str) -> tuple[str, float, float]:
    """A `survey` command: its output, seconds, and the peak RSS (MB) of that process alone."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen([*SURVEY, *args], env=env, stdout=out, stderr=out, text=True)
        _pid, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        output = out.read()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"survey {' '.join(args)} failed:\n{output}")
    return output, time.perf_counter() - started, usage.ru_maxrss / 1024


def counts(engine) -> dict[str, int]:
    """What the exports should hold: every response, and the counted comments."""
    with engine.connect() as conn:
        return {
            "responses": conn.execute(text("SELECT count(*) FROM response")).scalar(),
            "comments": conn.execute(
                text(
                    "SELECT count(*) FROM response "
                    "WHERE comment IS NOT NULL AND flag_reason IS NULL"
                )
            ).scalar(),
        }


def plant_formula(engine) -> None:
    """One counted comment becomes `=1+1` (a formula if a spreadsheet took it as one)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE response SET comment = :c WHERE id = (SELECT min(id) FROM response "
                "WHERE comment IS NOT NULL AND flag_reason IS NULL)"
            ),
            {"c": FORMULA},
        )


def read_csv(path: Path) -> dict:
    """Rows (without the header), a diacritic, a decimal comma, the formula as text."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter=";")
        header = next(rows)
        found = {"rows": 0, "diacritic": False, "formula_as_text": None}
        for row in rows:
            found["rows"] += 1
            found["diacritic"] = found["diacritic"] or vietnamese(row)
            if FORMULA in row or "'" + FORMULA in row:
                found["formula_as_text"] = "'" + FORMULA in row
    found["header"] = header[:4]
    return found


def read_summary_csv(path: Path) -> dict:
    """Lines, and the overall index as written (a decimal comma in Vietnamese)."""
    text_ = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_), delimiter=";"))
    overall = dict(zip(rows[1], rows[2], strict=False))
    index = next(v for k, v in overall.items() if "(%)" in k)
    return {"rows": len(rows), "overall index cell": index, "decimal_comma": "," in index}


def read_xlsx(path: Path) -> dict:
    """Rows of the first sheet, number cells, a diacritic, the formula as a string cell."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book.worksheets[0]
    found = {"rows": -1, "diacritic": False, "numbers": 0, "formula_as_text": None}
    for row in sheet.iter_rows(values_only=True):
        found["rows"] += 1
        found["numbers"] += sum(isinstance(v, int | float) for v in row)
        found["diacritic"] = found["diacritic"] or vietnamese(row)
        if FORMULA in row:
            found["formula_as_text"] = True  # a string cell (a formula reads back as None)
    found["sheets"] = book.sheetnames
    book.close()
    return found


def measure(env: dict, folder: Path, what: str, fmt: str) -> tuple[Path, float, float, str]:
    """One export as a process of its own: its file, seconds, peak RSS and last line."""
    path = folder / f"{what}.{fmt}"
    out, seconds, peak = run(env, "export", what, *EVERY_DAY, "--format", fmt, "-o", str(path))
    return path, seconds, peak, out.strip().splitlines()[-1]


def main() -> None:
    """A fresh database, the demo load, the exports measured, the database dropped."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--server", default=PG_SERVER)
    args = parser.parse_args()
    name = f"survey_bench_export_{uuid.uuid4().hex[:8]}"
    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    folder = Path(tempfile.mkdtemp())
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(folder / "instance"),
           "SURVEY_DATABASE_URL": url}  # fmt: skip
    engine = create_engine(url)
    try:
        seed = ["seed-demo", "--responses", str(args.responses), "--points", str(args.points)]
        _out, seconds, peak = run(env, *seed)
        print(f"survey {' '.join(seed)}: {seconds:.1f} s, peak RSS {peak:.0f} MB")
        plant_formula(engine)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE response, answer"))
        expected = counts(engine)
        print(f"in the database: {expected['responses']} responses, "
              f"{expected['comments']} counted comments")  # fmt: skip
        report(env, folder, expected)
        served(env, folder, expected)
    finally:
        engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def report(env: dict, folder: Path, expected: dict[str, int]) -> None:
    """Each export measured and read back, one line each."""
    print(f"\n{'export':<16} {'seconds':>8} {'peak RSS':>9} {'size':>9}  read back")
    for what, fmt in (
        ("summary", "csv"),
        ("summary", "xlsx"),
        ("responses", "csv"),
        ("responses", "xlsx"),
        ("comments", "csv"),
        ("comments", "xlsx"),
    ):
        path, seconds, peak, said = measure(env, folder, what, fmt)
        if what == "summary":
            found = read_summary_csv(path) if fmt == "csv" else {"sheets": read_sheets(path)}
        else:
            found = read_csv(path) if fmt == "csv" else read_xlsx(path)
            found["expected rows"] = expected[what]
        size = path.stat().st_size / 2**20
        print(f"{what + '.' + fmt:<16} {seconds:8.1f} {peak:6.0f} MB {size:6.1f} MB  {found}")
        print(f"{'':<16} ({said})")


def read_sheets(path: Path) -> list[str]:
    """The sheet names of an XLSX."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    names = book.sheetnames
    book.close()
    return names


def worker_peak(server: Server) -> float:
    """The peak RSS (MB) of the server's one worker so far (VmHWM)."""
    master = server.process.pid  # gunicorn's arbiter: its one child is the worker
    (worker,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    status = Path(f"/proc/{worker}/status").read_text()
    line = next(row for row in status.splitlines() if row.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def download(port: int, token: str, url: str, path: Path) -> float:
    """GET `url` with the token, writing the body as it arrives; the seconds it took."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", url, headers={"Authorization": f"Bearer {token}"})
    reply = conn.getresponse()
    if reply.status != 200:
        raise SystemExit(f"{url}: {reply.status} {reply.read()[:300]!r}")
    with path.open("wb") as out:
        while chunk := reply.read(1 << 16):
            out.write(chunk)
    conn.close()
    return time.perf_counter() - started


def served(env: dict, folder: Path, expected: dict[str, int]) -> None:
    """The API's exports from `survey serve`, with the worker's peak memory."""
    email = "bench-export@bench.vn"
    run(env, "create-user", email, "--role", "admin")
    token = run(env, "api-token", "create", "--user", email)[0].strip().splitlines()[-1]
    port = free_port()
    server = Server(port, env, workers=1, log=folder / "serve.log").start()
    days = "from=2000-01-01&to=2099-12-31"
    try:
        download(port, token, f"/api/v1/export/summary.csv?{days}", folder / "s.csv")
        print(f"\nsurvey serve (1 sync worker): worker peak RSS after the summary export "
              f"{worker_peak(server):.0f} MB")  # fmt: skip
        for fmt in ("csv", "xlsx"):
            path = folder / f"served.{fmt}"
            seconds = download(port, token, f"/api/v1/export/responses.{fmt}?{days}", path)
            found = read_csv(path) if fmt == "csv" else read_xlsx(path)
            print(f"GET /api/v1/export/responses.{fmt}: {seconds:.1f} s, "
                  f"worker peak RSS so far {worker_peak(server):.0f} MB, "
                  f"{found['rows']} rows read back (of {expected['responses']})")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()

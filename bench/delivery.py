"""The citizen's question page against a static file, from the same `survey serve`.

    python bench/delivery.py [--connections 16] [--seconds 5] [--rounds 3] [--profile]

Starts `survey serve` (2 gunicorn workers, SQLite, its own instance folder in a temporary
folder, set up as on a first run), then runs wrk (Debian's `wrk`) on the question page GET
`/vi/s/<service>` and on `/static/survey.css`, one after the other in each round, so that both
see the same machine. Prints each round, then the medians: requests/s, latency p50 and p99, and
the page's throughput as a share of the static file's (the target: at least 0.33). The gzipped
CSS (`Accept-Encoding: gzip`) is measured too, for information. With --profile, the question
page is then asked for in this process as wrk asks (no cookies): its SQL statements are printed,
and the costliest calls of 20 GETs under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from tests.servers import Server, free_port, server_env  # noqa: E402

TARGET = 0.33
LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, connections: int, seconds: int, headers: dict | None = None) -> dict:
    """One wrk run: requests/s, p50 and p99 latency in ms, and non-2xx/3xx answers."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latency = {int(p): float(v) * UNITS[u] for p, v, u in LATENCY.findall(out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50": latency.get(50, float("nan")),
        "p99": latency.get(99, float("nan")),
        "errors": (int(errors[1]) if errors else 0)
        + sum(map(int, failed.groups() if failed else ())),
    }


def a_service(base: str) -> str:
    """The code of the first active procedure the server lists."""
    with urllib.request.urlopen(f"{base}/api/v1/services") as reply:
        found = json.load(reply)
    items = found["services"] if isinstance(found, dict) else found
    return items[0]["code"]


def measure(base: str, targets: dict, args) -> dict[str, list[dict]]:
    """Run every target once per round, in turn, and print each run."""
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for number in range(1, args.rounds + 1):
        for name, (path, headers) in targets.items():
            run = wrk(
                base + path, connections=args.connections, seconds=args.seconds, headers=headers
            )
            runs[name].append(run)
            print(
                f"round {number}  {name:<12} {run['rps']:8.0f} req/s  p50 {run['p50']:7.1f} ms"
                f"  p99 {run['p99']:7.1f} ms  errors {run['errors']}",
                flush=True,
            )
    return runs


def report(runs: dict[str, list[dict]], page: str) -> float:
    """Print the medians and the ratio; return the ratio."""
    print("\nmedians")
    median = {}
    for name, found in runs.items():
        keys = ("rps", "p50", "p99")
        median[name] = {key: statistics.median(r[key] for r in found) for key in keys}
        m = median[name]
        print(f"  {name:<12} {m['rps']:8.0f} req/s  p50 {m['p50']:7.1f} ms  p99 {m['p99']:7.1f} ms")
    ratio = median["page"]["rps"] / max(median["static"]["rps"], 1e-9)
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(
        f"\nquestion page {page} / /static/survey.css throughput: {ratio:.2f}x "
        f"(target >= {TARGET}x: {verdict})"
    )
    return ratio


def profile(folder: Path, path: str) -> None:
    """Render the question page (after a warm-up) under cProfile, as wrk asks for it (no
    cookies); print the SQL statements of one GET and the top calls."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(folder / "instance")
    from sqlalchemy import event  # here: the instance path must be set first

    from survey import create_app
    from survey.extensions import db

    app = create_app()
    client = app.test_client(use_cookies=False)
    client.get(path)
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client.get(path)
    print(f"\nSQL statements of one GET {path}: {len(statements)}")
    for statement in statements:
        print("  " + " ".join(statement.split()))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        client.get(path)
    profiler.disable()
    print(f"\ncProfile of 20 GETs {path} in one process (cumulative):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    folder = Path(tempfile.mkdtemp(prefix="delivery-"))
    port = free_port()
    env = server_env(folder, SURVEY_PUBLIC_URL=f"http://127.0.0.1:{port}")
    # Its log in a file: a pipe nobody reads would fill up with access lines and stall it.
    server = Server(port, env, workers=2, log=folder / "server.log").start()
    try:
        page = f"/vi/s/{a_service(server.base)}"
        targets = {
            "page": (page, None),
            "static": ("/static/survey.css", None),
            "static gzip": ("/static/survey.css", {"Accept-Encoding": "gzip"}),
        }
        print(
            f"survey serve, 2 workers, {args.connections} connections, "
            f"{args.seconds} s per run, {args.rounds} rounds interleaved\n",
            flush=True,
        )
        report(measure(server.base, targets, args), page)
    finally:
        server.stop()
    if args.profile:
        profile(folder, page)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

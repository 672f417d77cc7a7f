"""CPU per kind of process while bench/write_speed.py runs: `python bench/cpu_split.py &`, then
the bench, then `kill %1` (SIGTERM): it prints the CPU seconds of each kind (the app's gunicorn
workers, the floor's, PostgreSQL's backends, the load generator, Redis) during the kiosk's
rounds and during the floor's. Each 0.25 s interval counts toward the app whose workers used
more CPU in it. Divide by the ratings of each phase (the bench prints them) for CPU per rating.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter

TICK = os.sysconf("SC_CLK_TCK")
KINDS = (  # the first match of a process's command line names its kind
    ("postgres:", "postgresql"),
    ("write_speed:floor", "floor"),
    ("bench/write_speed.py", "load generator"),
    ("survey.cli", "app"),
    ("redis", "redis"),
)


def _kind(command: str) -> str | None:
    return next((kind for part, kind in KINDS if part in command), None)


def sample() -> dict[str, tuple[str, float]]:
    """{pid: (kind, CPU seconds so far)} of the processes of a known kind."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                kind = _kind(handle.read().replace(b"\0", b" ").decode(errors="replace"))
            if kind:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                found[pid] = (kind, (int(fields[11]) + int(fields[12])) / TICK)
        except OSError:
            continue  # the process ended
    return found


def main() -> None:
    phases = {"kiosk": Counter(), "floor": Counter()}

    def report(*_args) -> None:
        for phase, spent in phases.items():
            print(phase, {kind: round(seconds, 1) for kind, seconds in spent.items()}, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    before = sample()
    while True:
        time.sleep(0.25)
        now = sample()
        spent = Counter()
        for pid, (kind, seconds) in now.items():
            spent[kind] += seconds - before.get(pid, (kind, seconds))[1]
        before = now
        if spent["app"] > max(spent["floor"], 0.02):
            phases["kiosk"].update(spent)
        elif spent["floor"] > 0.02:
            phases["floor"].update(spent)


if __name__ == "__main__":
    main()

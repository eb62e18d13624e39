#!/usr/bin/env python3
"""Run the whole pytest suite as two processes side by side, then the latency-asserting
hostile suite alone (`make unit` calls this).

Most of the slow suites (browser, k6, faults, supervised workers, wheel install) spend
their time waiting on servers they start, so two pytest processes on a 2-core machine
finish in a little over half the serial time. Each process already gets its own
database and Redis key prefix from tests/conftest.py, so they cannot see each other.

Without DATABASE_URL / REDIS_URL the embedded PostgreSQL and Valkey are started once
here and shared by both processes (two processes must not start them in one folder).

Extra arguments go to both pytest processes; with arguments that name tests
(`make unit PYTEST_ARGS=tests/orders`), a single process runs them instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Balanced by measured duration: the server-starting suites on one side, the rest on the other.
SLOW = ["tests/e2e", "tests/k6", "tests/faults", "tests/scale", "tests/packaging", "tests/fuzz",
        "tests/plugins_guide", "tests/webhooks"]
# Runs afterwards, alone: it asserts server time and /healthz latency, which a second pytest
# process on the same two cores would distort.
ALONE = ["tests/hostile"]


def names_tests(args: list[str]) -> bool:
    return any(a.startswith("tests") or "::" in a for a in args)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from kernel.storage.embedded import EmbeddedServices

    env = dict(os.environ)
    emb = EmbeddedServices(ROOT / ".shop-data" / "test")
    need_db, need_redis = not env.get("DATABASE_URL"), not env.get("REDIS_URL")
    if need_db or need_redis:
        emb.start(need_db, need_redis)
        env["DATABASE_URL"] = env.get("DATABASE_URL") or emb.database_url or ""
        env["REDIS_URL"] = env.get("REDIS_URL") or emb.redis_url or ""
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    try:
        with tempfile.TemporaryDirectory(prefix="shop-tests-") as tmp:
            if names_tests(argv):
                return subprocess.call([*pytest, f"--basetemp={tmp}/one", *argv], cwd=ROOT, env=env)
            rest = [f"--ignore={p}" for p in SLOW + ALONE]
            groups = {"slow suites": SLOW, "the rest": rest}
            procs = {}
            started = time.monotonic()
            for i, (name, paths) in enumerate(groups.items()):
                log = open(Path(tmp) / f"group{i}.log", "w+b")  # closed below, once its output is printed
                cmd = [*pytest, f"--basetemp={tmp}/group{i}", "--durations=15", *argv, *paths]
                procs[name] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log)
            failed = []
            for name, (proc, log) in procs.items():
                code = proc.wait()
                log.seek(0)
                sys.stdout.write(f"\n===== pytest: {name} (exit {code}) =====\n")
                sys.stdout.flush()
                sys.stdout.buffer.write(log.read())
                sys.stdout.flush()
                log.close()
                if code != 0:
                    failed.append(name)
            sys.stdout.write(f"\n===== pytest: {', '.join(ALONE)} (alone: it measures latency) =====\n")
            sys.stdout.flush()
            if subprocess.call([*pytest, f"--basetemp={tmp}/alone", *argv, *ALONE], cwd=ROOT, env=env) != 0:
                failed.append(", ".join(ALONE))
            took = time.monotonic() - started
            print(f"\n===== {len(procs) + 1} pytest processes in {took:.0f} s; "
                  f"{'failed: ' + ', '.join(failed) if failed else 'all passed'} =====")
            return 1 if failed else 0
    finally:
        emb.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Two builds of the shop side by side, interleaved, for CPU per request on a loaded machine.

scripts/bench.py measures one build at a time; on a machine shared with other work the
load changes between two such runs, and CPU time per request grows with it (shared
caches and cores). Here the builds and the bare baseline take turns on the same
scenario, rep after rep, so they see the same load.

Usage: python scripts/bench/ab_cpu.py SCENARIOS.json NAME=URL_BASE [NAME=URL_BASE ...]

SCENARIOS.json: [{"name": ..., "path": "/api/...", "body": null | {...}}, ...]. Every
server must be running already (pinned to core 0 as METHOD.md says) and serve the same
data; its pid is found from its port. A baseline server per scenario is started here,
serving the bytes the first build returned. Prints a Markdown table of medians.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
REPS = int(os.environ.get("REPS", "3"))
DURATION = os.environ.get("DURATION", "5s")


def pid_on_port(port: int) -> int:
    """The pid listening on this TCP port (from /proc/net/tcp and each process's fds)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port and f[3] == "0A":
            inode = f[9]
    if inode is None:
        raise RuntimeError(f"nothing listens on {port}")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(d.name)
        except OSError:
            continue
    raise RuntimeError(f"no process owns port {port}")


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def k6(url: str, body_file: str | None, duration: str) -> dict[str, Any]:
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = {**os.environ, "URL": url, "VUS": "32", "DURATION": duration, "K6_NO_USAGE_REPORT": "true"}
    if body_file:
        env["BODY_FILE"] = body_file
    cmd = (["taskset", "-c", "1"] if shutil.which("taskset") else []) + [
        str(BIN / "k6"), "run", "--quiet", "--summary-export", out, str(HERE / "load.js")]
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    m = json.loads(Path(out).read_text())["metrics"]
    os.unlink(out)
    checks = m.get("checks", {})
    return {"rps": m["http_reqs"]["rate"], "count": m["http_reqs"]["count"], "p99": m["http_req_duration"]["p(99)"],
            "ok": checks.get("fails", 1) == 0}


def measure(url: str, body_file: str | None, pid: int) -> dict[str, Any]:
    k6(url, body_file, "1s")  # warm
    c0 = cpu_ms(pid)
    r = k6(url, body_file, DURATION)
    r["cpu_us"] = (cpu_ms(pid) - c0) * 1000 / max(1, r["count"])
    return r


def main() -> int:
    scenarios = json.loads(Path(sys.argv[1]).read_text())
    builds = [arg.split("=", 1) for arg in sys.argv[2:]]
    pids = {name: pid_on_port(int(base.rsplit(":", 1)[1])) for name, base in builds}
    rows = []
    for sc in scenarios:
        body = json.dumps(sc["body"]).encode() if sc.get("body") is not None else None
        body_file = None
        if body is not None:
            body_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
            Path(body_file).write_bytes(body)
        req = urllib.request.Request(builds[0][1] + sc["path"], data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            answer = resp.read()
        ans_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        Path(ans_file).write_bytes(answer)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base_proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, str(HERE / "baseline_server.py"),
                                      str(port), ans_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        arms = [*builds, ("baseline", f"http://127.0.0.1:{port}")]
        all_pids = {**pids, "baseline": base_proc.pid}
        got: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in arms}
        try:
            for _ in range(REPS):
                for name, base in arms:
                    got[name].append(measure(base + sc["path"], body_file, all_pids[name]))
        finally:
            base_proc.terminate()
            base_proc.wait()
        med = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us", "p99")}
               for name, rs in got.items()}
        ok = all(r["ok"] for rs in got.values() for r in rs)
        cells = " | ".join(f"{med[n]['rps']:.0f} | {med[n]['cpu_us']:.0f} | {med[n]['rps'] / med['baseline']['rps']:.2f}"
                           for n, _ in builds)
        rows.append(f"| {sc['name']} | {cells} | {med['baseline']['rps']:.0f} | {med['baseline']['cpu_us']:.0f} |"
                    f" {'yes' if ok else 'NO'} |")
        print(rows[-1], flush=True)
    head = " | ".join(f"{n} req/s | {n} CPU us/req | {n} ratio" for n, _ in builds)
    print(f"\n| scenario | {head} | baseline req/s | baseline CPU us/req | all checks passed |")
    print("| --- | " + " | ".join("--- | --- | ---" for _ in builds) + " | --- | --- | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

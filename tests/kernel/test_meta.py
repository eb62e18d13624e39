"""Meta-tests: documentation and mappings that must stay in step with the code."""

from __future__ import annotations

import inspect
from pathlib import Path

from kernel.core.status import HTTP_STATUS, TITLES, BusError, Status
from kernel.host import hookspecs
from kernel.web.graphql import error_dict

ROOT = Path(__file__).resolve().parents[2]


def hook_signatures() -> dict[str, str]:
    return {name: name + str(inspect.signature(fn)).replace("'", "")
            for name, fn in vars(hookspecs).items() if name.startswith("shop_") and callable(fn)}


def test_every_hook_is_documented_with_its_exact_signature():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    missing = [sig for sig in hook_signatures().values() if f"### `{sig}`" not in doc]
    assert not missing, f"docs/plugins.md lacks a section for: {missing}"


def test_every_documented_hook_exists():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    documented = {line.split("`")[1].split("(")[0] for line in doc.splitlines() if line.startswith("### `shop_")}
    assert documented == set(hook_signatures())


def test_every_status_has_an_http_and_graphql_mapping():
    for status in Status:
        assert status in HTTP_STATUS and status in TITLES
        assert error_dict(BusError(status, "x"))["extensions"]["code"] == status.name
    assert HTTP_STATUS[Status.FAILED_PRECONDITION] == 409 and HTTP_STATUS[Status.RESOURCE_EXHAUSTED] == 429

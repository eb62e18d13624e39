"""axe-core in the browser tests: 0 critical and 0 serious violations on every page it is run on.

axe.min.js is the npm package `axe-core` (MPL-2.0, licence beside it in vendor/), committed so the
suite needs no network. It is evaluated through the DevTools protocol (not a <script> tag), so the
shop's strict CSP (script-src 'self') stays on while it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Frame, Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
_source: str | None = None
BLOCKING = ("critical", "serious")


def violations(page: Page | Frame) -> list[dict[str, Any]]:
    """axe's critical and serious violations on the page (or inside one frame of it) as it is now."""
    global _source
    if _source is None:
        _source = AXE.read_text(encoding="utf-8")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source)
    found: list[dict[str, Any]] = page.evaluate("""async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || '')) }));
    }""")
    return [v for v in found if v["impact"] in BLOCKING]


def card_frame(page: Page) -> Frame:
    """The payment provider's card frame (card-frame.html) inside the shop's pay step."""
    page.frame_locator("[data-testid=card-frame]").get_by_label("Card number").wait_for()
    frame = next((f for f in page.frames if "card-frame.html" in f.url), None)
    assert frame is not None, [f.url for f in page.frames]
    return frame


def assert_frame_accessible(page: Page, where: str) -> None:
    """axe-core inside the provider's card frame: its own document, its own rules run."""
    assert_accessible(card_frame(page), f"{where} (inside the card frame)")


def assert_accessible(page: Page | Frame, where: str) -> None:
    bad = violations(page)
    assert not bad, f"axe found {len(bad)} critical/serious violations on {where}:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in bad)

"""The test provider's card frame is the one page the shop's own pages may frame."""

from __future__ import annotations

from typing import Any


async def test_the_card_frame_may_be_framed_by_the_shop_only_and_nothing_else_may(shop: Any) -> None:
    for name, kind in [("card-frame.html", "text/html"), ("card-frame.js", "text/javascript"),
                       ("card-frame.css", "text/css")]:
        r = await shop.client.get(f"/test-provider/{name}")
        assert r.status == 200, name
        assert r.headers["Content-Type"].startswith(kind)
        assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    page = await (await shop.client.get("/test-provider/card-frame.html")).text()
    assert 'id="number"' in page and "<script" in page and "inline" not in page
    # Only those three names: no path into the plugin's directory.
    for bad in ["card-frame.py", "..%2f__init__.py", "card-frame.html.bak", "tables.py"]:
        assert (await shop.client.get(f"/test-provider/{bad}")).status == 404, bad
    # Everything else keeps refusing to be framed.
    r = await shop.client.get("/test-provider/hosted-fields.js")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"

"""Relevance search ranks a bounded candidate set: exact below the cap, estimated (and flagged) above it."""

from __future__ import annotations

import pytest

from plugins.catalog import search
from tests.catalog.conftest import Shop, uniq


async def _search(c, **params):
    r = await c.get("/api/products", params={k: str(v) for k, v in params.items()})
    assert r.status == 200, await r.text()
    return await r.json()


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 5)
    return 5


async def test_below_the_cap_ranking_and_total_are_exact(catalog_client, small_cap):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    word = uniq("qz").replace("-", "")
    in_description = await shop.product(cat, name="Plain Mug", description=f"Goes with {word} tea.")
    prefixed = await shop.product(cat, name=f"{word.capitalize()} Mug", description="A mug.")
    page = await _search(c, search=word)
    assert (page["total"], page["totalExact"]) == (2, True)
    assert [i["slug"] for i in page["items"]] == [prefixed["slug"], in_description["slug"]]  # the name prefix first
    assert page["facets"]["categories"] == [{"slug": cat["slug"], "count": 2}]  # exact, like the total


async def test_above_the_cap_the_total_is_an_estimate_and_deep_pages_are_exact(catalog_client, small_cap):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    word = uniq("qz").replace("-", "")
    made = [await shop.product(cat, name=f"Lamp {i}", description=f"A {word} lamp.") for i in range(12)]
    first = await _search(c, search=word, pageSize=5)
    assert first["totalExact"] is False
    assert first["total"] >= small_cap + 1  # an estimate, never below what was seen
    assert len(first["items"]) == 5
    assert {i["slug"] for i in first["items"]} <= {p["slug"] for p in made}
    # Facets count the same sample and are scaled to the estimated total (exhaustive counts would visit
    # every match; facets.py): here one category holds all of them.
    assert first["facets"]["categories"] == [{"slug": cat["slug"], "count": first["total"]}]
    assert first["facets"]["price"]["currency"] == made[0]["currency"]
    # A page past the candidate set runs the exhaustive query: every match counted.
    deep = await _search(c, search=word, pageSize=5, page=2)
    assert (deep["total"], deep["totalExact"]) == (12, True)
    assert deep["facets"]["categories"] == [{"slug": cat["slug"], "count": 12}]
    assert len(deep["items"]) == 5
    # Filters still apply to the candidates.
    other = await shop.category()
    assert (await _search(c, search=word, category=other["slug"]))["total"] == 0


def test_the_estimate_scales_the_matches_found_by_the_share_of_the_table_read():
    assert search.estimate(201, 99, 1000) == 2010
    assert search.estimate(201, 999, 1000) == 201
    assert search.estimate(201, None, 1000) == 201
    assert search.estimate(201, 2000, 1000) == 201  # a stale table size never lowers it below what was seen


async def test_estimated_facets_scale_each_count_by_the_estimate_over_the_sample(catalog_client, small_cap,
                                                                                 monkeypatch):
    c = await catalog_client()
    shop = Shop(c)
    word = uniq("qz").replace("-", "")
    cats = [await shop.category(), await shop.category()]
    for i in range(12):
        await shop.product(cats[i % 2], name=f"Cup {i}", description=f"A {word} cup.")
    # Pretend the sample was a tenth of the table: every count is multiplied by the same factor.
    monkeypatch.setattr(search, "estimate", lambda found, last_block, pages: found * 10)
    page = await _search(c, search=word, pageSize=5)
    assert (page["total"], page["totalExact"]) == (60, False)
    counts = {f["slug"]: f["count"] for f in page["facets"]["categories"]}
    assert set(counts) <= {cats[0]["slug"], cats[1]["slug"]}
    assert sum(counts.values()) == 60 and all(n % 10 == 0 for n in counts.values())

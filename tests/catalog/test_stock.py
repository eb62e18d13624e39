"""The internal stock methods orders calls: reserve (all or nothing, never negative), restock, lookups."""

from __future__ import annotations

import asyncio

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from plugins.catalog.contract import (
    Catalog,
    GetProduct,
    GetProductsByIds,
    ProductChanged,
    ReserveStock,
    Restock,
    StockLine,
)
from tests.catalog.conftest import Shop
from tests.conftest import rt_of
from tests.support.fake_identity import user_principal


def _ctx() -> CallContext:
    """As if called from another plugin's servicer (internal methods need depth >= 1)."""
    return CallContext(principal=user_principal("buyer")).nested()


def _lines(*pairs: tuple[str, int]) -> tuple[StockLine, ...]:
    return tuple(StockLine(product_id=pid, qty=q) for pid, q in pairs)


async def _stock(rt, slug: str) -> int:
    return int(await rt.db.fetchval("SELECT sum(v.stock_qty) FROM catalog_variant v JOIN catalog_product p "
                                    "ON p.id = v.product_id WHERE p.slug = $1", slug))


async def test_reserve_takes_stock_for_every_line(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    a, b = await shop.product(cat, stockQty=5), await shop.product(cat, stockQty=3)
    rt = rt_of(c)
    out = await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((a["id"], 2), (b["id"], 3), (a["id"], 1))),
                            _ctx())
    assert {p.id: p.stock_qty for p in out.items} == {a["id"]: 2, b["id"]: 0}
    assert (await _stock(rt, a["slug"]), await _stock(rt, b["slug"])) == (2, 0)


async def test_reserve_is_all_or_nothing_and_names_the_short_product(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    a, b = await shop.product(cat, stockQty=5), await shop.product(cat, stockQty=1, name="Rare Vase")
    rt = rt_of(c)
    with pytest.raises(BusError) as err:
        await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((a["id"], 2), (b["id"], 2))), _ctx())
    assert err.value.status is Status.FAILED_PRECONDITION
    assert err.value.reason == "OUT_OF_STOCK"
    assert b["slug"] in err.value.message and "Rare Vase" in err.value.message
    assert err.value.field_errors[0][0] == "lines[1].qty"
    assert (await _stock(rt, a["slug"]), await _stock(rt, b["slug"])) == (5, 1)


async def test_reserve_of_an_unknown_product_is_not_found_and_takes_nothing(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    a = await shop.product(await shop.category(), stockQty=5)
    rt = rt_of(c)
    for bad in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        with pytest.raises(BusError) as err:
            await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((a["id"], 1), (bad, 1))), _ctx())
        assert err.value.status is Status.NOT_FOUND
    assert await _stock(rt, a["slug"]) == 5


async def test_thirty_concurrent_reservations_against_stock_ten_sell_exactly_ten(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=10)
    rt = rt_of(c)

    async def buy() -> str:
        try:
            await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((p["id"], 1))), _ctx())
            return "ok"
        except BusError as exc:
            return exc.reason or exc.status.name

    results = await asyncio.gather(*(buy() for _ in range(30)))
    assert results.count("ok") == 10
    assert results.count("OUT_OF_STOCK") == 20
    assert await _stock(rt, p["slug"]) == 0


async def test_crossing_reservations_do_not_deadlock(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    a, b = await shop.product(cat, stockQty=100), await shop.product(cat, stockQty=100)
    rt = rt_of(c)
    orders = [((a["id"], 1), (b["id"], 1)) if i % 2 else ((b["id"], 1), (a["id"], 1)) for i in range(20)]
    await asyncio.gather(*(rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines(*o)), _ctx())
                           for o in orders))
    assert (await _stock(rt, a["slug"]), await _stock(rt, b["slug"])) == (80, 80)


async def test_reservation_in_a_rolled_back_transaction_keeps_stock_and_cache(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=4)
    rt = rt_of(c)
    await c.get(f"/api/products/{p['slug']}")
    with pytest.raises(RuntimeError):
        async with rt.db.transaction():
            await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((p["id"], 3))), _ctx())
            raise RuntimeError("checkout failed after the reservation")
    assert await _stock(rt, p["slug"]) == 4
    assert rt.cache.local.get(f"product:v2:{p['slug']}") is not None


async def test_reservation_invalidates_the_product_after_commit_only(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat, stockQty=4)
    rt = rt_of(c)
    await c.get(f"/api/products/{p['slug']}")
    await c.get("/api/products", params={"category": cat["slug"]})
    key = f"product:v2:{p['slug']}"
    async with rt.db.transaction():
        await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((p["id"], 3))), _ctx())
        assert rt.cache.local.get(key) is not None  # not yet committed: nobody else may see 1 yet
    assert rt.cache.local.get(key) is None
    assert (await (await c.get(f"/api/products/{p['slug']}")).json())["stockQty"] == 1
    items = (await (await c.get("/api/products", params={"category": cat["slug"]})).json())["items"]
    assert items[0]["stockQty"] == 1


async def test_stock_changes_publish_product_changed_through_the_outbox_in_order(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat, stockQty=4)
    rt = rt_of(c)
    seen: list[ProductChanged] = []

    async def on_changed(event: ProductChanged) -> None:
        seen.append(event)

    from kernel.core.events import Subscription

    rt.events.subscribe(Subscription(ProductChanged, on_changed))
    await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((p["id"], 1))), _ctx())
    await rt.bus.call(Catalog.restock, Restock(lines=_lines((p["id"], 1))), _ctx())
    # Durable subscribers run on the outbox worker, shortly after commit.
    for _ in range(500):
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [(e.product_id, e.slug, e.category_slug) for e in seen] == [(p["id"], p["slug"], cat["slug"])] * 2
    assert [(e.change, e.previous_stock_qty, e.product.stock_qty) for e in seen] == [("stock", 4, 3), ("stock", 3, 4)]


async def test_restock_puts_stock_back_and_skips_deleted_products(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=0)
    rt = rt_of(c)
    out = await rt.bus.call(Catalog.restock, Restock(lines=_lines((p["id"], 2), ("00000000-0000-4000-8000-000000000000", 1),
                                                                 ("junk", 1))), _ctx())
    assert [(x.id, x.stock_qty) for x in out.items] == [(p["id"], 2)]
    assert (await (await c.get(f"/api/products/{p['slug']}")).json())["stockQty"] == 2


async def test_get_products_by_ids_keeps_the_asked_order_and_drops_unknown_ids(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    a, b = await shop.product(cat), await shop.product(cat)
    rt = rt_of(c)
    out = await rt.bus.call(Catalog.get_products_by_ids,
                            GetProductsByIds(ids=(b["id"], "nope", a["id"], b["id"])), _ctx())
    assert [x.id for x in out.items] == [b["id"], a["id"]]
    assert out.items[0].price_minor == b["priceMinor"]


async def test_internal_methods_refuse_top_level_callers(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=3)
    rt = rt_of(c)
    with pytest.raises(BusError) as err:
        await rt.bus.call(Catalog.reserve_stock, ReserveStock(lines=_lines((p["id"], 1))),
                          CallContext(principal=user_principal("u")))
    assert err.value.status is Status.PERMISSION_DENIED
    assert await _stock(rt, p["slug"]) == 3
    # Public reads work at any depth.
    got = await rt.bus.call(Catalog.get_product, GetProduct(slug=p["slug"]), CallContext())
    assert got.id == p["id"]


async def test_the_database_refuses_negative_stock_whatever_the_code_does(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=1)
    import asyncpg

    with pytest.raises(asyncpg.CheckViolationError):
        await rt_of(c).db.execute("UPDATE catalog_variant SET stock_qty = -1 WHERE product_id = $1", p["id"])

"""The cart: per user, priced from the catalog now, quantities 1..999, unknown products refused."""

from __future__ import annotations

import uuid

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from plugins.catalog.contract import Catalog, DeleteById, SetPrice
from plugins.orders.contract import GetCart, Orders, RemoveCartItem, SetCartItem

from .shop import ADMIN, Shop, new_user, user_ctx


async def test_empty_cart_has_an_id_and_no_lines(shop: Shop) -> None:
    cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(new_user()))
    assert uuid.UUID(cart.id)
    assert cart.items == () and cart.totals == ()


async def test_adding_twice_adds_quantities_and_prices_each_line(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=1250, currency="EUR")
    await shop.add(user, p.id, 2)
    cart = await shop.add(user, p.id, 3)
    [line] = cart.items
    assert (line.product_id, line.slug, line.name, line.qty) == (p.id, p.slug, p.name, 5)
    assert (line.unit_price_minor, line.currency, line.line_total_minor) == (1250, "EUR", 6250)
    assert [(t.currency, t.amount_minor) for t in cart.totals] == [("EUR", 6250)]


async def test_totals_are_per_currency(shop: Shop) -> None:
    user = new_user()
    eur = await shop.product(price=100, currency="EUR")
    usd = await shop.product(price=300, currency="USD")
    eur2 = await shop.product(price=50, currency="EUR")
    await shop.add(user, eur.id, 1)
    await shop.add(user, usd.id, 2)
    cart = await shop.add(user, eur2.id, 4)
    assert [(t.currency, t.amount_minor) for t in cart.totals] == [("EUR", 300), ("USD", 600)]
    assert [line.product_id for line in cart.items] == [eur.id, usd.id, eur2.id]


async def test_cart_view_uses_the_current_catalog_price(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=1000)
    await shop.add(user, p.id, 2)
    await shop.bus.call(Catalog.set_price, SetPrice(id=p.id, price_minor=700, currency="EUR"), CallContext(principal=ADMIN))
    cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(user))
    assert cart.items[0].unit_price_minor == 700 and cart.totals[0].amount_minor == 1400


async def test_products_deleted_from_the_catalog_disappear_from_the_cart(shop: Shop) -> None:
    user = new_user()
    keep, gone = await shop.product(price=100), await shop.product(price=200)
    await shop.add(user, keep.id, 1)
    await shop.add(user, gone.id, 1)
    await shop.bus.call(Catalog.delete_product, DeleteById(id=gone.id), CallContext(principal=ADMIN))
    cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(user))
    assert [line.product_id for line in cart.items] == [keep.id]
    assert cart.totals[0].amount_minor == 100


async def test_sum_after_add_is_capped_at_999_and_the_cart_is_left_as_it_was(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=1)
    await shop.add(user, p.id, 998)
    with pytest.raises(BusError) as err:
        await shop.add(user, p.id, 2)
    assert err.value.status is Status.INVALID_ARGUMENT and err.value.field_errors[0][0] == "qty"
    cart = await shop.add(user, p.id, 1)
    assert cart.items[0].qty == 999


@pytest.mark.parametrize("product_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
async def test_unknown_products_are_refused_as_not_found_on_product_id(shop: Shop, product_id: str) -> None:
    user = new_user()
    for call in (shop.add(user, product_id, 1),
                 shop.bus.call(Orders.set_cart_item, SetCartItem(product_id=product_id, qty=3), user_ctx(user))):
        with pytest.raises(BusError) as err:
            await call
        assert err.value.status is Status.NOT_FOUND
        assert err.value.field_errors == (("productId", "no such product"),)
    cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(user))
    assert cart.items == ()


async def test_set_quantity_replaces_and_zero_removes(shop: Shop) -> None:
    user = new_user()
    a, b = await shop.product(price=10), await shop.product(price=20)
    await shop.add(user, a.id, 5)
    await shop.add(user, b.id, 1)
    cart = await shop.bus.call(Orders.set_cart_item, SetCartItem(product_id=a.id, qty=2), user_ctx(user))
    assert {line.product_id: line.qty for line in cart.items} == {a.id: 2, b.id: 1}
    cart = await shop.bus.call(Orders.set_cart_item, SetCartItem(product_id=a.id, qty=0), user_ctx(user))
    assert [line.product_id for line in cart.items] == [b.id]
    cart = await shop.bus.call(Orders.remove_cart_item, RemoveCartItem(product_id=b.id), user_ctx(user))
    assert cart.items == ()
    # Removing what is not there leaves the cart as asked, without an error.
    cart = await shop.bus.call(Orders.remove_cart_item, RemoveCartItem(product_id=b.id), user_ctx(user))
    assert cart.items == ()


async def test_each_user_has_their_own_cart(shop: Shop) -> None:
    alice, bob = new_user(), new_user()
    p = await shop.product(price=10)
    a = await shop.add(alice, p.id, 1)
    b = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(bob))
    assert a.id != b.id and b.items == ()


async def test_cart_methods_need_a_signed_in_user(shop: Shop) -> None:
    with pytest.raises(BusError) as err:
        await shop.bus.call(Orders.get_cart, GetCart(), CallContext())
    assert err.value.status is Status.UNAUTHENTICATED

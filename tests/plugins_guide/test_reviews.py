"""The example third-party plugin (examples/shop-reviews) inside the shop: installed, used, switched off.

The session database is migrated with the first-party plugins (and, once the
distribution is installed, every entry-point plugin); each test still runs the
reviews migrations itself, which is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import shop_reviews
from shop_reviews.contract import AddReview, ListReviews, Reviews

import plugins.auth
import plugins.catalog
import plugins.orders
import plugins.payments
import plugins.testpay
import plugins.wallet
from kernel.commands.cli import build_parser
from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.loader import call_each, discover
from kernel.host.plugin import PluginError
from kernel.storage.migrate import migrate
from plugins.catalog.contract import Catalog, CreateCategory, CreateProduct, Product
from plugins.orders.contract import (
    AddToCart,
    CancelOrder,
    Checkout,
    CreateFulfillment,
    CreateRefund,
    HasPurchased,
    Orders,
)
from plugins.wallet.contract import Card
from tests.conftest import rt_of
from tests.support import fake_identity
from tests.support.fake_identity import ALL_USER_SCOPES, principal_header, user_principal

PLUGINS: list[object] = [plugins.auth, plugins.catalog, plugins.wallet, plugins.orders, plugins.payments,
                         plugins.testpay, shop_reviews, fake_identity]
ADMIN = CallContext(principal=user_principal("admin-r", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin")))


async def start(make_client: Any, **overrides: Any) -> tuple[Any, Any]:
    client = await make_client(PLUGINS, **overrides)
    rt = rt_of(client)
    await migrate(rt.db, [("reviews", Path(shop_reviews.MIGRATIONS))])
    return client, rt


async def new_product(rt: Any, stock: int = 10) -> Product:
    tag = uuid.uuid4().hex[:10]
    cat = await rt.bus.call(Catalog.create_category, CreateCategory(slug=f"rc-{tag}", name=f"Cat {tag}"), ADMIN)
    return await rt.bus.call(Catalog.create_product, CreateProduct(
        slug=f"rp-{tag}", name=f"Product {tag}", category_id=cat.id, price_minor=1250, currency="EUR",
        stock_qty=stock), ADMIN)


def new_user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


CARD = Card(number="4242424242424242", exp_month=12, exp_year=2099, cvc="123", holder="Test Shopper")


async def bought(rt: Any, user: str, *products: Product) -> str:
    """A real, paid card order of ``products`` by ``user``, through the orders plugin; its id."""
    ctx = CallContext(principal=user_principal(user))
    for product in products:
        await rt.bus.call(Orders.add_to_cart, AddToCart(product_id=product.id, qty=1), ctx)
    order = await rt.bus.call(Orders.checkout, Checkout(card=CARD, currency="EUR"),
                              CallContext(principal=user_principal(user), idempotency_key=uuid.uuid4().hex))
    assert order.status == "paid"
    return str(order.id)


async def cancel(rt: Any, user: str, order_id: str) -> None:
    await rt.bus.call(Orders.cancel_order, CancelOrder(id=order_id),
                      CallContext(principal=user_principal(user), idempotency_key=uuid.uuid4().hex))
    # OrderCancelled reaches the reviews plugin through the outbox, after commit: wait for its handler.
    await rt.outbox.drain()


async def gql(client: Any, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await client.post("/graphql", json={"query": query}, headers=headers or {})
    return dict(await resp.json())


async def test_a_buyer_reviews_over_rest_and_the_review_shows_in_rest_and_graphql(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    await bought(rt, user, product)

    resp = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 4, "body": "  Solid mug.  "},
                             headers=principal_header(user))
    assert resp.status == 201, await resp.text()
    review = await resp.json()
    assert review["rating"] == 4 and review["body"] == "Solid mug." and review["productId"] == product.id

    page = await (await client.get(f"/api/products/{product.slug}/reviews?pageSize=5")).json()
    assert page["total"] == 1 and page["pageSize"] == 5 and page["items"][0]["id"] == review["id"]
    rating = await (await client.get(f"/api/products/{product.slug}/rating")).json()
    assert rating == {"productId": product.id, "count": 1, "averageHundredths": 400}

    data = await gql(client, f'{{ product(slug: "{product.slug}") {{ name rating '
                             f'reviews(pageSize: 5) {{ total items {{ rating body }} }} }} }}')
    assert "errors" not in data, data
    assert data["data"]["product"]["rating"] == 4.0
    assert data["data"]["product"]["reviews"] == {"total": 1, "items": [{"rating": 4, "body": "Solid mug."}]}


async def test_a_buyer_reviews_through_the_graphql_mutation_and_the_average_follows(make_client):
    client, rt = await start(make_client)
    product = await new_product(rt)
    for user, stars in ((new_user(), 5), (new_user(), 2)):
        await bought(rt, user, product)
        data = await gql(client, f'mutation {{ addReview(productSlug: "{product.slug}", rating: {stars}) '
                                 f'{{ rating body }} }}', principal_header(user))
        assert data["data"]["addReview"] == {"rating": stars, "body": ""}, data
    data = await gql(client, f'{{ product(slug: "{product.slug}") {{ rating reviews {{ total }} }} }}')
    assert data["data"]["product"] == {"rating": 3.5, "reviews": {"total": 2}}


async def test_someone_who_did_not_buy_the_product_is_refused_with_not_a_buyer(make_client):
    client, rt = await start(make_client)
    product, other = await new_product(rt), await new_product(rt)
    user = new_user()
    await bought(rt, user, other)  # bought something else

    resp = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 5},
                             headers=principal_header(user))
    assert resp.status == 403
    problem = await resp.json()
    assert problem["code"] == "PERMISSION_DENIED" and problem["reason"] == "NOT_A_BUYER"

    data = await gql(client, f'mutation {{ addReview(productSlug: "{product.slug}", rating: 5) {{ id }} }}',
                     principal_header(user))
    assert data["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED", "reason": "NOT_A_BUYER"}
    assert await rt.db.fetchval("SELECT count(*) FROM product_reviews WHERE product_id = $1", product.id) == 0


async def test_a_real_checkout_makes_the_buyer_eligible_and_a_second_review_conflicts(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    ctx = CallContext(principal=user_principal(user))
    with pytest.raises(BusError) as refused:
        await rt.bus.call(Reviews.add_review, AddReview(product_slug=product.slug, rating=5), ctx)
    assert refused.value.reason == "NOT_A_BUYER"

    await bought(rt, user, product)

    review = await rt.bus.call(Reviews.add_review, AddReview(product_slug=product.slug, rating=5, body="Great"), ctx)
    assert review.rating == 5
    again = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 1},
                              headers=principal_header(user))
    assert again.status == 409 and (await again.json())["reason"] == "ALREADY_REVIEWED"


async def test_a_cancelled_order_no_longer_makes_its_buyer_eligible(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    order_id = await bought(rt, user, product)
    await cancel(rt, user, order_id)  # refunded to the card
    resp = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 3},
                             headers=principal_header(user))
    assert resp.status == 403 and (await resp.json())["reason"] == "NOT_A_BUYER"


async def visible(client: Any, product: Product) -> tuple[int, dict[str, Any], Any]:
    page = await (await client.get(f"/api/products/{product.slug}/reviews")).json()
    rating = await (await client.get(f"/api/products/{product.slug}/rating")).json()
    data = await gql(client, f'{{ product(slug: "{product.slug}") {{ rating reviews {{ total }} }} }}')
    return page["total"], rating, data["data"]["product"]


async def test_a_refund_after_reviewing_hides_the_review_and_its_rating(make_client):
    client, rt = await start(make_client)
    product = await new_product(rt)
    keeper, refunded = new_user(), new_user()
    await bought(rt, keeper, product)
    order_id = await bought(rt, refunded, product)
    for user, stars in ((keeper, 4), (refunded, 1)):
        resp = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": stars},
                                 headers=principal_header(user))
        assert resp.status == 201
    assert await visible(client, product) == (2, {"productId": product.id, "count": 2, "averageHundredths": 250},
                                              {"rating": 2.5, "reviews": {"total": 2}})  # now cached
    await cancel(rt, refunded, order_id)
    # Reviews hears OrderCancelled as a durable subscriber: on the outbox worker, just after commit.
    for _ in range(250):
        if (await visible(client, product))[0] == 1:
            break
        await asyncio.sleep(0.02)
    # Hidden from the list, the count and the average, over REST and GraphQL (the caches were invalidated).
    assert await visible(client, product) == (1, {"productId": product.id, "count": 1, "averageHundredths": 400},
                                              {"rating": 4.0, "reviews": {"total": 1}})
    # Hidden, not deleted: the buyer cannot post a second one either.
    again = await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 5},
                              headers=principal_header(refunded))
    assert again.status == 403 and (await again.json())["reason"] == "NOT_A_BUYER"


async def test_a_shipped_order_may_be_reviewed_and_only_a_full_admin_refund_hides_the_review(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    order_id = await bought(rt, user, product)
    manager = user_principal("admin-r", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin", "orders:manage"))
    admin = CallContext(principal=manager, idempotency_key=uuid.uuid4().hex)
    shipped = await rt.bus.call(Orders.fulfil_order, CreateFulfillment(
        id=order_id, carrier="DHL", tracking_number="JD0001"), admin)
    assert shipped.status == "fulfilled"
    # A fulfilled order is still a purchase: the buyer may review it.
    assert (await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 5},
                              headers=principal_header(user))).status == 201
    part = await rt.bus.call(Orders.refund_order, CreateRefund(id=order_id, amount_minor=250),
                             CallContext(principal=manager, idempotency_key=uuid.uuid4().hex))
    assert part.status == "partially_refunded"
    await rt.outbox.drain()
    assert (await visible(client, product))[0] == 1  # a partial refund leaves the goods with the buyer
    rest = await rt.bus.call(Orders.refund_order, CreateRefund(id=order_id, amount_minor=shipped.total_minor - 250),
                             CallContext(principal=manager, idempotency_key=uuid.uuid4().hex))
    assert rest.status == "refunded"
    for _ in range(250):  # reviews hears OrderRefunded on the outbox worker, just after commit
        if (await visible(client, product))[0] == 0:
            break
        await asyncio.sleep(0.02)
    assert (await visible(client, product))[:2] == (0, {"productId": product.id, "count": 0,
                                                         "averageHundredths": None})


async def test_cancelling_one_of_two_paid_orders_of_the_product_keeps_the_review(make_client):
    client, rt = await start(make_client)
    product, other = await new_product(rt), await new_product(rt)
    user = new_user()
    first = await bought(rt, user, product)
    await bought(rt, user, product, other)
    assert (await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 5},
                              headers=principal_header(user))).status == 201
    await cancel(rt, user, first)
    assert (await visible(client, product))[0] == 1


async def test_has_purchased_is_internal_to_the_shop_and_answers_for_paid_orders_only(make_client):
    _client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    ask = HasPurchased(user_id=user, product_id=product.id)
    with pytest.raises(BusError) as internal:
        await rt.bus.call(Orders.has_purchased, ask, CallContext(principal=user_principal(user)))
    assert internal.value.status is Status.PERMISSION_DENIED
    nested = CallContext().nested()
    assert (await rt.bus.call(Orders.has_purchased, ask, nested)).purchased is False
    order_id = await bought(rt, user, product)
    assert (await rt.bus.call(Orders.has_purchased, ask, nested)).purchased is True
    await cancel(rt, user, order_id)
    assert (await rt.bus.call(Orders.has_purchased, ask, nested)).purchased is False


async def test_reviewing_needs_the_plugins_own_scope_not_orders_write(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    await bought(rt, user, product)
    url = f"/api/products/{product.slug}/reviews"
    no_reviews = tuple(s for s in ALL_USER_SCOPES if s != "reviews:write")
    resp = await client.post(url, json={"rating": 5}, headers=principal_header(user, scopes=no_reviews))
    assert resp.status == 403 and "reviews:write" in (await resp.json())["detail"]
    resp = await client.post(url, json={"rating": 5}, headers=principal_header(user, scopes=("reviews:write",)))
    assert resp.status == 201
    assert rt.scopes.owner("reviews:write") == "reviews"
    assert "Review products you bought" in rt.scopes.get("reviews:write").description


async def test_bad_review_input_is_a_4xx_naming_the_fields(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    await bought(rt, user, product)
    url = f"/api/products/{product.slug}/reviews"

    resp = await client.post(url, json={"rating": 6, "body": "x" * 2001}, headers=principal_header(user))
    assert resp.status == 400
    assert {e["field"] for e in (await resp.json())["errors"]} == {"rating", "body"}
    resp = await client.post(url, json={"rating": "five"}, headers=principal_header(user))
    assert resp.status == 400 and (await resp.json())["errors"][0]["field"] == "rating"
    resp = await client.post(url, json={"rating": 5})  # nobody signed in
    assert resp.status == 401
    resp = await client.post(url, json={"rating": 5}, headers=principal_header(user, scopes=("orders:read",)))
    assert resp.status == 403
    resp = await client.get(url + "?pageSize=51")
    assert resp.status == 400 and (await resp.json())["errors"][0]["field"] == "pageSize"
    resp = await client.get(url + "?page=abc")
    assert resp.status == 400 and (await resp.json())["errors"][0]["field"] == "page"
    assert (await client.get("/api/products/no-such-product/reviews")).status == 404
    assert (await client.get("/api/products/Not_A_Slug/reviews")).status == 400
    with pytest.raises(BusError) as both:
        await rt.bus.call(Reviews.list_reviews, ListReviews(product_id=product.id, product_slug=product.slug),
                          CallContext())
    assert both.value.status is Status.INVALID_ARGUMENT


async def test_cached_review_pages_are_invalidated_by_a_new_review(make_client):
    client, rt = await start(make_client)
    product, user = await new_product(rt), new_user()
    await bought(rt, user, product)
    url = f"/api/products/{product.slug}/reviews"
    query = f'{{ product(slug: "{product.slug}") {{ rating reviews {{ total }} }} }}'
    for _ in range(2):  # the second read is served from the cache
        assert (await (await client.get(url)).json())["total"] == 0
        assert (await gql(client, query))["data"]["product"] == {"rating": None, "reviews": {"total": 0}}
    assert (await client.post(url, json={"rating": 2}, headers=principal_header(user))).status == 201
    assert (await (await client.get(url)).json())["total"] == 1
    assert (await gql(client, query))["data"]["product"] == {"rating": 2.0, "reviews": {"total": 1}}


async def test_shop_reviews_stats_prints_review_counts_per_product_as_json(make_client, capsys):
    _client, rt = await start(make_client)
    product = await new_product(rt)
    for stars in (5, 4):
        user = new_user()
        await bought(rt, user, product)
        await rt.bus.call(Reviews.add_review, AddReview(product_slug=product.slug, rating=stars),
                          CallContext(principal=user_principal(user)))
    commands = [c for _lp, cs in call_each(rt.pm, rt.plugins, "shop_cli", lambda lp: None) for c in cs]
    args = build_parser(commands).parse_args(["reviews", "stats", "--limit", "10000"])
    capsys.readouterr()
    assert await args.command_obj.run(args, rt) == 0
    rows = json.loads(capsys.readouterr().out)
    mine = next(r for r in rows if r["productId"] == product.id)
    assert mine == {"productId": product.id, "slug": product.slug, "reviews": 2, "averageRating": 4.5}
    bad = build_parser(commands).parse_args(["reviews", "stats", "--limit", "0"])
    assert await bad.command_obj.run(bad, rt) == 2


async def test_reviews_disabled_by_configuration_contribute_nothing(make_client):
    client, rt = await start(make_client, plugins_disabled=("reviews",))
    product = await new_product(rt)
    assert "reviews" not in [lp.info.name for lp in rt.plugins]
    assert (await client.get(f"/api/products/{product.slug}/reviews")).status == 404
    assert (await client.post(f"/api/products/{product.slug}/reviews", json={"rating": 5},
                              headers=principal_header(new_user()))).status == 404
    data = await gql(client, f'{{ product(slug: "{product.slug}") {{ name reviews {{ total }} }} }}')
    assert data["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "Field reviews doesn't exist on Product" in [e["message"] for e in data["errors"]]
    data = await gql(client, f'{{ product(slug: "{product.slug}") {{ name }} }}')
    assert data["data"]["product"]["name"] == product.name  # the catalog's type is intact
    assert "shop.reviews.v1.Reviews" not in rt.bus.services
    assert not rt.bus.has(Reviews.list_reviews)
    assert all(sub.plugin != "reviews" for subs in rt.events._subs.values() for sub in subs)
    commands = [c for _lp, cs in call_each(rt.pm, rt.plugins, "shop_cli", lambda lp: None) for c in cs]
    assert all(c.path[0] != "reviews" for c in commands)


def test_the_installed_distribution_is_found_through_its_entry_point(settings):
    _pm, loaded = discover(settings)
    names = [lp.info.name for lp in loaded]
    assert "reviews" in names
    assert names.index("reviews") > names.index("orders") > names.index("catalog")
    with pytest.raises(PluginError, match="'reviews' requires 'orders', which is disabled"):
        discover(settings.with_(plugins_disabled=("orders",)))
    _pm, loaded = discover(settings.with_(plugins_disabled=("orders", "reviews")))
    assert {"orders", "reviews"}.isdisjoint(lp.info.name for lp in loaded)

"""The reviews plugin in a running shop: buyers review, others are refused, disabling removes it all."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from conftest import as_user

from kernel.host.app import runtime_of


async def new_product(client: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    admin = as_user("admin-reviews")
    cat = await (await client.post("/api/admin/categories", json={"slug": f"c-{tag}", "name": tag},
                                   headers=admin)).json()
    resp = await client.post("/api/admin/products", headers=admin, json={
        "slug": f"p-{tag}", "name": f"P {tag}", "categoryId": cat["id"], "priceMinor": 500, "currency": "EUR",
        "stockQty": 5})
    assert resp.status in (200, 201), await resp.text()
    return dict(await resp.json())


CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2099, "cvc": "123", "holder": "Test Shopper"}


async def bought(client: Any, user: str, product: dict[str, Any]) -> str:
    """A real card order, over REST; its id."""
    added = await client.post("/api/cart/items", json={"productId": product["id"], "qty": 1}, headers=as_user(user))
    assert added.status == 200, await added.text()
    paid = await client.post("/api/orders/checkout", json={"card": CARD, "currency": "EUR"},
                             headers={**as_user(user), "Idempotency-Key": uuid.uuid4().hex})
    assert paid.status == 201, await paid.text()
    return str((await paid.json())["id"])


async def test_only_a_buyer_may_review_and_the_review_shows_in_rest_and_graphql(make_shop):
    client = await make_shop()
    product, buyer, stranger = await new_product(client), f"u-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    url = f"/api/products/{product['slug']}/reviews"
    refused = await client.post(url, json={"rating": 5}, headers=as_user(stranger))
    assert refused.status == 403 and (await refused.json())["reason"] == "NOT_A_BUYER"

    await bought(client, buyer, product)
    created = await client.post(url, json={"rating": 5, "body": "Lovely"}, headers=as_user(buyer))
    assert created.status == 201, await created.text()
    assert (await (await client.get(url)).json())["total"] == 1
    query = f'{{ product(slug: "{product["slug"]}") {{ rating reviews {{ items {{ rating body }} }} }} }}'
    data = await (await client.post("/graphql", json={"query": query})).json()
    assert data["data"]["product"] == {"rating": 5.0, "reviews": {"items": [{"rating": 5, "body": "Lovely"}]}}


async def test_a_cancelled_order_hides_its_buyers_review(make_shop):
    client = await make_shop()
    product, buyer = await new_product(client), f"u-{uuid.uuid4().hex[:8]}"
    order_id = await bought(client, buyer, product)
    url = f"/api/products/{product['slug']}/reviews"
    assert (await client.post(url, json={"rating": 2}, headers=as_user(buyer))).status == 201
    cancelled = await client.post(f"/api/orders/{order_id}/cancel", json={},
                                  headers={**as_user(buyer), "Idempotency-Key": uuid.uuid4().hex})
    assert cancelled.status == 200, await cancelled.text()
    # The plugin hears OrderCancelled from the shop's outbox, just after the cancel commits.
    for _ in range(250):
        if (await (await client.get(url)).json())["total"] == 0:
            break
        await asyncio.sleep(0.02)
    assert (await (await client.get(url)).json())["total"] == 0
    rating = await (await client.get(f"/api/products/{product['slug']}/rating")).json()
    assert rating["count"] == 0 and rating["averageHundredths"] is None


async def test_disabled_reviews_leave_no_route_field_or_service(make_shop):
    client = await make_shop(plugins_disabled=("reviews",))
    product = await new_product(client)
    assert (await client.get(f"/api/products/{product['slug']}/reviews")).status == 404
    query = f'{{ product(slug: "{product["slug"]}") {{ rating }} }}'
    data = await (await client.post("/graphql", json={"query": query})).json()
    assert data["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "shop.reviews.v1.Reviews" not in runtime_of(client.server.app).bus.services

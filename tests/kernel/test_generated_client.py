"""A client generated from the live server's OpenAPI document buys something, unedited.

``openapi-python-client`` (pinned in requirements-dev.txt) runs in a subprocess on
``/api/openapi.json`` into a temporary directory; the generated package is imported
as it is and drives a purchase against a real ``shop serve``: list products, top up
a wallet (demo funding), add to the cart, check out by wallet (with a replayed
Idempotency-Key), read the order back. Typed models, enums, formats, documented
headers and problem responses are all exercised through the generated code.
"""

from __future__ import annotations

import compileall
import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import PASSWORD, LiveShop, obtain_token

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "shopkernel_api_client"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def live(servers: dict[str, str]) -> Iterator[LiveShop]:
    shop = LiveShop(servers["database"], servers["redis"], env_extra={"SHOP_DEMO": "1"})
    shop.create()
    try:
        shop.cli("seed", "--demo")
        shop.cli("users", "create", "--email", "generated-client@example.com", "--password", PASSWORD)
        shop.start()
        yield shop
    finally:
        shop.destroy()


@pytest.fixture(scope="module")
def generated(live: LiveShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported from a temporary directory."""
    work = tmp_path_factory.mktemp("client")
    spec = work / "openapi.json"
    spec.write_bytes(httpx.get(f"{live.base}/api/openapi.json", timeout=10).content)
    (work / "config.yml").write_text(f"package_name_override: {PACKAGE}\nproject_name_override: shop-api-client\n")
    out = subprocess.run(
        [GENERATOR, "generate", "--path", str(spec), "--config", str(work / "config.yml"), "--meta", "none",
         "--output-path", str(work / PACKAGE)],
        cwd=work, capture_output=True, text=True, timeout=240,
        # The generator formats its output with ruff, found on PATH.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    # Anything the generator could not express (skipped endpoints, unsupported schemas) is a warning.
    assert "Warning" not in report and "Unable" not in report, report
    assert compileall.compile_dir(str(work / PACKAGE), quiet=1)
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(package: Any, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{module}")


def test_the_generated_client_buys_a_product_by_wallet_end_to_end(live: LiveShop, generated: Any) -> None:
    models = api(generated, "models")
    token = obtain_token(live.base, "generated-client@example.com")["access_token"]
    anonymous = generated.Client(base_url=live.base)
    shopper = generated.AuthenticatedClient(base_url=live.base, token=token)

    # Public read: typed page, documented rate-limit headers, no credentials needed.
    listed = api(generated, "api.catalog.catalog_list_products").sync_detailed(client=anonymous, page_size=50)
    assert listed.status_code == 200 and isinstance(listed.parsed, models.ProductPage)
    assert {"ratelimit-limit", "ratelimit-remaining", "x-request-id"} <= {k.lower() for k in listed.headers}
    product = next(p for p in listed.parsed.items if p.stock_qty > 0)
    assert isinstance(product.id, uuid.UUID)  # format: uuid became a real UUID
    one = api(generated, "api.catalog.catalog_get_product").sync(client=anonymous, slug=product.slug)
    assert isinstance(one, models.Product) and one.id == product.id

    # Demo top-up of exactly the price, in the product's currency.
    top_up = api(generated, "api.wallets.wallet_top_up")
    wallet = top_up.sync(client=shopper, body=models.WalletTopUpBody(currency=product.currency,
                                                                     amount_minor=product.price_minor))
    assert isinstance(wallet, models.Wallet) and wallet.balance_minor == product.price_minor

    add = api(generated, "api.cart.orders_add_to_cart")
    cart = add.sync(client=shopper, body=models.OrdersAddToCartBody(product_id=str(product.id), qty=1))
    assert isinstance(cart, models.Cart) and [line.product_id for line in cart.items] == [product.id]

    checkout = api(generated, "api.orders.orders_checkout")
    body = models.OrdersCheckoutBody(wallet_currency=product.currency)
    key = uuid.uuid4().hex
    first = checkout.sync_detailed(client=shopper, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    order = first.parsed
    assert isinstance(order, models.Order)
    assert order.status == models.OrderStatus.PAID and order.payment_method == models.OrderPaymentMethod.WALLET
    assert order.total_minor == product.price_minor and order.created_at.tzinfo is not None
    assert "idempotent-replayed" not in {k.lower() for k in first.headers}
    again = checkout.sync_detailed(client=shopper, body=body, idempotency_key=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.id == order.id

    read = api(generated, "api.orders.orders_get_order").sync(client=shopper, id=str(order.id))
    assert isinstance(read, models.Order) and read.id == order.id and read.items[0].product_id == product.id
    wallets = api(generated, "api.wallets.wallet_list_wallets").sync(client=shopper)
    assert [(w.currency, w.balance_minor) for w in wallets] == [(product.currency, 0)]
    ledger = api(generated, "api.wallets.wallet_list_transactions").sync(client=shopper, currency=product.currency)
    assert {e.kind for e in ledger.items} == {models.LedgerEntryKind.TOPUP, models.LedgerEntryKind.PAYMENT}


def test_the_generated_client_reads_problems_as_typed_errors(live: LiveShop, generated: Any) -> None:
    models = api(generated, "models")
    token = obtain_token(live.base, "generated-client@example.com")["access_token"]
    shopper = generated.AuthenticatedClient(base_url=live.base, token=token)
    missing = api(generated, "api.orders.orders_get_order").sync_detailed(client=shopper, id=str(uuid.uuid4()))
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.code == models.ProblemCode.NOT_FOUND
    anonymous = generated.Client(base_url=live.base)
    denied = api(generated, "api.cart.orders_get_cart").sync_detailed(client=anonymous)
    assert denied.status_code == 401 and denied.parsed.code == models.ProblemCode.UNAUTHENTICATED
    bad = api(generated, "api.cart.orders_add_to_cart").sync_detailed(
        client=shopper, body=models.OrdersAddToCartBody(product_id=str(uuid.uuid4()), qty=0))
    assert bad.status_code == 400 and [e.field for e in bad.parsed.errors] == ["qty"]

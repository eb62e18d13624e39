"""What other plugins may import from catalog: messages, the Catalog service, events."""

from __future__ import annotations

from typing import Literal

from kernel.events import Event
from kernel.messages import constraint, message
from kernel.service import CachePolicy, Service, rpc

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
CURRENCY = r"[A-Z]{3}"
ID = dict(min_len=1, max_len=64)
# GraphQL Int is 32-bit: prices stay below 2**31 so REST and GraphQL can carry every price.
PRICE_MAX = 2**31 - 1


@message
class Category:
    id: str
    slug: str
    name: str


@message
class ImageRendition:
    """One pre-made size of an image (for ``srcset``): WebP and the original format at fixed widths."""

    url: str
    width: int
    height: int
    content_type: str


@message
class ProductImage:
    id: str
    url: str
    alt: str
    width: int
    height: int
    content_type: str
    renditions: tuple[ImageRendition, ...] = ()


@message
class Product:
    id: str
    slug: str
    name: str
    description: str
    category_id: str
    category_slug: str
    price_minor: int
    currency: str
    stock_qty: int
    images: tuple[ProductImage, ...] = ()  # first = main (media.py)


@message
class ProductPage:
    items: tuple[Product, ...]
    page: int
    page_size: int
    total: int
    # False when total is an estimate (a relevance search with many matches; see search.py).
    total_exact: bool = True


@message
class ListCategories:
    pass


@message
class ListProducts:
    category_slug: str | None = constraint(default=None, max_len=100)
    search: str | None = constraint(default=None, max_len=200)
    page: int = constraint(default=1, min=1, max=100_000)
    page_size: int = constraint(default=20, min=1, max=100)
    sort: Literal["relevance", "name", "price_asc", "price_desc", "newest"] | None = None


@message
class GetProduct:
    slug: str = constraint(min_len=1, max_len=100)


@message
class GetProductsByIds:
    ids: tuple[str, ...] = constraint(max_len=1000)


@message
class ProductList:
    items: tuple[Product, ...]


@message
class StockLine:
    product_id: str = constraint(**ID)
    qty: int = constraint(min=1, max=1_000_000)


@message
class ReserveStock:
    """Atomically take stock for every line, locking rows in id order; all or nothing."""

    lines: tuple[StockLine, ...] = constraint(min_len=1, max_len=1000)


@message
class Restock:
    lines: tuple[StockLine, ...] = constraint(min_len=1, max_len=1000)


# ---- admin


@message
class CreateCategory:
    slug: str = constraint(min_len=1, max_len=100, pattern=SLUG)
    name: str = constraint(min_len=1, max_len=200, strip=True)


@message
class UpdateCategory:
    id: str = constraint(**ID)
    slug: str | None = constraint(default=None, min_len=1, max_len=100, pattern=SLUG)
    name: str | None = constraint(default=None, min_len=1, max_len=200, strip=True)


@message
class DeleteById:
    id: str = constraint(**ID)


@message
class Deleted:
    id: str
    deleted: bool


@message
class CreateProduct:
    slug: str = constraint(min_len=1, max_len=100, pattern=SLUG)
    name: str = constraint(min_len=1, max_len=200, strip=True)
    description: str = constraint(default="", max_len=5000)
    category_id: str = constraint(**ID)
    price_minor: int = constraint(min=0, max=PRICE_MAX)
    currency: str = constraint(pattern=CURRENCY)
    stock_qty: int = constraint(default=0, min=0, max=10**9)


@message
class UpdateProduct:
    id: str = constraint(**ID)
    slug: str | None = constraint(default=None, min_len=1, max_len=100, pattern=SLUG)
    name: str | None = constraint(default=None, min_len=1, max_len=200, strip=True)
    description: str | None = constraint(default=None, max_len=5000)
    category_id: str | None = constraint(default=None, **ID)


@message
class SetPrice:
    id: str = constraint(**ID)
    price_minor: int = constraint(min=0, max=PRICE_MAX)
    currency: str = constraint(pattern=CURRENCY)


@message
class SetStock:
    id: str = constraint(**ID)
    stock_qty: int = constraint(min=0, max=10**9)


@message
class AdjustStock:
    id: str = constraint(**ID)
    delta: int = constraint(min=-(10**9), max=10**9)


def _list_key(r: ListProducts) -> str | None:
    if r.search or (r.sort not in (None, "newest")):
        return None  # searches and custom sorts are not cached
    return f"products:v1:{r.category_slug or ''}:{r.page}:{r.page_size}"


def _list_tags(r: ListProducts) -> tuple[str, ...]:
    return (f"products:v1:{r.category_slug or ''}", "products:v1")


class Catalog(Service, package="shop.catalog.v1"):
    list_categories = rpc(ListCategories, tuple[Category, ...],
                          cache=CachePolicy(key=lambda r: "categories:v1", ttl=300), rate_limit="read")
    list_products = rpc(ListProducts, ProductPage,
                        cache=CachePolicy(key=_list_key, ttl=120, tags=_list_tags), rate_limit="read")
    get_product = rpc(GetProduct, Product,
                      cache=CachePolicy(key=lambda r: f"product:v1:{r.slug}", ttl=300), rate_limit="read")
    # For other plugins (carts, checkout): never exposed over HTTP.
    get_products_by_ids = rpc(GetProductsByIds, ProductList, internal=True)
    reserve_stock = rpc(ReserveStock, ProductList, internal=True)
    restock = rpc(Restock, ProductList, internal=True)
    # Admin (scope admin; the auth plugin grants it only to users with the admin role).
    create_category = rpc(CreateCategory, Category, scope="admin", write=True)
    update_category = rpc(UpdateCategory, Category, scope="admin", write=True)
    delete_category = rpc(DeleteById, Deleted, scope="admin", write=True)
    create_product = rpc(CreateProduct, Product, scope="admin", write=True)
    update_product = rpc(UpdateProduct, Product, scope="admin", write=True)
    delete_product = rpc(DeleteById, Deleted, scope="admin", write=True)
    set_price = rpc(SetPrice, Product, scope="admin", write=True)
    set_stock = rpc(SetStock, Product, scope="admin", write=True)
    adjust_stock = rpc(AdjustStock, Product, scope="admin", write=True)


@message
class ProductChanged(Event, topic="catalog.product_changed"):
    product_id: str
    slug: str
    category_slug: str


# ---- media (plugins/catalog/media.py): product images

IMAGE_MAX_BYTES = 10 * 1024 * 1024


@message
class UploadImage:
    """``POST /api/admin/products/{id}/images`` as multipart/form-data: ``file`` and optional ``alt``."""

    id: str = constraint(**ID)
    file: bytes = constraint(max_len=IMAGE_MAX_BYTES, doc="A JPEG, PNG or WebP image of at most 10 MB.")
    alt: str = constraint(default="", max_len=500, strip=True)


class CatalogMedia(Service, package="shop.catalog.v1"):
    upload_image = rpc(UploadImage, ProductImage, scope="admin", write=True, rate_limit="write")
    delete_image = rpc(DeleteById, Deleted, scope="admin", write=True)

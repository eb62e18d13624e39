"""What other plugins may import from catalog: messages, the Catalog service, events."""

from __future__ import annotations

from typing import Any, Literal

from kernel.core.events import Event
from kernel.core.messages import Limits, MinorUnits, Uuid, constraint, message, page_field, page_size_field
from kernel.core.scopes import Scope
from kernel.core.service import CachePolicy, Http, MethodGroup, Service, rpc

# The scopes this plugin enforces (docs/plugins.md, "Scopes"); the consent screen shows the descriptions.
SCOPES = (
    Scope("catalog:read", "See the catalog: categories, products, prices and stock"),
    Scope("catalog:write", "Change the catalog: categories, products, prices and stock", implied_by=("admin",)),
)

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
CURRENCY = r"[A-Z]{3}"
ID: Limits = {"min_len": 1, "max_len": 64}
# GraphQL Int is 32-bit: prices stay below 2**31 so REST and GraphQL can carry every price.
PRICE_MAX = 2**31 - 1
SKU = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}"
MAX_OPTIONS = 10  # option names per variant
MAX_VARIANTS = 250  # variants per product
MAX_OPTION_FILTERS = 20


@message
class Category:
    """A product category."""

    id: Uuid
    slug: str
    name: str


@message
class OptionValue:
    """One option value of a variant: GraphQL's shape of the REST options object ``{name: value}``."""

    name: str
    value: str


# A variant's options: a JSON object {name: value} on the bus and in REST, a list of pairs in GraphQL.
OPTIONS_GRAPHQL = tuple[OptionValue, ...]


@message
class ImageRendition:
    """One pre-made size of an image (for ``srcset``): WebP and the original format at fixed widths."""

    url: str
    width: int
    height: int
    content_type: str


@message
class ProductImage:
    """A product image; its URL is content-addressed and cacheable forever."""

    id: str
    url: str
    alt: str
    width: int
    height: int
    content_type: str
    renditions: tuple[ImageRendition, ...] = ()


@message
class ProductOption:
    """One option of a product and every value its variants use (in first-seen order)."""

    name: str
    values: tuple[str, ...]


@message
class Variant:
    """What is actually bought: its own SKU, option values, price and stock.

    A product created without options has one default variant; for products that
    existed before variants, that variant's id is the product's id.
    """

    id: str
    sku: str
    options: Any = constraint(graphql=OPTIONS_GRAPHQL)  # {name: value}; JSON object of strings
    price_minor: int
    currency: str
    stock_qty: int
    product_id: str = ""


@message
class Product:
    """A product. Prices are integer minor units of an ISO 4217 currency."""

    id: Uuid
    slug: str
    name: str
    description: str
    category_id: Uuid
    category_slug: str
    price_minor: int = constraint(doc="The lowest variant price.")
    currency: str  # every variant of a product is priced in this currency
    stock_qty: int = constraint(doc="The sum of the variants' stock.")
    options: tuple[ProductOption, ...] = ()
    variants: tuple[Variant, ...] = ()
    images: tuple[ProductImage, ...] = constraint(
        default=(), doc="Images in order; the first is the main image. "
                        "Upload: POST /api/admin/products/{id}/images (multipart).")  # media.py
    # Only when the request asked for displayCurrency: the price converted exactly as checkout converts.
    # displayCurrency set and displayPriceMinor null: no exchange rate from this product's currency.
    display_price_minor: int | None = constraint(
        default=None, doc="With displayCurrency: the price converted exactly as checkout converts it "
                          "(null when no exchange rate is configured).")
    display_currency: str | None = None


@message
class CategoryFacet:
    slug: str
    count: int


@message
class OptionValueFacet:
    value: str
    count: int


@message
class OptionFacet:
    name: str
    values: tuple[OptionValueFacet, ...]


@message
class PriceFacet:
    min: MinorUnits
    max: MinorUnits
    currency: str


@message
class Facets:
    """Counts over the products matching every filter of the request (see docs/catalog.md)."""

    categories: tuple[CategoryFacet, ...]
    options: tuple[OptionFacet, ...]
    price: PriceFacet | None  # null when nothing matches or prices are in several currencies


@message
class ProductPage:
    """A page of products, shaped like the REST page."""

    items: tuple[Product, ...]
    page: int
    page_size: int
    total: int
    # See search.py.
    total_exact: bool = constraint(
        default=True, doc="False when total is an estimate (a relevance search with more matches than are ranked).")
    facets: Facets | None = None
    # With displayCurrency: the catalog currencies that have no rate into it (their products show no
    # display price, sort last by price and match no price filter).
    unconverted_currencies: tuple[str, ...] = constraint(
        default=(), doc="With displayCurrency: catalog currencies without a rate into it "
                        "(their products have displayPriceMinor null).")


@message
class ListCategories:
    pass


@message
class OptionFilter:
    """option.<name>=<value> of REST: values of one name are alternatives, names combine."""

    name: str = constraint(min_len=1, max_len=50)
    value: str = constraint(min_len=1, max_len=100)


@message
class ListProducts:
    category_slug: str | None = constraint(default=None, max_len=100)
    search: str | None = constraint(default=None, max_len=200)
    page: int = page_field()
    page_size: int = page_size_field()
    sort: Literal["relevance", "name", "price_asc", "price_desc", "newest"] | None = None
    min_price: int | None = constraint(default=None, min=0, max=2**62,
                                       doc="minor units, in displayCurrency when given, else the product's")
    max_price: int | None = constraint(default=None, min=0, max=2**62)
    in_stock: bool | None = constraint(default=None, doc="true: only products with a variant in stock")
    options: tuple[OptionFilter, ...] = constraint(
        default=(), max_len=MAX_OPTION_FILTERS,
        doc="REST: option.<name>=<value>, repeatable; values of one name OR, names AND")
    display_currency: str | None = constraint(default=None, pattern=CURRENCY,
                                              doc="adds displayPriceMinor; price sorts and filters use it")
    facets: bool = constraint(default=True, doc="false leaves the facets block out (null)")


@message
class GetProduct:
    slug: str = constraint(min_len=1, max_len=100)
    display_currency: str | None = constraint(default=None, pattern=CURRENCY,
                                              doc="adds displayPriceMinor, converted as checkout converts")


@message
class GetProductsByIds:
    ids: tuple[str, ...] = constraint(max_len=1000)
    variant_ids: tuple[str, ...] = constraint(default=(), max_len=1000, doc="also the products of these variants")


@message
class ProductList:
    items: tuple[Product, ...]


@message
class StockLine:
    product_id: str = constraint(**ID)
    qty: int = constraint(min=1, max=1_000_000)
    # Which variant; None means the product's only variant (refused when it has several).
    variant_id: str | None = constraint(default=None, **ID)


@message
class ReserveStock:
    """Atomically take stock for every line, locking rows in id order; all or nothing."""

    lines: tuple[StockLine, ...] = constraint(min_len=1, max_len=1000)


@message
class TakeStock:
    """Take stock for every (product, variant) line or for none, in one statement (checkout's short lock).

    Each line names its variant; the answer gives each variant's price at the moment
    its stock was taken, so the caller can check it charged that price.
    """

    lines: tuple[StockLine, ...] = constraint(min_len=1, max_len=1000)


@message
class TakenLine:
    variant_id: str
    product_id: str
    price_minor: int
    currency: str


@message
class StockTaken:
    items: tuple[TakenLine, ...]


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


@message(graphql="CatalogDeleted")
class Deleted:
    """The result of a catalog delete."""

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
    sku: str | None = constraint(default=None, pattern=SKU, doc="the default variant's SKU (default: the slug)")


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


# ---- variants (admin)


@message
class CreateVariant:
    product_id: str = constraint(**ID)
    sku: str = constraint(pattern=SKU)
    options: Any = constraint(default={}, doc='{"size": "M", "colour": "Navy"}: name -> value',
                              graphql=OPTIONS_GRAPHQL)
    price_minor: int = constraint(min=0, max=PRICE_MAX)
    currency: str = constraint(pattern=CURRENCY)
    stock_qty: int = constraint(default=0, min=0, max=10**9)


@message
class UpdateVariant:
    id: str = constraint(**ID)
    sku: str | None = constraint(default=None, pattern=SKU)
    options: Any = constraint(default=None, doc="replaces the variant's option values", graphql=OPTIONS_GRAPHQL)


@message
class SetVariantPrice(SetPrice):
    """A variant's price: the product's SetPrice, by the variant's id."""


@message
class SetVariantStock(SetStock):
    """A variant's stock: the product's SetStock, by the variant's id."""


def list_key(r: ListProducts) -> str | None:
    """Every filter is part of the key, in one canonical order, so equal queries share one entry."""
    if r.search:
        return None  # searches are not cached
    opts = sorted({(o.name, o.value) for o in r.options})
    parts = [
        r.category_slug or "", str(r.page), str(r.page_size), r.sort or "newest",
        "" if r.min_price is None else str(r.min_price), "" if r.max_price is None else str(r.max_price),
        "1" if r.in_stock else "", r.display_currency or "", "f" if r.facets else "",
        # Names and values are length-limited; repr keeps separators inside them unambiguous.
        repr(opts) if opts else "",
    ]
    return "products:v2:" + ":".join(parts)


def product_key(r: GetProduct) -> str:
    """One entry per product and display currency."""
    return f"product:v2:{r.slug}" + (f":{r.display_currency}" if r.display_currency else "")


def _list_tags(r: ListProducts) -> tuple[str, ...]:
    return (f"products:v1:{r.category_slug or ''}", "products:v1")


@message
class ListLowStock:
    threshold: int = constraint(default=5, min=0, max=10**9, doc="variants with at most this many in stock")
    page: int = page_field()
    page_size: int = page_size_field()


@message
class LowStockItem:
    """One variant running low, with the product it belongs to (for the admin's restock list)."""

    product_id: str
    product_slug: str
    product_name: str
    variant: Variant


@message
class LowStockPage:
    items: tuple[LowStockItem, ...]  # lowest stock first, then product name and SKU
    page: int
    page_size: int
    total: int
    threshold: int


# OpenAPI tags of the REST routes declared below (rest=Http(...)); the admin area's methods
# (scope catalog:write; admin implies it: auth grants both only to users with the admin role).
ADMIN = MethodGroup(scope="catalog:write", tags=("catalog-admin",))
TAGS = ("catalog",)


class Catalog(Service, package="shop.catalog.v1"):
    list_categories = rpc(ListCategories, tuple[Category, ...], graphql="Query.categories",
                          cache=CachePolicy(key=lambda r: "categories:v1", ttl=300), rate_limit="read",
                          rest=Http("GET /api/categories", "All categories", tags=TAGS))
    list_products = rpc(ListProducts, ProductPage, graphql="Query.products",
                        cache=CachePolicy(key=list_key, ttl=120, tags=_list_tags), rate_limit="read",
                        rest=Http("GET /api/products",
                                  tags=TAGS, aliases={"category": "categorySlug"}, query_groups={"option.": "options"},
                                  summary="A page of products (filter by category, search, price, stock and "
                                          "option.<name>=<value>; facets; display currency; sort)"))
    # The display-currency entries go with the product's tag.
    get_product = rpc(GetProduct, Product, graphql="Query.product", graphql_null_if_not_found=True, rate_limit="read",
                      cache=CachePolicy(key=product_key, ttl=300, tags=lambda r: (f"product:v2:{r.slug}",)),
                      rest=Http("GET /api/products/{slug}", "One product by slug", tags=TAGS))
    # For other plugins (carts, checkout): never exposed over HTTP.
    get_products_by_ids = rpc(GetProductsByIds, ProductList, internal=True)
    reserve_stock = rpc(ReserveStock, ProductList, internal=True)
    take_stock = rpc(TakeStock, StockTaken, internal=True)
    restock = rpc(Restock, ProductList, internal=True)
    # Admin (scope catalog:write; admin implies it: the auth plugin grants both only to users with the admin role).
    create_category = ADMIN.rpc(CreateCategory, Category, "Mutation.createCategory", "POST /api/admin/categories",
                                "Create a category", status=201)
    update_category = ADMIN.rpc(UpdateCategory, Category, "Mutation.updateCategory", "PATCH /api/admin/categories/{id}",
                                "Rename a category")
    delete_category = ADMIN.rpc(DeleteById, Deleted, "Mutation.deleteCategory", "DELETE /api/admin/categories/{id}",
                                "Delete an empty category")
    create_product = ADMIN.rpc(CreateProduct, Product, "Mutation.createProduct", "POST /api/admin/products", "Create a product",
                               status=201)
    update_product = ADMIN.rpc(UpdateProduct, Product, "Mutation.updateProduct", "PATCH /api/admin/products/{id}",
                               "Change a product's slug, name, description or category")
    delete_product = ADMIN.rpc(DeleteById, Deleted, "Mutation.deleteProduct", "DELETE /api/admin/products/{id}",
                               "Delete a product")
    set_price = ADMIN.rpc(SetPrice, Product, "Mutation.setPrice", "PUT /api/admin/products/{id}/price", "Set a product's price")
    set_stock = ADMIN.rpc(SetStock, Product, "Mutation.setStock", "PUT /api/admin/products/{id}/stock", "Set a product's stock")
    adjust_stock = ADMIN.rpc(AdjustStock, Product, "Mutation.adjustStock", "POST /api/admin/products/{id}/stock-adjustments",
                             "Add to or take from a product's stock")
    create_variant = ADMIN.rpc(CreateVariant, Variant, "Mutation.createVariant", "POST /api/admin/products/{id}/variants",
                               "Add a variant (SKU, option values, price, stock) to a product", status=201,
                               aliases={"id": "productId"})
    update_variant = ADMIN.rpc(UpdateVariant, Variant, "Mutation.updateVariant", "PATCH /api/admin/variants/{id}",
                               "Change a variant's SKU or option values")
    delete_variant = ADMIN.rpc(DeleteById, Deleted, "Mutation.deleteVariant", "DELETE /api/admin/variants/{id}",
                               "Delete a variant (not a product's last)")
    set_variant_price = ADMIN.rpc(SetVariantPrice, Variant, "Mutation.setVariantPrice", "PUT /api/admin/variants/{id}/price",
                                  "Set a variant's price")
    set_variant_stock = ADMIN.rpc(SetVariantStock, Variant, "Mutation.setVariantStock", "PUT /api/admin/variants/{id}/stock",
                                  "Set a variant's stock")
    # GET /api/admin/low-stock, GraphQL lowStock: what to restock (reads the database, never cached).
    list_low_stock = ADMIN.rpc(ListLowStock, LowStockPage, "Query.lowStock", "GET /api/admin/low-stock",
                               "Variants with at most `threshold` in stock (default 5), lowest first")


PRODUCT_CHANGES = ("created", "updated", "deleted", "stock")


@message
class ProductChanged(Event, topic="catalog.product_changed", aggregate="product_id"):
    """A product changed. ``change``: created | updated | deleted (admin writes) | stock (moved by orders)."""

    product_id: str
    slug: str
    category_slug: str
    change: str = "updated"
    product: Product | None = None  # the product as GET /api/products/{slug} shows it (None once deleted)
    previous_stock_qty: int | None = None  # when the stock moved: what it was before
    # When the stock moved at checkout (take_stock), the product is not loaded under the hot locks:
    # ``product`` is None and this is its total stock after the move.
    stock_qty: int | None = None


# ---- media (plugins/catalog/media.py): product images

IMAGE_MAX_BYTES = 10 * 1024 * 1024


@message
class UploadImage:
    """``POST /api/admin/products/{id}/images`` as multipart/form-data: ``file`` and optional ``alt``."""

    id: str = constraint(**ID)
    file: bytes = constraint(max_len=IMAGE_MAX_BYTES, doc="A JPEG, PNG or WebP image of at most 10 MB.")
    alt: str = constraint(default="", max_len=500, strip=True)


class CatalogMedia(Service, package="shop.catalog.v1"):
    # No GraphQL field: GraphQL carries no file (multipart) bodies.
    upload_image = ADMIN.rpc(UploadImage, ProductImage, (), "POST /api/admin/products/{id}/images",
                             "Add an image (multipart/form-data: file, alt); JPEG, PNG or WebP up to 10 MB",
                             status=201, rate_limit="write")
    delete_image = ADMIN.rpc(DeleteById, Deleted, "Mutation.deleteImage", "DELETE /api/admin/images/{id}", "Delete an image")

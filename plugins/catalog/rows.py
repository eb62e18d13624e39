"""SQL fragments shared by the catalog servicer, and row -> message conversion."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from .contract import Category, ImageRendition, Product, ProductImage, ProductOption, Variant
from .media_store import url_of

# Every product query selects these, from catalog_product p joined to catalog_category c.
# (stock_qty is the sum over the variants, added when the variants are attached.)
PRODUCT_COLS = (
    "p.id::text AS id, p.slug, p.name, p.description, p.category_id::text AS category_id, "
    "c.slug AS category_slug, p.price_minor, p.currency, "
    # media.py: the product's images in order (first = main), one small indexed subquery per row.
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('id', i.id, 'key', i.key, 'alt', i.alt, 'width', i.width, "
    "'height', i.height, 'contentType', i.content_type, 'renditions', i.renditions) ORDER BY i.position, i.id), "
    "'[]') FROM catalog_image i WHERE i.product_id = p.id) AS images"
)
PRODUCT_FROM = "catalog_product p JOIN catalog_category c ON c.id = p.category_id"
# For UPDATE ... RETURNING: a join in FROM would match the *old* category_id, so look the slug up
# from the new row instead.
PRODUCT_RETURNING = PRODUCT_COLS.replace(
    "c.slug AS category_slug", "(SELECT c.slug FROM catalog_category c WHERE c.id = p.category_id) AS category_slug")
VARIANT_COLS = ("v.id::text AS id, v.product_id::text AS product_id, v.sku, v.options, v.price_minor, v.currency, "
                "v.stock_qty")


def options_of(raw: Any) -> dict[str, str]:
    return orjson.loads(raw) if isinstance(raw, (str, bytes)) else dict(raw)


def variant(row: Any) -> Variant:
    return Variant(id=row["id"], sku=row["sku"], options=options_of(row["options"]), price_minor=row["price_minor"],
                   currency=row["currency"], stock_qty=row["stock_qty"], product_id=row["product_id"])


def product_options(variants: Sequence[Variant]) -> tuple[ProductOption, ...]:
    """The union of the variants' option values, names and values in first-seen order."""
    seen: dict[str, dict[str, None]] = {}
    for v in variants:
        for name, value in v.options.items():
            seen.setdefault(name, {})[value] = None
    return tuple(ProductOption(name=n, values=tuple(vals)) for n, vals in seen.items())


def product(row: Any, variants: Sequence[Variant] = (), display: int | None = None,
            display_currency: str | None = None) -> Product:
    return Product(
        id=row["id"], slug=row["slug"], name=row["name"], description=row["description"],
        category_id=row["category_id"], category_slug=row["category_slug"], price_minor=row["price_minor"],
        currency=row["currency"], stock_qty=sum(v.stock_qty for v in variants),
        options=product_options(variants), variants=tuple(variants), images=images(row["images"]),
        # Asked for a currency but no rate from the product's: the currency is echoed, the price is null.
        display_price_minor=display, display_currency=display_currency,
    )


async def variants_of(db: Any, product_ids: Iterable[Any]) -> dict[str, list[Variant]]:
    """The variants of these products (one query), by product id, in position order."""
    ids = list({str(i) for i in product_ids})
    out: dict[str, list[Variant]] = {i: [] for i in ids}
    if not ids:
        return out
    for r in await db.fetch(f"SELECT {VARIANT_COLS} FROM catalog_variant v WHERE v.product_id = ANY($1::uuid[]) "
                            "ORDER BY v.product_id, v.position, v.created_at, v.id", ids):
        out[r["product_id"]].append(variant(r))
    return out


async def products_with_variants(db: Any, records: Sequence[Any], display_currency: str | None = None) -> list[Product]:
    """Messages for product rows, their variants attached; rows may carry a display_price column."""
    by_product = await variants_of(db, (r["id"] for r in records))
    return [product(r, by_product.get(r["id"], ()),
                    r["display_price"] if display_currency is not None else None, display_currency)
            for r in records]


def images(raw: Any) -> tuple[ProductImage, ...]:
    """The ``images`` column of PRODUCT_COLS (jsonb text) as messages."""
    return tuple(image(i) for i in (orjson.loads(raw) if raw else ()))


def image(i: dict[str, Any]) -> ProductImage:
    renditions = orjson.loads(i["renditions"]) if isinstance(i["renditions"], str) else i["renditions"]
    return ProductImage(
        id=str(i["id"]), url=url_of(i["key"]), alt=i["alt"], width=i["width"], height=i["height"],
        content_type=i["contentType"],
        renditions=tuple(ImageRendition(url=r["url"], width=r["width"], height=r["height"],
                                        content_type=r["contentType"]) for r in renditions))


def category(row: Any) -> Category:
    return Category(id=row["id"], slug=row["slug"], name=row["name"])


def parse_uuid(value: str) -> uuid.UUID | None:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def like_prefix(term: str) -> str:
    """A LIKE pattern matching names that start with ``term`` (wildcards in it taken literally)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# ------------------------------------------------------------------ cache tags
# Entries (see contract.py): categories:v1; product:v2:{slug};
# products:v2:{categorySlug}:{page}:{pageSize}:{sort}:{filters...} tagged products:v1:{categorySlug}
# and products:v1. The lists without a category have categorySlug "" and so the tag "products:v1:".
# A change to a product (its variants, prices, stock included) makes stale: its own entry, the lists
# of its category (their facets count it) and the lists of every category (the "" lists).

CATEGORIES_TAG = "categories:v1"


def product_tag(slug: str) -> str:
    return f"product:v2:{slug}"


def list_tag(category_slug: str) -> str:
    return f"products:v1:{category_slug}"


ALL_LIST_TAG = list_tag("")


def product_tags(slugs: Iterable[str], category_slugs: Iterable[str]) -> set[str]:
    """What a change to products (old and new slug, old and new category) makes stale."""
    tags = {product_tag(s) for s in slugs}
    tags.update(list_tag(c) for c in category_slugs)
    tags.add(ALL_LIST_TAG)
    return tags

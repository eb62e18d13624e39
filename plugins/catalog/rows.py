"""SQL fragments shared by the catalog servicer, and row -> message conversion."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from .contract import Category, ImageRendition, Product, ProductImage
from .media_store import url_of

# Every product query selects these, from catalog_product p joined to catalog_category c.
PRODUCT_COLS = (
    "p.id::text AS id, p.slug, p.name, p.description, p.category_id::text AS category_id, "
    "c.slug AS category_slug, p.price_minor, p.currency, p.stock_qty, "
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


def product(row: Any) -> Product:
    return Product(
        id=row["id"], slug=row["slug"], name=row["name"], description=row["description"],
        category_id=row["category_id"], category_slug=row["category_slug"], price_minor=row["price_minor"],
        currency=row["currency"], stock_qty=row["stock_qty"], images=images(row["images"]),
    )


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
# Entries (see contract.py): categories:v1; product:v1:{slug};
# products:v1:{categorySlug}:{page}:{pageSize} tagged products:v1:{categorySlug} and products:v1.
# The unfiltered lists have categorySlug "" and so the tag "products:v1:".

CATEGORIES_TAG = "categories:v1"


def product_tag(slug: str) -> str:
    return f"product:v1:{slug}"


def list_tag(category_slug: str) -> str:
    return f"products:v1:{category_slug}"


ALL_LIST_TAG = list_tag("")


def product_tags(slugs: Iterable[str], category_slugs: Iterable[str]) -> set[str]:
    """What a change to products (old and new slug, old and new category) makes stale."""
    tags = {product_tag(s) for s in slugs}
    tags.update(list_tag(c) for c in category_slugs)
    tags.add(ALL_LIST_TAG)
    return tags

"""``shop seed --demo``: a deterministic demo catalog generated from word lists (no network).

20 categories and, by default, 300 products priced in EUR, USD and JPY. Clothing and
shoes come in sizes and colours (several variants, each with its SKU, price and
stock); everything else has one default variant (same id as the product, SKU = slug).
Running it again adds nothing unless ``--products N`` asks for more than exist.
Products and variants are written with one ``INSERT ... SELECT FROM unnest(...)``
each per 5,000 products, so 10,000+ products take a few seconds.
"""

from __future__ import annotations

import random
import re
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from kernel.host.plugin import CliError

from . import rows
from .media_seed import seed_images
from .seed_bulk import BULK_FROM, bulk_products

DEFAULT_PRODUCTS = 300
MAX_PRODUCTS = 1_000_000
CHUNK = 5000

# (slug, name, nouns sold there), from demo_categories.toml: data, not code.
CATEGORIES: list[tuple[str, str, tuple[str, ...]]] = [
    (c["slug"], c["name"], tuple(c["nouns"]))
    for c in tomllib.loads((Path(__file__).parent / "demo_categories.toml").read_text(encoding="utf-8"))["category"]
]

ADJECTIVES = ("Classic", "Compact", "Deluxe", "Everyday", "Handmade", "Lightweight", "Modern", "Organic",
              "Premium", "Rustic", "Sturdy", "Travel", "Vintage", "Wireless", "Eco", "Nordic", "Urban", "Pro")
BRANDS = ("Alder", "Birchwood", "Cobalt", "Driftline", "Ember", "Fjord", "Granite", "Harbor", "Indigo",
          "Juniper", "Kestrel", "Lumen", "Meridian", "Northwind", "Oakridge", "Pinnacle", "Quill", "Redfern")
COLOURS = ("Black", "White", "Slate", "Sand", "Forest Green", "Navy", "Terracotta", "Sky Blue", "Charcoal")
PRAISE = ("Built to last", "A customer favourite", "Thoughtfully designed", "Great value",
          "Made from responsibly sourced materials", "Loved by reviewers", "Small enough to take anywhere")
DETAILS = ("comes with a two-year warranty", "is easy to clean", "ships in plastic-free packaging",
           "fits neatly on any shelf", "makes a great gift", "is available while stocks last")
# Categories whose products come in options: (option name, values) pairs, sizes price up.
OPTION_SETS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "clothing": (("size", ("S", "M", "L", "XL")), ("colour", ("Black", "Navy", "Sand"))),
    "shoes": (("size", ("39", "40", "41", "42", "43", "44")),),
}
# (currency, cheapest, dearest) in minor units: EUR/USD cents, JPY whole yen.
PRICES = (("EUR", 199, 49_999), ("USD", 199, 59_999), ("JPY", 300, 80_000))


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate(start: int, count: int, categories: list[tuple[Any, str, tuple[str, ...]]]) -> dict[str, list[Any]]:
    """Products number ``start`` .. ``start + count - 1``; the same numbers always give the same products.

    Also their variants (``v_*`` columns): products of OPTION_SETS categories get one per
    combination of a seeded subset of the values; others one default variant.
    """
    cols: dict[str, list[Any]] = {k: [] for k in ("id", "category_id", "slug", "name", "description", "price",
                                                   "currency", "created_at", "v_id", "v_product", "v_sku",
                                                   "v_options", "v_price", "v_currency", "v_stock", "v_position")}
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(start, start + count):
        rnd = random.Random(i * 7919 + 17)
        cat_id, cat_name, nouns = categories[i % len(categories)]
        cat_slug = CATEGORIES[i % len(CATEGORIES)][0]
        noun = rnd.choice(nouns)
        name = f"{rnd.choice(BRANDS)} {rnd.choice(ADJECTIVES)} {noun}"
        colour = rnd.choice(COLOURS)
        currency, low, high = PRICES[i % len(PRICES)]
        price = rnd.randint(low, high)
        if currency != "JPY":
            price = price // 100 * 100 + rnd.choice((99, 95, 49, 0))  # shop-like prices: 12.99, 45.00
        else:
            price = price // 10 * 10
        stock = rnd.choice((0, 3, 5, 10, 25, 50, 100, 250))
        pid = uuid.UUID(int=random.Random(i * 104729 + 3).getrandbits(128), version=4)
        slug = f"{_slugify(name)}-{i + 1}"
        option_set = OPTION_SETS.get(cat_slug)
        variants: list[tuple[uuid.UUID, str, dict[str, str], int, int]] = []
        if option_set is None:
            variants.append((pid, slug, {}, price, stock))
        else:
            combos: list[dict[str, str]] = [{}]
            for opt_name, values in option_set:
                picked = [v for v in values if rnd.random() < 0.75] or [values[0]]
                combos = [{**c, opt_name: v} for c in combos for v in picked]
            for n, opts in enumerate(combos):
                sizes = dict(option_set).get("size", ())
                # Larger sizes cost a little more: +1.00 (or +100 yen) per step above the second smallest.
                bump = max(0, sizes.index(opts["size"]) - 1) * 100 if "size" in opts else 0
                vid = pid if n == 0 else uuid.UUID(int=random.Random(i * 104729 + 7 + n).getrandbits(128), version=4)
                sku = f"{slug}-" + "-".join(_slugify(v) for v in opts.values())
                variants.append((vid, sku, opts, price + bump, rnd.choice((0, 2, 5, 10, 20))))
        cols["id"].append(pid)
        cols["category_id"].append(cat_id)
        cols["slug"].append(slug)
        # Where colour is an option it is not part of the name.
        cols["name"].append(name if option_set else f"{name}, {colour}")
        cols["description"].append(
            f"{rnd.choice(PRAISE)}: this {colour.lower()} {noun.lower()} from {cat_name} "
            f"{' and '.join(rnd.sample(DETAILS, 2))}.")  # two different details, never one twice
        cols["price"].append(min(v[3] for v in variants))
        cols["currency"].append(currency)
        cols["created_at"].append(base - timedelta(minutes=i))
        for pos, (vid, sku, opts, vprice, vstock) in enumerate(variants):
            cols["v_id"].append(vid)
            cols["v_product"].append(pid)
            cols["v_sku"].append(sku)
            cols["v_options"].append(orjson.dumps(opts).decode())
            cols["v_price"].append(vprice)
            cols["v_currency"].append(currency)
            cols["v_stock"].append(vstock)
            cols["v_position"].append(pos)
    return cols


async def seed_demo(rt: Any, options: dict[str, Any]) -> str:
    wanted = options.get("products")
    if wanted is not None and not (0 <= int(wanted) <= MAX_PRODUCTS):
        raise CliError(f"--products must be between 0 and {MAX_PRODUCTS}")
    db = rt.db
    n_categories = await db.fetchval("SELECT count(*) FROM catalog_category")
    n_products = await db.fetchval("SELECT count(*) FROM catalog_product")
    if options.get("if_empty") and (n_categories or n_products):
        return f"skipped: the catalog has data ({n_categories} categories, {n_products} products)"
    if n_categories and wanted is None:
        return f"skipped: already seeded ({n_categories} categories, {n_products} products); use --products N for more"
    target = DEFAULT_PRODUCTS if wanted is None else int(wanted)
    async with db.transaction():
        await db.execute(
            "INSERT INTO catalog_category (slug, name) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT (slug) DO NOTHING",
            [c[0] for c in CATEGORIES], [c[1] for c in CATEGORIES])
        ids = {r["slug"]: r["id"] for r in await db.fetch(
            "SELECT id, slug FROM catalog_category WHERE slug = ANY($1::text[])", [c[0] for c in CATEGORIES])}
        cats = [(ids[slug], name, nouns) for slug, name, nouns in CATEGORIES]
        added = 0
        python_part = min(target, BULK_FROM)
        for start in range(n_products, python_part, CHUNK):
            cols = generate(start, min(CHUNK, python_part - start), cats)
            inserted = await db.fetch(
                "INSERT INTO catalog_product (id, category_id, slug, name, description, price_minor, currency, "
                "created_at) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], "
                "$6::bigint[], $7::text[], $8::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id",
                cols["id"], cols["category_id"], cols["slug"], cols["name"], cols["description"], cols["price"],
                cols["currency"], cols["created_at"])
            # Variants only for products this run inserted (a slug taken by hand is skipped whole).
            await db.execute(
                "INSERT INTO catalog_variant (id, product_id, sku, options, price_minor, currency, stock_qty, "
                "position) SELECT v.* FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::bigint[], "
                "$6::text[], $7::bigint[], $8::int[]) AS v(id, product_id, sku, options, price_minor, currency, "
                "stock_qty, position) WHERE v.product_id = ANY($9::uuid[]) ON CONFLICT DO NOTHING",
                cols["v_id"], cols["v_product"], cols["v_sku"], cols["v_options"], cols["v_price"],
                cols["v_currency"], cols["v_stock"], cols["v_position"], [r["id"] for r in inserted])
            added += len(inserted)
        if target > BULK_FROM:  # seed_bulk.py: the database generates the rest (1,000,000 in about a minute)
            added += await bulk_products(db, max(n_products, BULK_FROM), target, cats, {
                "adjectives": ADJECTIVES, "brands": BRANDS, "colours": COLOURS, "praise": PRAISE,
                "details": DETAILS, "prices": PRICES})
    pictured = await seed_images(db) if added else []  # media_seed.py: pictures for the newest products
    # A bulk load leaves the search index's pending list long and the statistics stale;
    # without this the planner picks sequential scans until autovacuum comes by.
    await db.execute("SELECT gin_clean_pending_list('catalog_product_search'::regclass)", command_timeout=600)
    await db.execute("ANALYZE catalog_category; ANALYZE catalog_product; ANALYZE catalog_variant", command_timeout=600)
    # New rows only show up in lists and categories; unknown slugs were never cached.
    # Pictured products may be older ones (already read, so cached) when --products N adds more.
    await rt.cache.invalidate([rows.CATEGORIES_TAG, "products:v1",
                               *rows.product_tags((s for s, _c in pictured), (c for _s, c in pictured))])
    total = await db.fetchval("SELECT count(*) FROM catalog_product")
    return f"{len(CATEGORIES)} categories, {added} products added ({total} in the catalog), {len(pictured)} images"

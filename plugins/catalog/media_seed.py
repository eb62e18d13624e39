"""Demo images for ``shop seed --demo``: Pillow-drawn pictures (a coloured shape and the product's initials).

Only the newest ``SEEDED_IMAGES`` products without an image get one (the storefront's
first pages), so a 10,000- or 1,000,000-product seed costs the same second or so. The
pictures go through the same pipeline as uploads (``media.process``), renditions included.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .media import Processed, process, renditions_json
from .media_store import PostgresMediaStore

SEEDED_IMAGES = 24
SIZE = (640, 480)
SHADES = {"black": (40, 40, 46), "white": (236, 236, 232), "slate": (112, 128, 144), "sand": (214, 196, 156),
          "forest green": (34, 97, 60), "navy": (30, 44, 94), "terracotta": (204, 98, 70),
          "sky blue": (120, 180, 230), "charcoal": (64, 64, 70)}


def _initials(name: str) -> str:
    words = [w for w in name.replace(",", " ").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def _drawn(name: str, slug: str, colour_name: str | None) -> Processed:
    """The processed picture of one product (runs in a worker thread)."""
    return process(draw(name, slug, colour_name))


def draw(name: str, slug: str, colour_name: str | None = None) -> bytes:
    """A JPEG for a product: background hue from its slug, a shape in its colour, its initials.

    The colour is the first variant's ``colour`` option (clothing), else the one its name
    ends with ("..., Navy"), else one drawn from the slug.
    """
    digest = hashlib.sha256(slug.encode()).digest()
    wanted = (colour_name or name.rsplit(",", 1)[-1]).strip().lower()
    colour = SHADES.get(wanted, (digest[0], digest[1], digest[2]))
    back = tuple(160 + b % 90 for b in digest[3:6])
    im = Image.new("RGB", SIZE, back)
    d = ImageDraw.Draw(im)
    w, h = SIZE
    box = (w * 0.22, h * 0.14, w * 0.78, h * 0.86)
    shape = digest[6] % 3
    if shape == 0:
        d.ellipse(box, fill=colour, outline=(20, 20, 20), width=4)
    elif shape == 1:
        d.rounded_rectangle(box, radius=36, fill=colour, outline=(20, 20, 20), width=4)
    else:
        d.polygon([(w / 2, h * 0.1), (w * 0.82, h * 0.88), (w * 0.18, h * 0.88)], fill=colour,
                  outline=(20, 20, 20), width=4)
    font = ImageFont.load_default(size=140)
    text = _initials(name)
    ink = (255, 255, 255) if sum(colour) < 380 else (20, 20, 20)
    d.text((w / 2, h / 2 + 20), text, font=font, fill=ink, anchor="mm")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()


async def seed_images(db: Any, limit: int = SEEDED_IMAGES) -> list[tuple[str, str]]:
    """Give the newest ``limit`` products that have no image one demo picture.

    Returns their (slug, category slug): the caller invalidates their cache entries (a product
    that existed before this seed may have been read, and cached, without an image).
    """
    products = await db.fetch(
        "SELECT p.id, p.slug, p.name, c.slug AS category_slug, "
        "(SELECT v.options ->> 'colour' FROM catalog_variant v WHERE v.product_id = p.id "
        " ORDER BY v.position, v.created_at, v.id LIMIT 1) AS colour "
        "FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id WHERE NOT EXISTS "
        "(SELECT 1 FROM catalog_image i WHERE i.product_id = p.id) ORDER BY p.created_at DESC, p.id DESC LIMIT $1",
        limit)
    store = PostgresMediaStore(db)
    loop = asyncio.get_running_loop()
    # Drawing and encoding release the GIL: use every core, then write everything in one transaction.
    made = await asyncio.gather(*(loop.run_in_executor(None, _drawn, p["name"], p["slug"], p["colour"])
                                  for p in products))
    async with db.transaction():
        for p, done in zip(products, made, strict=True):
            await _insert(db, store, p, done)
    return [(p["slug"], p["category_slug"]) for p in products]


async def _insert(db: Any, store: PostgresMediaStore, p: Any, done: Any) -> None:
    for f in (done.original, *done.renditions):
        await store.put(f.key, f.content_type, f.data)
    o = done.original
    await db.execute(
        "INSERT INTO catalog_image (product_id, key, content_type, alt, width, height, renditions, "
        "rendition_keys, position) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[], 0)",
        p["id"], o.key, o.content_type, p["name"], o.width, o.height, renditions_json(done),
        [r.key for r in done.renditions])

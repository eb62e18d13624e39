"""Product images: upload, re-encoding without metadata, renditions, immutable serving, several instances."""

from __future__ import annotations

import io

from PIL import Image

from tests.catalog.conftest import ADMIN, SHOPPER, Shop
from tests.catalog.media_helpers import encode, form, jpeg_with_gps, picture, upload
from tests.catalog.test_seed import empty_db_url  # noqa: F401 (fixture)

IMMUTABLE = "public, max-age=31536000, immutable"


async def _product(c):
    shop = Shop(c)
    cat = await shop.category()
    return await shop.product(cat)


async def _created(resp) -> dict:
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_a_jpeg_upload_is_re_encoded_without_exif_or_gps_and_served_immutable(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    original = jpeg_with_gps(1600, 1200)
    assert b"SecretCam" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    img = await _created(await upload(c, p["id"], original, alt="  A red mug  "))
    assert set(img) == {"id", "url", "alt", "width", "height", "contentType", "renditions"}
    assert (img["alt"], img["width"], img["height"], img["contentType"]) == ("A red mug", 1600, 1200, "image/jpeg")
    assert img["url"].startswith("/media/") and img["url"].endswith(".jpg")

    r = await c.get(img["url"])
    assert r.status == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Cache-Control"] == IMMUTABLE
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    served = await r.read()
    assert served != original
    assert b"SecretCam" not in served and b"Exif" not in served
    back = Image.open(io.BytesIO(served))
    assert back.format == "JPEG" and back.size == (1600, 1200)
    assert not back.getexif() and "icc_profile" not in back.info
    # Content-addressed: the URL names the SHA-256 of the bytes served.
    import hashlib

    assert img["url"] == f"/media/{hashlib.sha256(served).hexdigest()}.jpg"


async def test_renditions_have_the_fixed_widths_in_webp_and_the_original_format(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    img = await _created(await upload(c, p["id"], jpeg_with_gps(1600, 1200)))
    got = {(r["width"], r["contentType"]) for r in img["renditions"]}
    assert got == {(w, t) for w in (320, 640, 1280) for t in ("image/webp", "image/jpeg")} | {(1600, "image/webp")}
    for r in img["renditions"]:
        resp = await c.get(r["url"])
        assert resp.status == 200 and resp.headers["Content-Type"] == r["contentType"]
        assert resp.headers["Cache-Control"] == IMMUTABLE
        im = Image.open(io.BytesIO(await resp.read()))
        assert im.size == (r["width"], r["height"])
        assert r["height"] == round(1200 * r["width"] / 1600)
        assert im.format == {"image/webp": "WEBP", "image/jpeg": "JPEG"}[r["contentType"]]


async def test_small_images_are_not_upscaled_and_png_keeps_its_transparency(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    png = encode(picture(400, 300, "RGBA", (10, 200, 10, 128)), "PNG")
    img = await _created(await upload(c, p["id"], png, filename="x.png", content_type="image/png"))
    assert img["contentType"] == "image/png"
    assert {(r["width"], r["contentType"]) for r in img["renditions"]} == {
        (320, "image/webp"), (320, "image/png"), (400, "image/webp")}
    im = Image.open(io.BytesIO(await (await c.get(img["url"])).read()))
    assert im.mode == "RGBA" and im.getpixel((5, 5))[3] == 128


async def test_webp_uploads_are_accepted(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    img = await _created(await upload(c, p["id"], encode(picture(700, 500), "WEBP"), filename="a.webp",
                                      content_type="image/webp"))
    assert img["contentType"] == "image/webp" and img["url"].endswith(".webp")
    assert {(r["width"], r["contentType"]) for r in img["renditions"]} == {(320, "image/webp"), (640, "image/webp")}


async def test_product_lists_its_images_in_order_on_rest_and_graphql_and_the_cache_follows(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    slug = p["slug"]
    assert (await (await c.get(f"/api/products/{slug}")).json())["images"] == []
    assert (await c.get(f"/api/products/{slug}")).headers["X-Cache"] != "miss"  # now cached
    first = await _created(await upload(c, p["id"], encode(picture(500, 500), "PNG"), content_type="image/png"))
    second = await _created(await upload(c, p["id"], jpeg_with_gps(600, 400), alt="side"))
    body = await (await c.get(f"/api/products/{slug}")).json()
    assert [i["id"] for i in body["images"]] == [first["id"], second["id"]]  # first = main
    assert body["images"][1] == second
    cat_page = await (await c.get(f"/api/products?category={p['categorySlug']}")).json()
    assert [i["id"] for i in cat_page["items"][0]["images"]] == [first["id"], second["id"]]
    q = "query($s: String!) { product(slug: $s) { images { id url alt width height } } }"
    gql = await (await c.post("/graphql", json={"query": q, "variables": {"s": slug}})).json()
    assert gql["data"]["product"]["images"][1] == {k: second[k] for k in ("id", "url", "alt", "width", "height")}

    r = await c.delete(f"/api/admin/images/{first['id']}", headers=ADMIN)
    assert r.status == 200, await r.text()
    assert await r.json() == {"id": first["id"], "deleted": True}
    body = await (await c.get(f"/api/products/{slug}")).json()
    assert [i["id"] for i in body["images"]] == [second["id"]]
    assert (await c.get(first["url"])).status == 404  # its files went with it
    assert (await c.delete(f"/api/admin/images/{first['id']}", headers=ADMIN)).status == 404
    gql = await c.post("/graphql", json={"query": "mutation($i: ID!) { deleteImage(id: $i) { id deleted } }",
                                         "variables": {"i": second["id"]}}, headers=ADMIN)
    assert (await gql.json())["data"]["deleteImage"] == {"id": second["id"], "deleted": True}


async def test_the_same_picture_on_two_products_is_stored_once_and_survives_one_delete(catalog_client):
    c = await catalog_client()
    a, b = await _product(c), await _product(c)
    data = jpeg_with_gps(900, 700)
    ia = await _created(await upload(c, a["id"], data))
    ib = await _created(await upload(c, b["id"], data))
    assert ia["url"] == ib["url"] and ia["id"] != ib["id"]
    assert (await c.delete(f"/api/admin/images/{ia['id']}", headers=ADMIN)).status == 200
    assert (await c.get(ib["url"])).status == 200
    for r in ib["renditions"]:
        assert (await c.get(r["url"])).status == 200


async def test_etag_revalidation_answers_304(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    img = await _created(await upload(c, p["id"], jpeg_with_gps()))
    r = await c.get(img["url"])
    etag = r.headers["ETag"]
    r2 = await c.get(img["url"], headers={"If-None-Match": etag})
    assert r2.status == 304 and r2.headers["Cache-Control"] == IMMUTABLE
    assert (await c.get("/media/" + "0" * 64 + ".jpg")).status == 404


async def test_two_instances_without_shared_disk_serve_the_same_image(catalog_client):
    one = await catalog_client()
    two = await catalog_client()
    p = await _product(one)
    img = await _created(await upload(one, p["id"], jpeg_with_gps()))
    a = await (await one.get(img["url"])).read()
    r = await two.get(img["url"])
    assert r.status == 200 and await r.read() == a
    body = await (await two.get(f"/api/products/{p['slug']}")).json()
    assert body["images"][0]["url"] == img["url"]


async def test_uploads_need_the_admin_scope_and_an_existing_product(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    data = jpeg_with_gps()
    r = await upload(c, p["id"], data, headers={})
    assert r.status == 401
    r = await upload(c, p["id"], data, headers=SHOPPER)
    assert r.status == 403
    r = await upload(c, "00000000-0000-4000-8000-000000000000", data)
    assert r.status == 404
    r = await upload(c, "not-a-uuid", data)
    assert r.status == 404
    assert (await c.delete("/api/admin/images/00000000-0000-4000-8000-000000000000", headers=SHOPPER)).status == 403


async def test_form_fields_are_validated(catalog_client):
    c = await catalog_client()
    p = await _product(c)
    url = f"/api/admin/products/{p['id']}/images"
    r = await c.post(url, json={"file": "aGVsbG8="}, headers=ADMIN)
    body = await r.json()
    assert r.status == 400 and body["errors"][0]["field"] == "body"
    f = form(jpeg_with_gps())
    f.add_field("colour", "red")
    body = await (await c.post(url, data=f, headers=ADMIN)).json()
    assert body["errors"] == [{"field": "colour", "message": "is not a known field"}]
    import aiohttp

    f = aiohttp.FormData()
    f.add_field("alt", "no file")
    f.add_field("force_multipart", b"", filename="x")  # keep it multipart
    r = await c.post(url, data=f, headers=ADMIN)
    assert r.status == 400
    f = aiohttp.FormData()
    f.add_field("alt", "x" * 501)
    f.add_field("file", jpeg_with_gps(), filename="a.jpg", content_type="image/jpeg")
    body = await (await c.post(url, data=f, headers=ADMIN)).json()
    assert body["errors"][0]["field"] == "alt"
    f = aiohttp.FormData()
    f.add_field("file", jpeg_with_gps(), filename="a.jpg", content_type="image/jpeg")
    f.add_field("file", jpeg_with_gps(), filename="b.jpg", content_type="image/jpeg")
    body = await (await c.post(url, data=f, headers=ADMIN)).json()
    assert body["errors"] == [{"field": "file", "message": "is given more than once"}]


async def test_openapi_describes_the_upload_as_multipart_with_a_binary_file(catalog_client):
    c = await catalog_client()
    doc = await (await c.get("/api/openapi.json")).json()
    op = doc["paths"]["/api/admin/products/{id}/images"]["post"]
    content = op["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    schema = content["multipart/form-data"]["schema"]
    assert schema["properties"]["file"]["format"] == "binary"
    assert schema["required"] == ["file"]
    assert "alt" in schema["properties"]
    assert "/api/admin/images/{id}" in doc["paths"]


async def test_demo_seed_draws_images_for_the_newest_products_only_once(catalog_client):
    from plugins.catalog.media_seed import SEEDED_IMAGES, seed_images
    from tests.conftest import rt_of

    c = await catalog_client()
    rt = rt_of(c)
    shop = Shop(c)
    cat = await shop.category()
    newest = [await shop.product(cat, name=f"Alder Classic Lamp {i}, Navy") for i in range(3)]
    added = await seed_images(rt.db, limit=2)
    assert added == [(p["slug"], cat["slug"]) for p in reversed(newest[1:])]
    shown = [(await (await c.get(f"/api/products/{p['slug']}")).json())["images"] for p in newest]
    assert [len(i) for i in shown] == [0, 1, 1]  # the two newest got a picture
    pic = shown[2][0]
    assert pic["alt"] == newest[2]["name"] and (pic["width"], pic["height"]) == (640, 480)
    r = await c.get(pic["url"])
    assert r.status == 200 and Image.open(io.BytesIO(await r.read())).size == (640, 480)
    assert {x["width"] for x in pic["renditions"]} == {320, 640}
    assert len(await seed_images(rt.db, limit=2)) == 2  # the next ones; never a second picture for the same product
    counts = await rt.db.fetch("SELECT count(*) AS n FROM catalog_image WHERE product_id = ANY($1::uuid[]) "
                               "GROUP BY product_id", [p["id"] for p in newest])
    assert [r["n"] for r in counts] == [1, 1, 1]
    assert SEEDED_IMAGES <= 50


async def test_adding_and_deleting_an_image_publish_product_updated_with_the_images_through_the_outbox(
        catalog_client):
    import asyncio

    from kernel.core.events import Subscription
    from plugins.catalog.contract import ProductChanged
    from tests.conftest import rt_of

    c = await catalog_client()
    p = await _product(c)
    rt = rt_of(c)
    seen: list[ProductChanged] = []

    async def on_changed(event: ProductChanged) -> None:
        if event.product_id == p["id"]:
            seen.append(event)

    rt.events.subscribe(Subscription(ProductChanged, on_changed))
    img = await _created(await upload(c, p["id"], encode(picture(400, 300), "PNG"), content_type="image/png"))
    assert (await c.delete(f"/api/admin/images/{img['id']}", headers=ADMIN)).status == 200
    for _ in range(500):  # durable subscribers run on the outbox worker, shortly after commit
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [(e.change, e.slug) for e in seen] == [("updated", p["slug"])] * 2
    assert [[i.id for i in e.product.images] for e in seen] == [[img["id"]], []]
    # The whole product as GET shows it, variants included (webhooks send it as product.updated's data).
    assert [v.id for v in seen[0].product.variants] == [v["id"] for v in p["variants"]]
    assert await rt.db.fetchval("SELECT count(*) FROM shop_outbox WHERE topic = 'catalog.product_changed' "
                                "AND aggregate = $1", f"catalog:{p['id']}") >= 2


async def test_the_demo_seed_pictures_clothing_in_its_colour_and_a_cached_product_shows_its_new_picture(
        make_client, empty_db_url):  # noqa: F811
    from plugins.catalog import seed
    from plugins.catalog.media_seed import SEEDED_IMAGES
    from tests.catalog.conftest import PLUGINS
    from tests.catalog.test_seed import OPTS
    from tests.conftest import rt_of

    c = await make_client(PLUGINS, database_url=empty_db_url)
    rt = rt_of(c)
    summary = await seed.seed_demo(rt, {**OPTS, "products": 30})
    assert summary.endswith(f"{SEEDED_IMAGES} images")
    # Product number 25 is older than the 24 pictured: no image yet, and now cached that way.
    later = await rt.db.fetchval("SELECT slug FROM catalog_product ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
                                 SEEDED_IMAGES)
    assert (await (await c.get(f"/api/products/{later}")).json())["images"] == []
    assert (await c.get(f"/api/products/{later}")).headers["X-Cache"] != "miss"
    await seed.seed_demo(rt, {**OPTS, "products": 60})  # adds older products; pictures the next newest
    body = await (await c.get(f"/api/products/{later}")).json()
    assert len(body["images"]) == 1 and body["images"][0]["alt"] == body["name"]
    # Variants and pictures together: a product with a colour option is drawn in its first variant's colour.
    tee = await rt.db.fetchrow(
        "SELECT p.slug, v.options ->> 'colour' AS colour FROM catalog_product p JOIN catalog_variant v "
        "ON v.product_id = p.id AND v.position = 0 JOIN catalog_image i ON i.product_id = p.id "
        "WHERE v.options ? 'colour' LIMIT 1")
    assert tee is not None, "some pictured product comes in colours"
    shown = await (await c.get(f"/api/products/{tee['slug']}")).json()
    assert len(shown["variants"]) > 1 and len(shown["images"]) == 1
    from plugins.catalog.media_seed import SHADES

    pixels = Image.open(io.BytesIO(await (await c.get(shown["images"][0]["url"])).read())).convert("RGB")
    centre = pixels.getpixel((pixels.width // 2, int(pixels.height * 0.3)))  # inside the shape, above the initials
    assert max(abs(a - b) for a, b in zip(centre, SHADES[tee["colour"].lower()], strict=True)) < 24

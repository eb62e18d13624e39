"""Product images: hostile-upload-proof decoding, re-encoding, renditions, storage and serving.

An upload is decoded with Pillow and written out again from raw pixels, so nothing of
the original file survives but its picture: no EXIF/GPS, no ICC or XMP, no comment,
no appended ZIP or HTML. Anything that is not a well-formed JPEG, PNG or WebP (sniffed
from its bytes; the file name and claimed type are ignored), a decompression bomb, a
truncated file or a polyglot is 400 ``UNSUPPORTED_IMAGE``. The CPU work runs in a small
thread pool, at most ``WORKERS`` images at a time, never on the event loop.

Every stored file is content-addressed (``/media/<sha256>.<ext>``) and served with
``Cache-Control: public, max-age=31536000, immutable``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from PIL import Image, ImageOps

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, not_found

from . import rows
from .admin import require_admin
from .contract import DeleteById, Deleted, ProductImage, UploadImage
from .media_store import CONTENT_TYPES, KEY_RE, BlobCache, MediaStore, url_of

log = logging.getLogger("shop.plugins.catalog")

MAX_PIXELS = 40_000_000  # 40 MP: a decoded RGBA image of at most 160 MB
MAX_SIDE = 16_384
WIDTHS = (320, 640, 1280)  # rendition widths (never upscaled)
WORKERS = 2  # images decoded/encoded at once per process
MAX_IMAGES_PER_PRODUCT = 50
IMMUTABLE = "public, max-age=31536000, immutable"
EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

# Markup or scripts inside an "image" mean a polyglot meant for a browser or another parser.
_MARKUP = re.compile(rb"<(?:script|html|body|iframe|svg|\?php|!doctype)[\s>/]", re.IGNORECASE)


class UnsupportedImage(Exception):
    """Why an upload is refused (shown to the admin; never contains file content)."""


def unsupported(why: str) -> BusError:
    return BusError(Status.INVALID_ARGUMENT, f"The file is not a supported image: {why}. "
                    "Send a JPEG, PNG or WebP of at most 10 MB.", reason="UNSUPPORTED_IMAGE",
                    field_errors=[("file", why)])


# ------------------------------------------------------------------ structure checks


def sniff(data: bytes) -> str:
    """The format from the file's own bytes; the claimed name and content type are never trusted."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise UnsupportedImage("not a JPEG, PNG or WebP file")


def _png_end(data: bytes) -> int:
    """Offset just past IEND, walking the chunks; a chunk running past the end is a truncated file."""
    pos = 8
    while True:
        if pos + 12 > len(data):
            raise UnsupportedImage("truncated PNG")
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        pos += 12 + length
        if pos > len(data):
            raise UnsupportedImage("truncated PNG")
        if ctype == b"IEND":
            return pos


def _jpeg_end(data: bytes) -> int:
    """Offset just past EOI, walking the segments and the entropy-coded data between them."""
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise UnsupportedImage("corrupt JPEG")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if pos + 2 > n:
            break
        (length,) = struct.unpack(">H", data[pos:pos + 2])
        if length < 2:
            raise UnsupportedImage("corrupt JPEG")
        pos += length
        if marker == 0xDA:  # start of scan: skip entropy-coded bytes up to the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    raise UnsupportedImage("truncated JPEG")
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    pos += 1 if nxt == 0xFF else 2
                    continue
                break
    raise UnsupportedImage("truncated JPEG")


def _end_of_image(fmt: str, data: bytes) -> int:
    if fmt == "PNG":
        return _png_end(data)
    if fmt == "JPEG":
        return _jpeg_end(data)
    riff_size = int.from_bytes(data[4:8], "little")
    end = 8 + riff_size + (riff_size & 1)
    if end > len(data) + (riff_size & 1):
        raise UnsupportedImage("truncated WebP")
    return min(end, len(data))


def check_structure(data: bytes) -> str:
    """The sniffed format, after refusing polyglots: bytes after the image's end, or markup inside it."""
    if not data:
        raise UnsupportedImage("the file is empty")
    fmt = sniff(data)
    end = _end_of_image(fmt, data)
    if data[end:].strip(b"\x00"):
        raise UnsupportedImage("data follows the end of the image (a polyglot file)")
    if _MARKUP.search(data):
        raise UnsupportedImage("the file contains markup (a polyglot file)")
    return fmt


# ------------------------------------------------------------------ decoding and encoding


@dataclass(frozen=True)
class Encoded:
    key: str  # <sha256>.<ext>
    content_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Processed:
    original: Encoded
    renditions: tuple[Encoded, ...]


def _encode(im: Image.Image, fmt: str) -> Encoded:
    out = io.BytesIO()
    if fmt == "JPEG":
        im.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        im.save(out, "PNG", optimize=False, compress_level=6)
    else:
        im.save(out, "WEBP", quality=80, method=4)
    data = out.getvalue()
    ext = EXT[fmt]
    return Encoded(f"{hashlib.sha256(data).hexdigest()}.{ext}", CONTENT_TYPES[ext], data, im.width, im.height)


def decode(data: bytes) -> tuple[str, Image.Image]:
    """Fully decode ``data`` into clean pixels (a new image: no metadata carried over)."""
    fmt = check_structure(data)
    with warnings.catch_warnings():
        # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that; both are refusals here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])
            w, h = im.size
            if w < 1 or h < 1 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
                raise UnsupportedImage(f"{w}x{h} pixels is more than allowed ({MAX_PIXELS} pixels, sides up to {MAX_SIDE})")
            im.load()  # the whole image: truncated or corrupt data fails here
            im = ImageOps.exif_transpose(im)  # photos stand the right way up once EXIF is gone
            mode = "RGBA" if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else "RGB"
            pixels = im.convert(mode)
            # A new image from raw pixels: EXIF, GPS, ICC, XMP, text chunks and comments stay behind.
            clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
        except UnsupportedImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnsupportedImage("too many pixels (a decompression bomb)") from exc
        except Exception as exc:  # whatever a decoder trips on in hostile bytes is a bad file, never a 500
            raise UnsupportedImage("the image data is corrupt, truncated or of an unsupported kind") from exc
    return fmt, clean


def process(data: bytes) -> Processed:
    """Decode, re-encode in the same format, and make renditions (WebP and the original format)."""
    fmt, im = decode(data)
    original = _encode(im, fmt)
    renditions: list[Encoded] = []
    for width in WIDTHS:
        if width >= im.width:
            break
        height = max(1, round(im.height * width / im.width))
        small = im.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        renditions.append(_encode(small, "WEBP"))
        if fmt != "WEBP":
            renditions.append(_encode(small, fmt))
    if fmt != "WEBP":  # a full-size WebP too: usually far smaller than the JPEG or PNG
        renditions.append(_encode(im, "WEBP"))
    return Processed(original, tuple(renditions))


def renditions_json(done: Processed) -> str:
    """The ``renditions`` column: smallest first, WebP before the original format at each width."""
    return orjson.dumps([
        {"url": url_of(r.key), "width": r.width, "height": r.height, "contentType": r.content_type}
        for r in sorted(done.renditions, key=lambda r: (r.width, r.content_type != "image/webp"))]).decode()


# ------------------------------------------------------------------ servicer


def image_message(row: Any) -> ProductImage:
    return rows.image({**dict(row), "contentType": row["content_type"]})


IMAGE_COLS = "i.id::text AS id, i.key, i.alt, i.width, i.height, i.content_type, i.renditions"


class MediaServicer:
    """``CatalogMedia``: upload and delete product images. Uses the catalog servicer to invalidate."""

    def __init__(self, catalog: Any, store: MediaStore, cache_bytes: int = 64 * 1024 * 1024) -> None:
        self.catalog = catalog
        self.db = catalog.db
        self.store = store
        self.cache = BlobCache(cache_bytes)
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="shop-media")
        self._slots = asyncio.Semaphore(WORKERS)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _process(self, data: bytes) -> Processed:
        # At most WORKERS images decoded at once. The slot is released when the work ends, not when
        # the request does: a client that hangs up cannot free a slot while its image is still decoding.
        await self._slots.acquire()
        try:
            fut = asyncio.get_running_loop().run_in_executor(self._pool, process, data)
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(lambda _f: self._slots.release())
        try:
            return await asyncio.shield(fut)
        except UnsupportedImage as exc:
            raise unsupported(str(exc)) from None

    async def _product(self, raw_id: str, lock: bool) -> Any:
        pid = rows.parse_uuid(raw_id)
        row = None if pid is None else await self.db.fetchrow(
            "SELECT p.id, p.slug, c.slug AS category_slug FROM catalog_product p "
            "JOIN catalog_category c ON c.id = p.category_id WHERE p.id = $1" + (" FOR UPDATE OF p" if lock else ""),
            pid)
        if row is None:
            raise not_found(f"product {raw_id!r}")
        return row

    async def _invalidate(self, product: Any) -> None:
        """In the write's transaction: stale cache entries go after commit, and ProductChanged
        (``updated``, with the product as GET shows it, images included) goes into the outbox."""
        records = await self.db.fetch(f"SELECT {rows.PRODUCT_COLS} FROM {rows.PRODUCT_FROM} WHERE p.id = $1",
                                      product["id"])
        await self.catalog.changed_products(await rows.products_with_variants(self.db, records))

    async def upload_image(self, req: UploadImage, ctx: CallContext) -> ProductImage:
        require_admin(ctx)
        await self._product(req.id, lock=False)  # 404 before spending CPU on the file
        done = await self._process(req.file)
        files = [done.original, *done.renditions]
        async with self.db.transaction():
            product = await self._product(req.id, lock=True)
            count = await self.db.fetchval("SELECT count(*) FROM catalog_image WHERE product_id = $1", product["id"])
            if count >= MAX_IMAGES_PER_PRODUCT:
                raise BusError(Status.FAILED_PRECONDITION, f"A product has at most {MAX_IMAGES_PER_PRODUCT} images.",
                               reason="TOO_MANY_IMAGES")
            for f in files:
                await self.store.put(f.key, f.content_type, f.data)
            o = done.original
            row = await self.db.fetchrow(
                "INSERT INTO catalog_image AS i (product_id, key, content_type, alt, width, height, renditions, "
                "rendition_keys, position) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[], "
                "(SELECT coalesce(max(position), -1) + 1 FROM catalog_image WHERE product_id = $1)) "
                f"RETURNING {IMAGE_COLS}",
                product["id"], o.key, o.content_type, req.alt, o.width, o.height,
                renditions_json(done), [r.key for r in done.renditions])
            await self._invalidate(product)
        log.info("image_uploaded", extra={"product_id": str(product["id"]), "key": o.key, "bytes": len(o.data)})
        return image_message(row)

    async def delete_image(self, req: DeleteById, ctx: CallContext) -> Deleted:
        require_admin(ctx)
        iid = rows.parse_uuid(req.id)
        if iid is None:
            raise not_found(f"image {req.id!r}")
        async with self.db.transaction():
            row = await self.db.fetchrow(
                "DELETE FROM catalog_image i USING catalog_product p, catalog_category c "
                "WHERE i.id = $1 AND p.id = i.product_id AND c.id = p.category_id "
                "RETURNING p.id, p.slug, c.slug AS category_slug, i.key, i.rendition_keys", iid)
            if row is None:
                raise not_found(f"image {req.id!r}")
            # Files no other image uses any more (the same picture may be on several products).
            keys = [row["key"], *row["rendition_keys"]]
            unused = await self.db.fetch(
                "SELECT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT 1 FROM catalog_image i "
                "WHERE i.key = k OR i.rendition_keys @> ARRAY[k])", keys)
            gone = [r["k"] for r in unused]
            if gone:
                await self.store.delete(gone)
            await self._invalidate(row)
        self.cache.drop(gone)
        return Deleted(id=req.id, deleted=True)

    # ------------------------------------------------------------ serving

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """GET /media/{key}: the file's bytes, cacheable forever (its key is its content's hash)."""
        key = request.match_info["key"]
        if not KEY_RE.match(key):
            raise web.HTTPNotFound()
        etag = f'"{key.split(".")[0]}"'
        headers = {"Cache-Control": IMMUTABLE, "ETag": etag, "X-Content-Type-Options": "nosniff",
                   # Served bytes are pixels only; still, never let them act as a document.
                   "Content-Security-Policy": "default-src 'none'; sandbox",
                   "Cross-Origin-Resource-Policy": "cross-origin"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)  # same key, same bytes: nothing to look up
        item = self.cache.get(key)
        if item is None:
            item = await self.store.get(key)
            if item is None:
                raise web.HTTPNotFound(headers={"Cache-Control": "no-store"})
            self.cache.put(key, item)
        content_type, data = item
        return web.Response(body=data, content_type=content_type, headers=headers)

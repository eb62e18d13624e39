"""Image files for the media tests, made with Pillow (or by hand where Pillow would refuse to)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import aiohttp
from PIL import Image

from tests.catalog.conftest import ADMIN


def picture(width: int = 800, height: int = 600, mode: str = "RGB", colour: Any = (200, 60, 40)) -> Image.Image:
    im = Image.new(mode, (width, height), colour)
    # Some detail, so encoders produce real data (and resizing has something to do).
    for x in range(0, width, max(1, width // 16)):
        for y in range(height):
            im.putpixel((x, y), (0, 0, 0, 255)[: len(mode)] if mode != "L" else 0)
    return im


def encode(im: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kwargs)
    return out.getvalue()


def jpeg_with_gps(width: int = 800, height: int = 600) -> bytes:
    """A JPEG whose EXIF carries a camera model and GPS coordinates."""
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # Model
    gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    return encode(picture(width, height), "JPEG", exif=exif.tobytes(), quality=90)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` pixels, all zero: tiny file, huge image."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    parts = [comp.compress(row) for _ in range(height)]
    idat = b"".join(parts) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def zip_file() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.html", "<html><script>alert(1)</script></html>")
    return out.getvalue()


def form(data: bytes, *, filename: str = "photo.jpg", content_type: str = "image/jpeg",
         alt: str | None = None) -> aiohttp.FormData:
    f = aiohttp.FormData()
    f.add_field("file", data, filename=filename, content_type=content_type)
    if alt is not None:
        f.add_field("alt", alt)
    return f


async def upload(client: Any, product_id: str, data: bytes, *, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> Any:
    return await client.post(f"/api/admin/products/{product_id}/images", data=form(data, **kwargs),
                             headers=headers if headers is not None else ADMIN)

"""Product images: content-addressed blobs in PostgreSQL (the default media store) and per-product image rows."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:40:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "catalog product images and media blobs"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "catalog", DESCRIPTION, sql(r"""
        -- PostgresMediaStore: one row per stored file, keyed by the SHA-256 of its bytes plus extension,
        -- so every instance serves the same bytes without a shared disk.
        CREATE TABLE IF NOT EXISTS catalog_media_blob (
            key TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            data BYTEA NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT catalog_media_blob_key_format CHECK (key ~ '^[0-9a-f]{64}\.(jpg|png|webp)$')
        );
        -- Images are already compressed: store out of line without trying pglz on them.
        ALTER TABLE catalog_media_blob ALTER COLUMN data SET STORAGE EXTERNAL;

        CREATE TABLE IF NOT EXISTS catalog_image (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            product_id UUID NOT NULL REFERENCES catalog_product (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            content_type TEXT NOT NULL,
            alt TEXT NOT NULL DEFAULT '',
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            -- [{url, width, height, contentType}], smallest first; their blob keys are in rendition_keys.
            renditions JSONB NOT NULL DEFAULT '[]',
            rendition_keys TEXT[] NOT NULL DEFAULT '{}',
            position INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        -- A product's images in order (the first is the main image); blob garbage collection by key.
        CREATE INDEX IF NOT EXISTS catalog_image_product ON catalog_image (product_id, position, id);
        CREATE INDEX IF NOT EXISTS catalog_image_key ON catalog_image (key);
        CREATE INDEX IF NOT EXISTS catalog_image_rendition_keys ON catalog_image USING GIN (rendition_keys);
    """))

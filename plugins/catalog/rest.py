"""REST adapters over the Catalog bus methods (names fixed by docs/spec)."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Catalog, CatalogMedia

TAGS = ("catalog",)
ADMIN = ("catalog-admin",)


def routes() -> list[Route]:
    return [
        Route("GET", "/api/categories", Catalog.list_categories, summary="All categories", tags=TAGS),
        Route("GET", "/api/products", Catalog.list_products, tags=TAGS,
              summary="A page of products (filter by category, search, price, stock and option.<name>=<value>; "
                      "facets; display currency; sort)",
              aliases={"category": "categorySlug"}, query_groups={"option.": "options"}),
        Route("GET", "/api/products/{slug}", Catalog.get_product, summary="One product by slug", tags=TAGS),
        Route("POST", "/api/admin/categories", Catalog.create_category, status=201, summary="Create a category",
              tags=ADMIN),
        Route("PATCH", "/api/admin/categories/{id}", Catalog.update_category, summary="Rename a category",
              tags=ADMIN),
        Route("DELETE", "/api/admin/categories/{id}", Catalog.delete_category,
              summary="Delete an empty category", tags=ADMIN),
        Route("POST", "/api/admin/products", Catalog.create_product, status=201, summary="Create a product",
              tags=ADMIN),
        Route("PATCH", "/api/admin/products/{id}", Catalog.update_product,
              summary="Change a product's slug, name, description or category", tags=ADMIN),
        Route("DELETE", "/api/admin/products/{id}", Catalog.delete_product, summary="Delete a product", tags=ADMIN),
        Route("PUT", "/api/admin/products/{id}/price", Catalog.set_price, summary="Set a product's price",
              tags=ADMIN),
        Route("PUT", "/api/admin/products/{id}/stock", Catalog.set_stock, summary="Set a product's stock",
              tags=ADMIN),
        Route("POST", "/api/admin/products/{id}/stock-adjustments", Catalog.adjust_stock,
              summary="Add to or take from a product's stock", tags=ADMIN),
        Route("POST", "/api/admin/products/{id}/variants", Catalog.create_variant, status=201,
              summary="Add a variant (SKU, option values, price, stock) to a product", tags=ADMIN,
              aliases={"id": "productId"}),
        Route("PATCH", "/api/admin/variants/{id}", Catalog.update_variant,
              summary="Change a variant's SKU or option values", tags=ADMIN),
        Route("DELETE", "/api/admin/variants/{id}", Catalog.delete_variant,
              summary="Delete a variant (not a product's last)", tags=ADMIN),
        Route("PUT", "/api/admin/variants/{id}/price", Catalog.set_variant_price, summary="Set a variant's price",
              tags=ADMIN),
        Route("GET", "/api/admin/low-stock", Catalog.list_low_stock, tags=ADMIN,
              summary="Variants with at most `threshold` in stock (default 5), lowest first"),
        Route("PUT", "/api/admin/variants/{id}/stock", Catalog.set_variant_stock, summary="Set a variant's stock",
              tags=ADMIN),
        Route("POST", "/api/admin/products/{id}/images", CatalogMedia.upload_image, status=201, tags=ADMIN,
              summary="Add an image (multipart/form-data: file, alt); JPEG, PNG or WebP up to 10 MB"),
        Route("DELETE", "/api/admin/images/{id}", CatalogMedia.delete_image, summary="Delete an image", tags=ADMIN),
    ]

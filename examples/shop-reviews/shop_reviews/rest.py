"""REST adapters: the kernel builds the handlers from these routes."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Reviews

# The path's {slug} fills the request's productSlug field.
SLUG = {"slug": "productSlug"}


def routes() -> list[Route]:
    return [
        Route("GET", "/api/products/{slug}/reviews", Reviews.list_reviews, aliases=SLUG, tags=("reviews",),
              summary="Reviews of a product, newest first"),
        Route("GET", "/api/products/{slug}/rating", Reviews.rating_summary, aliases=SLUG, tags=("reviews",),
              summary="Review count and average rating (hundredths) of a product"),
        Route("POST", "/api/products/{slug}/reviews", Reviews.add_review, status=201, aliases=SLUG,
              tags=("reviews",), summary="Review a product you bought (once)"),
    ]

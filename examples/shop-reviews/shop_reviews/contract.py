"""What other plugins may import from reviews: messages and the Reviews service.

Ratings are integers on the bus (kernel messages carry no floats, so a cached
reply decodes exactly): the average is given in hundredths, 425 meaning 4.25.
"""

from __future__ import annotations

from kernel.core.messages import Limits, constraint, message
from kernel.core.scopes import Scope
from kernel.core.service import CachePolicy, Http, Service, rpc

# This plugin's own scope (declared in its manifest; the consent screen shows the description).
SCOPES = (Scope("reviews:write", "Review products you bought, under your account"),)

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ID: Limits = {"min_len": 1, "max_len": 64}
MAX_BODY = 2000
MAX_PAGE_SIZE = 50


@message
class Review:
    """A customer's review of a product they bought."""

    id: str
    product_id: str
    rating: int = constraint(doc="1 to 5")
    body: str
    created_at: str  # ISO 8601, UTC


@message
class ReviewPage:
    """A page of reviews, newest first, shaped like the REST page."""

    items: tuple[Review, ...]
    page: int
    page_size: int
    total: int


@message
class RatingSummary:
    product_id: str
    count: int
    average_hundredths: int | None  # None while the product has no review


@message
class ListReviews:
    """Name the product by ``productSlug`` (REST) or ``productId`` (GraphQL, other plugins): exactly one."""

    product_slug: str | None = constraint(default=None, min_len=1, max_len=100, pattern=SLUG)
    product_id: str | None = constraint(default=None, **ID)
    page: int = constraint(default=1, min=1, max=100_000)
    page_size: int = constraint(default=10, min=1, max=MAX_PAGE_SIZE)


@message
class GetRatingSummary:
    product_slug: str | None = constraint(default=None, min_len=1, max_len=100, pattern=SLUG)
    product_id: str | None = constraint(default=None, **ID)


@message
class AddReview:
    product_slug: str = constraint(min_len=1, max_len=100, pattern=SLUG)
    rating: int = constraint(min=1, max=5)
    body: str = constraint(default="", max_len=MAX_BODY, strip=True)


def product_tag(product_id: str) -> str:
    return f"reviews:v1:{product_id}"


def slug_tag(slug: str) -> str:
    return f"reviews:v1:slug:{slug}"


def _list_key(r: ListReviews) -> str | None:
    if r.product_id is not None and r.product_slug is None:
        return f"reviews:v1:{r.product_id}:{r.page}:{r.page_size}"
    if r.product_slug is not None and r.product_id is None:
        return f"reviews:v1:slug:{r.product_slug}:{r.page}:{r.page_size}"
    return None  # invalid request: let the servicer refuse it, uncached


def _summary_key(r: GetRatingSummary) -> str | None:
    if r.product_id is not None and r.product_slug is None:
        return f"reviews:v1:rating:{r.product_id}"
    if r.product_slug is not None and r.product_id is None:
        return f"reviews:v1:rating:slug:{r.product_slug}"
    return None


def _tags(r: ListReviews | GetRatingSummary) -> tuple[str, ...]:
    # Adding a review invalidates both tags: it knows the product's id and slug.
    return (product_tag(r.product_id),) if r.product_id is not None else (slug_tag(r.product_slug or ""),)


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
TAGS = ("reviews",)


class Reviews(Service, package="shop.reviews.v1"):
    list_reviews = rpc(ListReviews, ReviewPage, cache=CachePolicy(key=_list_key, ttl=120, tags=_tags),
                       rate_limit="read",
                       rest=Http("GET /api/products/{slug}/reviews", tags=TAGS, aliases={"slug": "productSlug"},
                                 summary="Reviews of a product, newest first"))
    rating_summary = rpc(GetRatingSummary, RatingSummary, cache=CachePolicy(key=_summary_key, ttl=120, tags=_tags),
                         rate_limit="read",
                         rest=Http("GET /api/products/{slug}/rating", tags=TAGS, aliases={"slug": "productSlug"},
                                   summary="Review count and average rating (hundredths) of a product"))
    # Only a signed-in user holding a paid order of the product (asked of orders) may review it, once.
    add_review = rpc(AddReview, Review, scope="reviews:write", user=True, rate_limit="write", write=True,
                     rest=Http("POST /api/products/{slug}/reviews",
                               status=201, tags=TAGS, aliases={"slug": "productSlug"},
                               summary="Review a product you bought (once)"))

"""Declaring bus services: typed methods with full gRPC-style names and options.

A plugin's ``contract.py`` declares, for example::

    class Catalog(Service, package="shop.catalog.v1"):
        get_product = rpc(GetProduct, Product, cache=CachePolicy(key=..., ttl=300))

``Catalog.get_product.full_name == "/shop.catalog.v1.Catalog/GetProduct"``.
Other plugins import the contract and call ``bus.call(Catalog.get_product, req, ctx)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

Req = TypeVar("Req")
Resp = TypeVar("Resp")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """Cache-aside for a read method.

    ``key(request)`` gives the cache key (None: do not cache this request);
    ``tags(request)`` the invalidation tags the entry belongs to (the key itself is
    always a tag). ``ttl`` is the Redis TTL in seconds.
    """

    key: Callable[[Any], str | None]
    ttl: int = 300
    tags: Callable[[Any], tuple[str, ...]] = lambda request: ()
    vary_by_principal: bool = False


HTTP_VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Http:
    """Where the REST adapter serves a bus method: ``rest=Http("GET /api/orders/{id}", "One order")``.

    The path is an aiohttp pattern; its parameters and the query string fill the request
    fields of the same (camelCase) name, the JSON body the rest. ``aliases`` maps other public
    names to request fields (``{"category": "categorySlug"}``); ``query_groups`` collects
    repeatable ``<prefix><name>=<value>`` query keys into a list field of ``{name, value}``
    objects (``{"option.": "options"}``). The path is part of the public contract, so it is
    written here, beside the method, and nowhere else.
    """

    route: str  # "VERB /path"
    summary: str = ""
    status: int = 200
    tags: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    query_groups: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        verb, _, path = self.route.partition(" ")
        if verb not in HTTP_VERBS or not path.startswith("/"):
            raise ValueError(f"Http route {self.route!r}: expected 'VERB /path' with VERB one of {sorted(HTTP_VERBS)}")

    @property
    def verb(self) -> str:
        return self.route.partition(" ")[0]

    @property
    def path(self) -> str:
        return self.route.partition(" ")[2]


@dataclass(frozen=True, slots=True)
class MethodOptions:
    scope: str | None = None  # required OAuth scope; None: public
    user: bool = False  # requires a signed-in user (not a client) principal
    rate_limit: str | None = None  # rate-limit class name from the config
    cache: CachePolicy | None = None
    idempotent: bool = False  # honours Idempotency-Key (stored, replayed)
    internal: bool = False  # only callable by other plugins, never exposed over HTTP
    deadline: float | None = None  # default seconds when the caller set none
    write: bool = False  # changes state (documentation, metrics, CSRF)
    # GraphQL root fields ("Query.product", "Mutation.setPrice") the kernel binds to this
    # method (kernel.web.graphql.GraphQLPart.services); the plugin's SDL declares their arguments.
    graphql: tuple[str, ...] = ()
    graphql_null_if_not_found: bool = False  # those fields answer null, not an error, on NOT_FOUND
    # REST routes the kernel serves this method on (kernel.web.rest.declared_routes).
    rest: tuple[Http, ...] = ()


class Method(Generic[Req, Resp]):
    """One bus method. Typed so that ``bus.call`` returns ``Resp`` for mypy."""

    def __init__(self, request_type: type[Req], response_type: type[Resp], options: MethodOptions) -> None:
        self.request_type = request_type
        self.response_type = response_type
        self.options = options
        self.service: type[Service] | None = None
        self.attr = ""
        self.name = ""
        self.full_name = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.name = "".join(p.capitalize() for p in attr.split("_"))

    def __repr__(self) -> str:
        return f"<Method {self.full_name or self.attr}>"


def is_shared_read(method: Method[Any, Any]) -> bool:
    """Whether a method's cached answer is the same for every caller: a cache policy, public
    (no scope, no signed-in user) and not ``vary_by_principal``. Only such answers may be kept
    whole and served to callers without credentials (kernel.web.shortpath)."""
    o = method.options
    return o.cache is not None and o.scope is None and not o.user and not o.cache.vary_by_principal


def rpc(
    request_type: type[Req],
    response_type: type[Resp],
    *,
    scope: str | None = None,
    user: bool = False,
    rate_limit: str | None = None,
    cache: CachePolicy | None = None,
    idempotent: bool = False,
    internal: bool = False,
    deadline: float | None = None,
    write: bool = False,
    graphql: str | tuple[str, ...] = (),
    graphql_null_if_not_found: bool = False,
    rest: Http | tuple[Http, ...] = (),
) -> Method[Req, Resp]:
    return Method(
        request_type,
        response_type,
        MethodOptions(
            scope=scope,
            user=user,
            rate_limit=rate_limit,
            cache=cache,
            idempotent=idempotent,
            internal=internal,
            deadline=deadline,
            write=write or idempotent,
            graphql=(graphql,) if isinstance(graphql, str) else graphql,
            graphql_null_if_not_found=graphql_null_if_not_found,
            rest=(rest,) if isinstance(rest, Http) else rest,
        ),
    )


class MethodGroup:
    """Methods declared alike: one scope and OpenAPI tags, a GraphQL field and a REST route each.

    An admin area is the usual case::

        ADMIN = MethodGroup(scope="catalog:write", tags=("catalog-admin",))

        class Catalog(Service, package="shop.catalog.v1"):
            set_price = ADMIN.rpc(SetPrice, Product, "Mutation.setPrice", "PUT /api/admin/products/{id}/price",
                                  "Set a product's price")

    A method whose route is not a GET is a write (``write=True``) unless it says otherwise;
    other :func:`rpc` options pass through (``idempotent=True``, ``rate_limit=...``).
    """

    def __init__(self, *, scope: str | None = None, tags: tuple[str, ...] = (), **options: Any) -> None:
        self.scope = scope
        self.tags = tags
        self.options = options

    def rpc(self, request_type: type[Req], response_type: type[Resp], graphql: str | tuple[str, ...], route: str,
            summary: str = "", *, status: int = 200, aliases: dict[str, str] | None = None,
            **options: Any) -> Method[Req, Resp]:
        http = Http(route, summary, status=status, tags=self.tags, aliases=aliases or {})
        merged = {"scope": self.scope, "write": http.verb != "GET", **self.options, **options}
        return rpc(request_type, response_type, graphql=graphql, rest=http, **merged)


class Service:
    """Base of a service declaration; subclasses name their ``package``."""

    package: ClassVar[str] = ""
    service_name: ClassVar[str] = ""
    methods: ClassVar[dict[str, Method[Any, Any]]] = {}

    def __init_subclass__(cls, *, package: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.package = package
        cls.service_name = f"{package}.{cls.__name__}"
        cls.methods = {}
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Method):
                value.service = cls
                value.full_name = f"/{cls.service_name}/{value.name}"
                cls.methods[attr] = value

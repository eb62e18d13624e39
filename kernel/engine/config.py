"""Settings: a TOML file named by ``SHOP_CONFIG``, then environment overrides.

Declarative: :class:`Settings` is the typed message, and :data:`OPTIONS` maps each
of its fields to its TOML key, its environment variable and its parser, so that a
setting is written once (docs/operations.md lists the same table; a test keeps the
two in step). Validated once at startup; a bad value, an unknown key, an unknown
rate-limit class or a malformed URL stops the process with a one-line message that
names the setting and lists what is known.

Secret values may be written as ``$env:NAME`` or ``$file:/path`` and are resolved
here; :meth:`Settings.redacted` shows the config without them.

Plugin sections (``[plugins.<name>]``) are validated later by the plugin's own
config model (kernel.host.plugin); from the environment they are set as
``SHOP_PLUGINS__<NAME>__<KEY>=value`` (the value is read as the field's type).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .ratelimit import RateClass


class ConfigError(Exception):
    """Bad configuration; the message names the setting and what to do."""


DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    # class: (requests, per seconds)
    "read": (600, 60.0),
    "write": (120, 60.0),
    "login": (10, 60.0),
    "signup": (10, 600.0),
    "money": (60, 60.0),
    "token": (120, 60.0),
}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    workers: int = 1
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".shop-data")
    home: Path | None = None  # SHOP_HOME: holds static_web/ and migrations/ (None: the packaged ones)
    secret_key: str | None = None
    redis_prefix: str = "shop:"
    log_level: str = "INFO"
    log_json: bool = True
    demo: bool = False  # demo conveniences (free top-ups, test cards): SHOP_DEMO=1
    env: str = "development"  # development | production
    allow_demo_in_production: bool = False
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose X-Forwarded-For is believed
    cors_origins: tuple[str, ...] = ()  # exact origins allowed to call /api, /graphql, /oauth/token
    metrics_allow: tuple[str, ...] = ()  # CIDRs (besides loopback) that may read /metrics
    metrics_token: str | None = None  # or `Authorization: Bearer <token>`
    plugins_enabled: tuple[str, ...] | None = None  # None: every discovered plugin
    plugins_disabled: tuple[str, ...] = ()
    plugins_strict: bool = True
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    rate_limit_outage: str = "allow"  # allow | deny
    cache_local_entries: int = 4096
    cache_local_ttl: float = 30.0
    cache_max_tag_members: int = 20_000
    deadline_seconds: float = 15.0
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    # About one resolved field per unit: 1200 keep one request's work on the loop near 50 ms
    # (a full page of 100 products with every field costs about 1000).
    graphql_max_cost: int = 1200
    graphql_max_tokens: int = 500  # checked by a linear scan before the query is parsed
    graphql_max_fragments: int = 32
    max_body_bytes: int = 1_048_576
    max_json_depth: int = 32
    slow_request_timeout: float = 30.0
    db_pool_max: int = 20
    outbox_worker: bool = True  # run the outbox worker in this process (serve: yes; one-off CLI commands: no)
    outbox_max_attempts: int = 15  # a durable event handler is given up ("dead") after this many failures
    outbox_lease_seconds: int = 60  # a task whose worker died is retried after this; handlers get half of it

    @property
    def issuer(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def production(self) -> bool:
        """Production mode: an https public URL, or ``SHOP_ENV=production``."""
        return self.env == "production" or self.issuer.startswith("https://")

    def rate_classes(self) -> dict[str, RateClass]:
        return {name: RateClass(name, limit, period) for name, (limit, period) in self.rate_limits.items()}

    def plugin_section(self, name: str) -> dict[str, Any]:
        return dict(self.plugin_config.get(name, {}))

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("secret_key", "metrics_token") and v:
                v = "***"
            elif f.name in ("database_url", "redis_url") and v:
                v = _redact_url(v)
            elif f.name == "plugin_config":
                v = {p: {k: ("***" if _secretish(k) else val) for k, val in sec.items()} for p, sec in v.items()}
            elif isinstance(v, Path):
                v = str(v)
            out[f.name] = v
        return out

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def check_startup(self) -> None:
        """Refusals that depend on several settings at once (production mode)."""
        if not self.production:
            return
        why = "SHOP_ENV=production" if self.env == "production" else f"the public URL {self.issuer} is https"
        if not self.secret_key:
            raise ConfigError(f"production mode ({why}) needs SHOP_SECRET_KEY (or secret_key): it encrypts "
                              "the token signing keys; set a long random value and keep it")
        if self.demo and not self.allow_demo_in_production:
            raise ConfigError(f"production mode ({why}) refuses demo mode (SHOP_DEMO / demo = true): it hands out "
                              "free wallet money and accepts test cards; switch it off, or set "
                              "SHOP_ALLOW_DEMO_IN_PRODUCTION=1 if this really is a public demo")


class EnvText(str):
    """A plugin setting that came from the environment as text: the plugin's
    config model says which type to read it as (see kernel.host.plugin)."""

    __slots__ = ()


def _secretish(key: str) -> bool:
    k = key.lower()
    return any(s in k for s in ("secret", "password", "token", "key"))


def _redact_url(url: str) -> str:
    p = urlsplit(url)
    return url.replace(f":{p.password}@", ":***@") if p.password else url


def resolve_secret(value: Any, where: str) -> Any:
    """``$env:NAME`` and ``$file:/path`` references, resolved at startup."""
    if not isinstance(value, str):
        return value
    if value.startswith("$env:"):
        name = value[5:]
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]
    if value.startswith("$file:"):
        path = Path(value[6:])
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    return value


# ---------------------------------------------------------------------- parsers
# Each takes (value from TOML or the environment, the name to blame) and returns
# the typed value or raises ConfigError.

Parser = Callable[[Any, str], Any]


def text(value: Any, where: str) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def _number(convert: Callable[[Any], float], kind: str, bounds: str, lo: float, hi: float,
            whole: bool) -> Parser:
    """A parser of numbers between lo and hi; ``whole`` refuses floats (1.5 is not an integer)."""
    def parse(value: Any, where: str) -> float:
        try:
            n = convert(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be {kind}, got {value!r}") from None
        if isinstance(value, bool) or (whole and isinstance(value, float)) or not lo <= n <= hi:
            raise ConfigError(f"{where} must be {bounds}, got {value!r}")
        return n

    return parse


def integer(lo: int, hi: int) -> Parser:
    return _number(int, "an integer", f"an integer between {lo} and {hi}", lo, hi, whole=True)


def seconds(lo: float, hi: float) -> Parser:
    return _number(float, "a number of seconds", f"between {lo:g} and {hi:g} seconds", lo, hi, whole=False)


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where} must be true or false, got {value!r}")


def choice(*allowed: str, upper: bool = False) -> Parser:
    def parse(value: Any, where: str) -> str:
        v = value.upper() if upper and isinstance(value, str) else value
        if v not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(allowed)}, got {value!r}")
        return str(v)

    return parse


def names(value: Any, where: str) -> tuple[str, ...]:
    """A list, or a comma-separated string (the environment's form)."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value)
    raise ConfigError(f"{where} must be a list of strings (or a comma-separated string), got {value!r}")


def networks(value: Any, where: str) -> tuple[str, ...]:
    out = names(value, where)
    for item in out:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{where}: {item!r} is not an IP address or CIDR (like 10.0.0.0/8)") from None
    return out


def origins(value: Any, where: str) -> tuple[str, ...]:
    out = names(value, where)
    for item in out:
        p = urlsplit(item)
        if p.scheme not in ("http", "https") or not p.hostname or p.path or p.query or p.fragment \
                or p.username or item.endswith("/"):
            raise ConfigError(f"{where}: {item!r} is not an origin (scheme://host[:port], no path or slash)")
    return out


def url(*schemes: str, path_ok: bool = True) -> Parser:
    def parse(raw: Any, where: str) -> str:
        value = text(raw, where)
        try:
            p = urlsplit(value)
            p.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise ConfigError(f"{where} is not a valid URL: {exc}") from None
        if p.scheme not in schemes:
            raise ConfigError(f"{where} must be a {' or '.join(s + '://' for s in schemes)} URL, got "
                              f"{_redact_url(value)!r}")
        if not p.hostname and p.scheme not in ("unix",) and "host=" not in p.query:
            raise ConfigError(f"{where} must name a host, got {_redact_url(value)!r}")
        if any(c.isspace() for c in value):
            raise ConfigError(f"{where} must not contain spaces")
        if not path_ok and (p.query or p.fragment or p.username):
            raise ConfigError(f"{where} must be scheme://host[:port][/path], got {value!r}")
        return value

    return parse


def a_path(value: Any, where: str) -> Path:
    return Path(text(value, where))


def secret(parse: Parser) -> Parser:
    def resolved(value: Any, where: str) -> Any:
        return parse(resolve_secret(value, where), where)

    return resolved


@dataclass(frozen=True)
class Option:
    """One setting: its :class:`Settings` field, TOML key ("section.key" or a
    top-level "key"), parser, one-line meaning and environment variable
    (``SHOP_<FIELD>`` unless named)."""

    field: str
    toml: str | None
    parse: Parser
    doc: str
    env: str = ""

    def __post_init__(self) -> None:
        if not self.env:
            object.__setattr__(self, "env", "SHOP_" + self.field.upper())


OPTIONS: tuple[Option, ...] = (
    Option("host", "server.host", text, "address to listen on"),
    Option("port", "server.port", integer(1, 65535), "port to listen on"),
    Option("public_url", "server.public_url", url("http", "https", path_ok=False),
           "the URL customers use (issuer, links, cookies); https means production mode"),
    Option("workers", "server.workers", integer(1, 64), "worker processes for `shop serve`"),
    Option("trusted_proxies", "server.trusted_proxies", networks, "proxies whose X-Forwarded-For is believed (addresses/CIDRs)"),
    Option("cors_origins", "server.cors_origins", origins, "browser origins allowed to call /api, /graphql and /oauth/token"),
    Option("database_url", "database.url", secret(url("postgresql", "postgres")),
           "PostgreSQL; unset: an embedded server", env="DATABASE_URL"),
    Option("db_pool_max", "database.pool_max", integer(1, 500), "connections per process"),
    Option("redis_url", "redis.url", secret(url("redis", "rediss", "unix")),
           "Redis or Valkey; unset: an embedded Valkey", env="REDIS_URL"),
    Option("redis_prefix", "redis.prefix", text, "prefix of every key and pub/sub channel (several shops on one Redis)"),
    Option("secret_key", "secret_key", secret(text), "encrypts the token signing keys; required in production"),
    Option("demo", "demo", boolean, "demo conveniences: free top-ups, test cards"),
    Option("env", "env", choice("development", "production"), "`production` forces production mode"),
    Option("allow_demo_in_production", "allow_demo_in_production", boolean, "let a production-mode shop run with demo on"),
    Option("data_dir", "data_dir", a_path, "where embedded servers keep their data"),
    Option("home", "home", a_path, "where static_web/ and migrations/ live"),
    Option("metrics_allow", "metrics.allow", networks, "CIDRs (besides loopback) that may read /metrics"),
    Option("metrics_token", "metrics.token", secret(text), "`Authorization: Bearer <token>` also reads /metrics"),
    Option("plugins_enabled", "plugins.enabled", names, "only these plugins (default: every installed one)"),
    Option("plugins_disabled", "plugins.disabled", names, "plugins switched off"),
    Option("plugins_strict", "plugins.strict", boolean, "a plugin that fails to import stops startup"),
    Option("rate_limit_outage", "rate_limits.outage_policy", choice("allow", "deny"),
           "while Redis is down: allow or deny rate-limited calls"),
    Option("cache_local_entries", "cache.local_entries", integer(0, 10**7), "in-process cache size"),
    Option("cache_local_ttl", "cache.local_ttl", seconds(0, 3600), "in-process cache lifetime"),
    Option("cache_max_tag_members", "cache.max_tag_members", integer(1, 10**7),
           "Redis entries one invalidation tag may hold (bounds keys an anonymous client can create)"),
    Option("graphql_introspection", "graphql.introspection", boolean, "allow GraphQL introspection"),
    Option("graphql_max_depth", "graphql.max_depth", integer(1, 10**6), "deepest GraphQL selection"),
    Option("graphql_max_aliases", "graphql.max_aliases", integer(1, 10**6), "most aliases per GraphQL query"),
    Option("graphql_max_cost", "graphql.max_cost", integer(1, 10**6), "largest GraphQL query cost"),
    Option("graphql_max_tokens", "graphql.max_tokens", integer(1, 10**6),
           "most lexical tokens in one GraphQL query (checked before parsing)"),
    Option("graphql_max_fragments", "graphql.max_fragments", integer(1, 10**6), "most fragment definitions in one GraphQL query"),
    Option("outbox_max_attempts", "outbox.max_attempts", integer(1, 1000),
           "failures after which a durable event handler's task is dead"),
    Option("outbox_lease_seconds", "outbox.lease_seconds", integer(2, 3600), "after this a task whose worker died is retried"),
    Option("max_body_bytes", "limits.max_body_bytes", integer(1024, 10**9), "largest request body"),
    Option("max_json_depth", "limits.max_json_depth", integer(2, 1000), "deepest JSON body"),
    Option("deadline_seconds", "limits.deadline_seconds", seconds(1, 600), "longest a bus call may run"),
    Option("slow_request_timeout", "limits.slow_request_timeout", seconds(1, 3600), "longest a request body may take to arrive"),
    Option("log_level", "logging.level", choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True), "log level"),
    Option("log_json", "logging.json", boolean, "one JSON object per log line"),
)

# Sections with free-form keys, handled below rather than by OPTIONS.
RATE_SECTION = "rate_limits"
PLUGINS_SECTION = "plugins"
PLUGIN_ENV_PREFIX = "SHOP_PLUGINS__"
RATE_ENV_PREFIX = "SHOP_RATE_LIMIT_"
# Environment variables read elsewhere (not settings of their own).
OTHER_ENV = ("SHOP_CONFIG",)


def _rate(value: Any, where: str) -> tuple[int, float]:
    """``"100/60"`` (100 per 60 s) or ``{limit = 100, period = 60}``."""
    count, period = integer(0, 10**9), integer(1, 86400)
    if isinstance(value, str) and "/" in value:
        a, b = value.split("/", 1)
        return count(a.strip(), where), float(period(b.strip(), where))
    if isinstance(value, dict):
        unknown = set(value) - {"limit", "period"}
        if unknown:
            raise _unknown("config key", f"{where}.{sorted(unknown)[0]}", {"limit", "period"})
        return count(value.get("limit"), f"{where}.limit"), float(period(value.get("period", 60), f"{where}.period"))
    raise ConfigError(f"{where} must look like \"100/60\" (requests/seconds)")


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"SHOP_CONFIG names {path}, which does not exist") from None
    except OSError as exc:
        raise ConfigError(f"SHOP_CONFIG {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"SHOP_CONFIG {path} is not valid TOML: {exc}") from None


def _unknown(kind: str, key: str, known: set[str]) -> ConfigError:
    return ConfigError(f"unknown {kind} {key!r}; known: {', '.join(sorted(known))}")


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``SHOP_CONFIG`` (TOML) and the environment, then ``overrides``."""
    env = dict(os.environ if env is None else env)
    data = _read_toml(env["SHOP_CONFIG"]) if env.get("SHOP_CONFIG") else {}
    s: dict[str, Any] = {}
    by_toml = {o.toml: o for o in OPTIONS if o.toml}
    sections = {k.split(".")[0] for k in by_toml if "." in k} | {RATE_SECTION, PLUGINS_SECTION}
    top_keys = {k for k in by_toml if "." not in k}

    # 1. The TOML file: every key must be known.
    for key, value in data.items():
        if key in top_keys:
            s[by_toml[key].field] = by_toml[key].parse(value, key)
            continue
        if key not in sections:
            raise _unknown("config section or key", key, sections | top_keys)
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] must be a table of settings")
        for sub, v in value.items():
            dotted = f"{key}.{sub}"
            if dotted in by_toml:
                s[by_toml[dotted].field] = by_toml[dotted].parse(v, dotted)
            elif key == RATE_SECTION:
                s.setdefault("rate_limits", {})[sub] = _rate(v, dotted)
            elif key == PLUGINS_SECTION and isinstance(v, dict):
                s.setdefault("plugin_config", {})[sub] = {
                    k: resolve_secret(val, f"plugins.{sub}.{k}") for k, val in v.items()}
            else:
                known = {k.split(".", 1)[1] for k in by_toml if k.startswith(key + ".")}
                if key == PLUGINS_SECTION:
                    raise ConfigError(f"unknown config key {dotted!r}; known: {', '.join(sorted(known))}, "
                                      "or a [plugins.<name>] table of that plugin's settings")
                raise _unknown("config key", dotted, {f"{key}.{k}" for k in known})

    # 2. The environment: a set, non-empty variable wins over the file.
    for o in OPTIONS:
        if o.env not in env:
            continue
        raw = env[o.env]
        if raw == "" and o.parse is not names:  # an empty list is meaningful; an empty port is not
            continue
        s[o.field] = o.parse(raw, o.env)
    for key, raw in env.items():
        if key.startswith(RATE_ENV_PREFIX) and key != "SHOP_RATE_LIMIT_OUTAGE" and raw:
            s.setdefault("rate_limits", {})[key[len(RATE_ENV_PREFIX):].lower()] = _rate(raw, key)
        elif key.startswith(PLUGIN_ENV_PREFIX):
            plugin, sep, setting = key[len(PLUGIN_ENV_PREFIX):].partition("__")
            if not sep or not plugin or not setting:
                raise ConfigError(f"{key}: plugin settings from the environment are "
                                  "SHOP_PLUGINS__<PLUGIN>__<SETTING>=value")
            s.setdefault("plugin_config", {}).setdefault(plugin.lower(), {})[setting.lower()] = EnvText(raw)

    rates = dict(DEFAULT_RATE_LIMITS)
    for name, rate in s.pop("rate_limits", {}).items():
        if name not in DEFAULT_RATE_LIMITS:
            where = f"{RATE_ENV_PREFIX}{name.upper()}" if f"{RATE_ENV_PREFIX}{name.upper()}" in env \
                else f"rate_limits.{name}"
            raise _unknown(f"rate-limit class in {where}:", name, set(DEFAULT_RATE_LIMITS) | {"outage_policy"})
        rates[name] = rate
    s["rate_limits"] = rates
    settings = Settings(**s).with_(**overrides)
    settings.check_startup()
    return settings

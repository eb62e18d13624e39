"""Settings: a TOML file named by ``SHOP_CONFIG``, then environment overrides.

Validated once at startup; a bad value stops the process with a message that names
the setting. Secret values may be written as ``$env:NAME`` or ``$file:/path`` and
are resolved here; :meth:`Settings.redacted` shows the config without them.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

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
    home: Path = Path(".")  # where static_web/ and migrations/ live
    secret_key: str | None = None
    redis_prefix: str = "shop:"
    log_level: str = "INFO"
    log_json: bool = True
    demo: bool = True
    plugins_enabled: tuple[str, ...] | None = None  # None: every discovered plugin
    plugins_disabled: tuple[str, ...] = ()
    plugins_strict: bool = True
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    rate_limit_outage: str = "allow"  # allow | deny
    cache_local_entries: int = 4096
    cache_local_ttl: float = 30.0
    deadline_seconds: float = 15.0
    graphql_introspection: bool = True
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_cost: int = 5000
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

    def rate_classes(self) -> dict[str, RateClass]:
        return {name: RateClass(name, limit, period) for name, (limit, period) in self.rate_limits.items()}

    def plugin_section(self, name: str) -> dict[str, Any]:
        return dict(self.plugin_config.get(name, {}))

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("secret_key",) and v:
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


def _secretish(key: str) -> bool:
    k = key.lower()
    return any(s in k for s in ("secret", "password", "token", "key"))


def _redact_url(url: str) -> str:
    from urllib.parse import urlparse

    p = urlparse(url)
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


def _as_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a list of plugin names")


def _as_int(value: Any, where: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not lo <= n <= hi:
        raise ConfigError(f"{where} must be between {lo} and {hi}, got {value!r}")
    return n


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where} must be true or false, got {value!r}")


def _rate(value: Any, where: str) -> tuple[int, float]:
    """``"100/60"`` (100 per 60 s) or ``{limit = 100, period = 60}``."""
    if isinstance(value, str) and "/" in value:
        a, b = value.split("/", 1)
        return _as_int(a, where, 0, 10**9), float(_as_int(b, where, 1, 86400))
    if isinstance(value, dict):
        return _as_int(value.get("limit"), f"{where}.limit", 0, 10**9), float(
            _as_int(value.get("period", 60), f"{where}.period", 1, 86400)
        )
    raise ConfigError(f"{where} must look like \"100/60\" (requests/seconds)")


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``SHOP_CONFIG`` (TOML) and the environment, then ``overrides``."""
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    cfg_path = env.get("SHOP_CONFIG")
    if cfg_path:
        try:
            data = tomllib.loads(Path(cfg_path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"SHOP_CONFIG names {cfg_path}, which does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"SHOP_CONFIG {cfg_path} is not valid TOML: {exc}") from None
    s: dict[str, Any] = {}
    server = data.pop("server", {})
    known_top = {"server", "database", "redis", "plugins", "rate_limits", "cache", "graphql", "limits", "logging",
                 "secret_key", "demo", "data_dir"}
    unknown = set(data) - known_top
    if unknown:
        raise ConfigError(f"unknown config section(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known_top))}")
    if "host" in server:
        s["host"] = str(server["host"])
    if "port" in server:
        s["port"] = _as_int(server["port"], "server.port", 1, 65535)
    if "public_url" in server:
        s["public_url"] = str(server["public_url"])
    if "workers" in server:
        s["workers"] = _as_int(server["workers"], "server.workers", 1, 64)
    if "url" in data.get("database", {}):
        s["database_url"] = resolve_secret(data["database"]["url"], "database.url")
    if "pool_max" in data.get("database", {}):
        s["db_pool_max"] = _as_int(data["database"]["pool_max"], "database.pool_max", 1, 500)
    if "url" in data.get("redis", {}):
        s["redis_url"] = resolve_secret(data["redis"]["url"], "redis.url")
    if "prefix" in data.get("redis", {}):
        s["redis_prefix"] = str(data["redis"]["prefix"])
    if "secret_key" in data:
        s["secret_key"] = resolve_secret(data["secret_key"], "secret_key")
    if "demo" in data:
        s["demo"] = _as_bool(data["demo"], "demo")
    if "data_dir" in data:
        s["data_dir"] = Path(data["data_dir"])
    plugins = dict(data.get("plugins", {}))
    if "enabled" in plugins:
        s["plugins_enabled"] = _as_list(plugins.pop("enabled"), "plugins.enabled")
    if "disabled" in plugins:
        s["plugins_disabled"] = _as_list(plugins.pop("disabled"), "plugins.disabled")
    if "strict" in plugins:
        s["plugins_strict"] = _as_bool(plugins.pop("strict"), "plugins.strict")
    pconf: dict[str, dict[str, Any]] = {}
    for name, section in plugins.items():
        if not isinstance(section, dict):
            raise ConfigError(f"plugins.{name} must be a table of settings for plugin {name!r}")
        pconf[name] = {k: resolve_secret(v, f"plugins.{name}.{k}") for k, v in section.items()}
    s["plugin_config"] = pconf
    rates = dict(DEFAULT_RATE_LIMITS)
    for name, value in data.get("rate_limits", {}).items():
        if name == "outage_policy":
            if value not in ("allow", "deny"):
                raise ConfigError("rate_limits.outage_policy must be \"allow\" or \"deny\"")
            s["rate_limit_outage"] = value
            continue
        rates[name] = _rate(value, f"rate_limits.{name}")
    cache = data.get("cache", {})
    if "local_entries" in cache:
        s["cache_local_entries"] = _as_int(cache["local_entries"], "cache.local_entries", 0, 10**7)
    if "local_ttl" in cache:
        s["cache_local_ttl"] = float(_as_int(cache["local_ttl"], "cache.local_ttl", 0, 3600))
    gql = data.get("graphql", {})
    if "introspection" in gql:
        s["graphql_introspection"] = _as_bool(gql["introspection"], "graphql.introspection")
    for k in ("max_depth", "max_aliases", "max_cost"):
        if k in gql:
            s[f"graphql_{k}"] = _as_int(gql[k], f"graphql.{k}", 1, 10**6)
    limits = data.get("limits", {})
    if "max_body_bytes" in limits:
        s["max_body_bytes"] = _as_int(limits["max_body_bytes"], "limits.max_body_bytes", 1024, 10**9)
    if "deadline_seconds" in limits:
        s["deadline_seconds"] = float(_as_int(limits["deadline_seconds"], "limits.deadline_seconds", 1, 600))
    if "slow_request_timeout" in limits:
        s["slow_request_timeout"] = float(_as_int(limits["slow_request_timeout"], "limits.slow_request_timeout", 1, 3600))
    logging_ = data.get("logging", {})
    if "level" in logging_:
        s["log_level"] = str(logging_["level"]).upper()
    if "json" in logging_:
        s["log_json"] = _as_bool(logging_["json"], "logging.json")

    # Environment overrides.
    if env.get("SHOP_HOST"):
        s["host"] = env["SHOP_HOST"]
    if env.get("SHOP_PORT"):
        s["port"] = _as_int(env["SHOP_PORT"], "SHOP_PORT", 1, 65535)
    if env.get("SHOP_PUBLIC_URL"):
        s["public_url"] = env["SHOP_PUBLIC_URL"]
    if env.get("DATABASE_URL"):
        s["database_url"] = env["DATABASE_URL"]
    if env.get("REDIS_URL"):
        s["redis_url"] = env["REDIS_URL"]
    if env.get("SHOP_DATA_DIR"):
        s["data_dir"] = Path(env["SHOP_DATA_DIR"])
    if env.get("SHOP_HOME"):
        s["home"] = Path(env["SHOP_HOME"])
    if env.get("SHOP_SECRET_KEY"):
        s["secret_key"] = resolve_secret(env["SHOP_SECRET_KEY"], "SHOP_SECRET_KEY")
    if env.get("SHOP_REDIS_PREFIX"):
        s["redis_prefix"] = env["SHOP_REDIS_PREFIX"]
    if env.get("SHOP_LOG_LEVEL"):
        s["log_level"] = env["SHOP_LOG_LEVEL"].upper()
    if env.get("SHOP_LOG_JSON"):
        s["log_json"] = _as_bool(env["SHOP_LOG_JSON"], "SHOP_LOG_JSON")
    if env.get("SHOP_DEMO"):
        s["demo"] = _as_bool(env["SHOP_DEMO"], "SHOP_DEMO")
    if "SHOP_PLUGINS_ENABLED" in env:
        s["plugins_enabled"] = _as_list(env["SHOP_PLUGINS_ENABLED"], "SHOP_PLUGINS_ENABLED")
    if "SHOP_PLUGINS_DISABLED" in env:
        s["plugins_disabled"] = _as_list(env["SHOP_PLUGINS_DISABLED"], "SHOP_PLUGINS_DISABLED")
    if env.get("SHOP_GRAPHQL_INTROSPECTION"):
        s["graphql_introspection"] = _as_bool(env["SHOP_GRAPHQL_INTROSPECTION"], "SHOP_GRAPHQL_INTROSPECTION")
    if env.get("SHOP_SLOW_REQUEST_TIMEOUT"):
        s["slow_request_timeout"] = float(_as_int(env["SHOP_SLOW_REQUEST_TIMEOUT"], "SHOP_SLOW_REQUEST_TIMEOUT", 1, 3600))
    if env.get("SHOP_OUTBOX_MAX_ATTEMPTS"):
        s["outbox_max_attempts"] = _as_int(env["SHOP_OUTBOX_MAX_ATTEMPTS"], "SHOP_OUTBOX_MAX_ATTEMPTS", 1, 1000)
    if env.get("SHOP_OUTBOX_LEASE_SECONDS"):
        s["outbox_lease_seconds"] = _as_int(env["SHOP_OUTBOX_LEASE_SECONDS"], "SHOP_OUTBOX_LEASE_SECONDS", 2, 3600)
    if env.get("SHOP_RATE_LIMIT_OUTAGE"):
        if env["SHOP_RATE_LIMIT_OUTAGE"] not in ("allow", "deny"):
            raise ConfigError("SHOP_RATE_LIMIT_OUTAGE must be allow or deny")
        s["rate_limit_outage"] = env["SHOP_RATE_LIMIT_OUTAGE"]
    for key, value in env.items():
        if key.startswith("SHOP_RATE_LIMIT_") and key != "SHOP_RATE_LIMIT_OUTAGE":
            rates[key[len("SHOP_RATE_LIMIT_"):].lower()] = _rate(value, key)
    s["rate_limits"] = rates
    if s.get("log_level", "INFO") not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log level must be DEBUG, INFO, WARNING or ERROR")
    s.update(overrides)
    return Settings(**s)

"""The malicious-input suite: the worst request shapes we can build, against a live server,
while another process measures ``/healthz``.

Every hostile request must be answered without a 5xx and within ``BUDGET_MS`` of server
time (its ``Server-Timing`` header), and ``/healthz`` must never wait longer than
``BUDGET_MS`` meanwhile: no single request may hold the event loop. Covered:

- GraphQL shapes: fragment chains (cubic in the engine's validator), wide and fanning
  fragments, deep nesting, many operations, token floods, alias floods, huge strings,
  page sizes passed as variables, oversized variables;
- oversized and malformed bodies (REST and GraphQL);
- NUL and control characters in every string field of every REST route (read from the
  OpenAPI document, so new routes are covered without editing this file) and in every
  string argument of every GraphQL field (read by introspection), as literals and variables.

The figures are printed (``pytest -s``) and recorded in docs/security.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.hostile.conftest import Hostile, raw_request
from tests.hostile.probe import HealthProbe

pytestmark = pytest.mark.timeout(300)

BUDGET_MS = 100.0
STALL_MS = 1000.0
MAX_QUERY_CHARS = 20_000  # the length limit /graphql applies before anything else
BAD_STRINGS = {"NUL": "a\u0000b", "BEL": "a\u0007b", "ESC": "\u001b[31m", "VT": "x\u000by"}

_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class Answer:
    label: str
    status: int
    server_ms: float
    client_ms: float
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Attack:
    """Sends hostile requests over one client, remembering each answer and its timing."""

    def __init__(self, h: Hostile) -> None:
        self.h = h
        self.client = httpx.Client(base_url=h.base, timeout=60)
        self.answers: list[Answer] = []

    def send(self, label: str, method: str, path: str, **kw: Any) -> Answer:
        a = self._send(label, method, path, **kw)
        for attempt in range(1, 3):
            # On a shared machine one answer can be late for reasons of its own (a GC pause,
            # the CPU taken away): a request that is really costly is slow every time. A query
            # is sent again with trailing blanks, so that no parse cache makes the retry cheap.
            if a.server_ms <= BUDGET_MS:
                break
            body = kw.get("json")
            if isinstance(body, dict) and isinstance(body.get("query"), str):
                kw = {**kw, "json": {**body, "query": body["query"] + " " * attempt}}
            again = self._send(label, method, path, **kw)
            a = again if again.server_ms < a.server_ms else a
        self.answers.append(a)
        return a

    def _send(self, label: str, method: str, path: str, **kw: Any) -> Answer:
        started = time.perf_counter()
        r = self.client.request(method, path, **kw)
        client_ms = (time.perf_counter() - started) * 1000
        m = _TIMING.search(r.headers.get("server-timing", ""))
        assert m, f"{label}: no Server-Timing header ({r.status_code})"
        return Answer(label, r.status_code, float(m.group(1)), client_ms, r.content)

    def gql(self, label: str, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Answer:
        body: dict[str, Any] = {"query": query, **kw}
        if variables is not None:
            body["variables"] = variables
        return self.send(label, "POST", "/graphql", json=body, headers=self.h.auth())

    def report(self) -> str:
        worst = sorted(self.answers, key=lambda a: a.server_ms)[-3:]
        return ", ".join(f"{a.label}: {a.server_ms:.1f} ms server / {a.client_ms:.1f} ms client ({a.status})"
                         for a in worst)

    def assert_all_answered_in_budget(self) -> None:
        fives = [f"{a.label}: {a.status} {a.body[:200]!r}" for a in self.answers if a.status >= 500]
        assert not fives, fives
        slow = [f"{a.label}: {a.server_ms:.1f} ms" for a in self.answers if a.server_ms > BUDGET_MS]
        assert not slow, f"over {BUDGET_MS} ms of server time: {slow}"


@pytest.fixture
def attack(hostile: Hostile) -> Iterator[Attack]:
    a = Attack(hostile)
    with HealthProbe(hostile.port) as probe:
        yield a
    a.client.close()
    assert probe.result is not None
    res = probe.result
    print(f"\n[{len(a.answers)} requests] worst: {a.report()}; /healthz: {res.samples} samples, "
          f"worst {res.worst_ms:.1f} ms, p99 {res.p99_ms:.1f} ms")
    assert res.failures == 0, f"/healthz failed {res.failures} times"
    a.assert_all_answered_in_budget()
    # Every request's own server time is held to the budget above (a request that blocks the
    # loop is inside its own handler's time). Seen from outside, on a machine whose two cores
    # other jobs share, a lone /healthz sample can be late with no request to blame: so the
    # prober allows at most 1 % of its samples over the budget, none over STALL_MS (a blocked
    # loop, like v0.1's fragment chain, delayed /healthz by seconds), and a p99 within budget.
    late = res.over(BUDGET_MS)
    # Below 100 samples a "p99" is the worst sample, which the 1 % allowance already covers.
    if res.samples >= 100:
        assert res.p99_ms <= BUDGET_MS, f"/healthz p99 {res.p99_ms:.1f} ms"
    assert late <= max(1, res.samples // 100), f"/healthz late {late} times of {res.samples}"
    assert res.worst_ms <= STALL_MS, f"/healthz was delayed {res.worst_ms:.1f} ms"
    hostile.assert_alive()


def errors_of(a: Answer) -> list[dict[str, Any]]:
    doc = a.json()
    errors: list[dict[str, Any]] = doc.get("errors") or []
    return errors


def assert_refused(a: Answer, reason: str | None = None, code: str = "INVALID_ARGUMENT") -> dict[str, Any]:
    assert 400 <= a.status < 500, f"{a.label}: {a.status} {a.body[:300]!r}"
    errors = errors_of(a)
    assert errors, f"{a.label}: {a.body[:300]!r}"
    ext = errors[0]["extensions"]
    assert ext["code"] == code, (a.label, errors)
    if reason is not None:
        assert ext.get("reason") == reason, (a.label, errors)
    assert a.json().get("data") is None, a.label
    return errors[0]


def chain(n: int, *, prefix: str = "F") -> str:
    """The longest fragment chain of ``n`` links: each fragment spreads the next."""
    frags = "".join(f"fragment {prefix}{i} on ProductPage{{...{prefix}{i + 1}}}" for i in range(n))
    return f"{{products{{...{prefix}0}}}}{frags}fragment {prefix}{n} on ProductPage{{total}}"


def longest_chain_under_the_length_limit() -> str:
    n = 10
    while len(chain(n + 10)) < MAX_QUERY_CHARS:
        n += 10
    return chain(n)


# ------------------------------------------------------------------ GraphQL shapes


def test_fragment_chain_under_20_kb_is_refused_before_the_validator_stalls(attack: Attack) -> None:
    q = longest_chain_under_the_length_limit()
    assert len(q) < MAX_QUERY_CHARS and q.count("fragment") > 500
    assert_refused(attack.gql("fragment chain", q))
    # Shorter chains, still past the spread-chain bound, are refused the same way.
    for n in (40, 100, 200):
        assert_refused(attack.gql(f"chain {n}", chain(n)))


def test_fragment_chain_within_the_limits_is_answered(attack: Attack) -> None:
    a = attack.gql("short chain", chain(5))
    assert a.status == 200 and not errors_of(a), a.body[:300]
    assert isinstance(a.json()["data"]["products"]["total"], int)


def test_wide_and_fanning_fragments_are_refused(attack: Attack) -> None:
    # Each fragment spreads every later one: few definitions, an enormous expansion.
    wide = " ".join(f"fragment W{i} on ProductPage {{ total " + " ".join(f"...W{j}" for j in range(i + 1, 10))
                    + " }" for i in range(10))
    assert_refused(attack.gql("wide fragments", f"{{ products {{ ...W0 }} }} {wide}"), "TOO_MANY_FRAGMENTS")
    fan = " ".join(f"fragment F{i} on ProductPage {{ ...F{i + 1} ...F{i + 1} }}" for i in range(9))
    assert_refused(attack.gql("fan-out", f"{{ products {{ ...F0 }} }} {fan} fragment F9 on ProductPage {{ total }}"),
                   "TOO_MANY_FRAGMENTS")
    many = " ".join(f"fragment M{i} on ProductPage {{ total }}" for i in range(40))
    spreads = " ".join(f"...M{i}" for i in range(40))
    assert_refused(attack.gql("many fragments", f"{{ products {{ {spreads} }} }} {many}"), "TOO_MANY_FRAGMENTS")
    same = "...S " * 200
    assert_refused(attack.gql("one fragment spread 200 times",
                              f"{{ products {{ {same} }} }} fragment S on ProductPage {{ total }}"),
                   "TOO_MANY_FRAGMENTS")
    assert_refused(attack.gql("cycle", "{ products { ...A } } fragment A on ProductPage { ...B } "
                                       "fragment B on ProductPage { ...A }"), "FRAGMENT_CYCLE")


def test_deep_nesting_in_selections_arguments_and_values_is_refused(attack: Attack) -> None:
    assert_refused(attack.gql("selection nesting", "{a" * 6_000 + "}" * 6_000), "QUERY_TOO_DEEP")
    assert_refused(attack.gql("list nesting", "{ products(search: " + "[" * 6_000 + '"x"' + "]" * 6_000
                              + ") { total } }"), "QUERY_TOO_DEEP")
    assert_refused(attack.gql("object nesting", "{ products(search: " + "{a: " * 3_000 + "1" + "}" * 3_000
                              + ") { total } }"), "QUERY_TOO_DEEP")
    # Just under the nesting bound: the engine reads it (and rejects the type), quickly.
    a = attack.gql("list nesting at the bound", "{ products(search: " + "[" * 60 + '"x"' + "]" * 60 + ") { total } }")
    assert a.status < 500 and errors_of(a)
    inner = "id"
    for _ in range(40):
        inner = f"category {{ id products {{ items {{ {inner} }} }} }}"
    assert_refused(attack.gql("depth bomb", f"{{ products {{ items {{ {inner} }} }} }}"))


def test_many_operations_and_token_floods_are_refused(attack: Attack) -> None:
    ops = " ".join(f"query Q{i} {{ shopVersion }}" for i in range(600))
    assert_refused(attack.gql("600 operations", ops[:MAX_QUERY_CHARS - 10], operationName="Q1"))
    ops = " ".join(f"query Q{i} {{ shopVersion }}" for i in range(50))
    assert_refused(attack.gql("50 operations", ops, operationName="Q1"), "TOO_MANY_OPERATIONS")
    assert_refused(attack.gql("directive flood", "{ shopVersion " + "@include(if: true) " * 1_000 + "}"),
                   "QUERY_TOO_LARGE")
    assert_refused(attack.gql("punctuation flood", "{ shopVersion " + "!" * 15_000 + "}"), "QUERY_TOO_LARGE")
    variables = ", ".join(f"$v{i}: Int" for i in range(1_000))
    assert_refused(attack.gql("variable definitions flood", f"query Q({variables}) {{ shopVersion }}"),
                   "QUERY_TOO_LARGE")
    # The most fields the token limit lets through are answered within the budget.
    assert_refused(attack.gql("1600 fields", "{ " + "shopVersion " * 1_600 + "}"), "QUERY_TOO_LARGE")
    a = attack.gql("490 fields", "{ " + "shopVersion " * 490 + "}")
    assert a.status == 200 and a.json()["data"]["shopVersion"], a.body[:200]


def test_alias_floods_are_refused(attack: Attack) -> None:
    aliases = " ".join(f"a{i}: shopVersion" for i in range(100))
    assert_refused(attack.gql("100 aliases", f"{{ {aliases} }}"), "TOO_MANY_ALIASES")
    aliases = " ".join(f"a{i}: shopVersion" for i in range(600))
    assert_refused(attack.gql("600 aliases", f"{{ {aliases} }}"), "QUERY_TOO_LARGE")
    # The largest page a client may ask for, every field, runs; two of them cost too much.
    fields = "id slug name description categoryId categorySlug priceMinor currency stockQty"
    a = attack.gql("a full page", f"{{ products(pageSize: 100) {{ items {{ {fields} }} total }} }}")
    assert a.status == 200 and not errors_of(a), a.body[:300]
    assert_refused(attack.gql("two full pages", f"{{ a: products(pageSize: 100) {{ items {{ {fields} }} }} "
                                                f"b: products(pageSize: 100, page: 2) {{ items {{ {fields} }} }} }}"),
                   "QUERY_TOO_COSTLY")
    pages = " ".join(f"p{i}: products(pageSize: 100) {{ items {{ id name description }} }}" for i in range(200))
    assert_refused(attack.gql("200 aliased pages", f"{{ {pages} }}"))


def test_page_sizes_passed_as_variables_count_like_literals(attack: Attack) -> None:
    fields = "items { id name slug description priceMinor currency } total"
    literal = " ".join(f"p{i}: products(pageSize: 100, page: {i + 1}) {{ {fields} }}" for i in range(5))
    assert_refused(attack.gql("cost by literal", f"{{ {literal} }}"), "QUERY_TOO_COSTLY")
    by_var = " ".join(f"p{i}: products(pageSize: $size, page: {i + 1}) {{ {fields} }}" for i in range(5))
    q = f"query Pages($size: Int) {{ {by_var} }}"
    assert_refused(attack.gql("cost by variable", q, {"size": 100}), "QUERY_TOO_COSTLY")
    with_default = f"query Pages($size: Int = 100) {{ {by_var} }}"
    assert_refused(attack.gql("cost by default value", with_default), "QUERY_TOO_COSTLY")
    # Asking for small pages is cheap, and runs.
    few = " ".join(f"p{i}: products(pageSize: $size, page: {i + 1}) {{ {fields} }}" for i in range(3))
    a = attack.gql("cheap by variable", f"query Pages($size: Int) {{ {few} }}", {"size": 2})
    assert a.status == 200 and not errors_of(a), a.body[:300]
    assert len(a.json()["data"]["p0"]["items"]) <= 2


def test_huge_strings_and_variables_are_refused_or_read_quickly(attack: Attack) -> None:
    a = attack.gql("19k string literal", '{ products(search: "' + "x" * 19_000 + '") { total } }')
    assert a.status < 500
    q = "query Q($s: String) { products(search: $s) { total } }"
    assert_refused(attack.gql("900k variable", q, {"s": "y" * 900_000}), "STRING_TOO_LONG")
    assert_refused(attack.gql("100k variable values", q, {"s": "z", "pad": list(range(100_000))}),
                   "VARIABLES_TOO_LARGE")
    assert_refused(attack.gql("wide variables object", q, {"s": "z", **{f"k{i}": i for i in range(50_000)}}),
                   "VARIABLES_TOO_LARGE")
    a = attack.gql("1900 variable values", q, {"s": "z", "pad": list(range(1_900))})
    assert a.status == 200, a.body[:300]


# --------------------------------------------------------------- bodies, any route


def test_oversized_and_malformed_bodies_are_4xx_within_budget(attack: Attack, hostile: Hostile) -> None:
    h = hostile.auth()
    json_h = {**h, "Content-Type": "application/json"}
    cases: list[tuple[str, str, bytes]] = [
        ("over the size limit", "/api/cart/items", b'{"pad": "' + b"x" * 1_100_000 + b'"}'),
        ("a million-key object", "/api/cart/items",
         b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(70_000)) + b"}"),
        ("a long array", "/api/cart/items", b"[" + b"1," * 400_000 + b"1]"),
        ("deep arrays", "/api/cart/items", b"[" * 100_000 + b"]" * 100_000),
        ("truncated JSON", "/api/cart/items", b'{"productId": "x", "qty": '),
        ("invalid UTF-8", "/api/cart/items", b'{"productId": "\xff\xfe", "qty": 1}'),
        ("NUL after JSON", "/api/cart/items", b'{"productId": "x", "qty": 1}\x00'),
        ("not JSON", "/api/cart/items", b"productId=x&qty=1"),
        ("GraphQL: a million-key object", "/graphql",
         b'{"query": "{ shopVersion }",' + b",".join(b'"k%d":%d' % (i, i) for i in range(70_000)) + b"}"),
        ("GraphQL: deep variables", "/graphql", b'{"query": "{ shopVersion }", "variables": '
         + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}"),
        ("GraphQL: query not a string", "/graphql", b'{"query": ["{ shopVersion }"]}'),
        ("GraphQL: no body", "/graphql", b""),
    ]
    for label, path, body in cases:
        a = attack.send(label, "POST", path, content=body, headers=json_h)
        if label == "GraphQL: a million-key object":
            # Unknown members of a GraphQL request are ignored (GraphQL over HTTP): answered, quickly.
            assert a.status == 200, a.body[:300]
            continue
        assert 400 <= a.status < 500, f"{label}: {a.status} {a.body[:300]!r}"
        assert len(a.body) < 20_000, f"{label}: a {len(a.body)}-byte answer"
    a = attack.send("wrong content type", "POST", "/api/cart/items", content=b'{"productId": "x", "qty": 1}',
                    headers={**h, "Content-Type": "text/plain"})
    assert a.status == 400
    # Raw bytes a client library would refuse to send.
    r = raw_request(hostile.port, b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 30\r\nConnection: close\r\n\r\n" + b'{"query": "{ shopV\x00ersion }"}')
    assert 400 <= r.status < 500, r


# ------------------------------------------------- control characters, every route


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(schema, doc)
    return schema


def _string_leaves(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Iterator[tuple[list[Any], str]]:
    """(path into a body, its public field name) of every string the schema accepts."""
    s = _resolve(schema, doc)
    if s.get("type") == "string":
        yield [], ""
    elif s.get("type") == "object" and depth < 4:
        for name, sub in s.get("properties", {}).items():
            for path, label in _string_leaves(sub, doc, depth + 1):
                yield [name, *path], name + (("." + label) if label and not label.startswith("[") else label)
    elif s.get("type") == "array" and depth < 4:
        for path, label in _string_leaves(s.get("items", {}), doc, depth + 1):
            yield [0, *path], "[0]" + (("." + label) if label else "")


def _body_with(path: list[Any], value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    return [_body_with(rest, value)] if head == 0 else {head: _body_with(rest, value)}


def _rest_cases(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(method, url, request kwargs, field name) putting a bad string in each string field."""
    for oa_path, item in doc["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            path_values = {p["name"]: "x" for p in params if p["in"] == "path"}
            for p in params:
                if p["in"] not in ("path", "query") or _resolve(p["schema"], doc).get("type") != "string":
                    continue
                for tag, bad in BAD_STRINGS.items():
                    values = {**path_values}
                    kw: dict[str, Any] = {}
                    if p["in"] == "path":
                        values[p["name"]] = bad
                    else:
                        kw["params"] = {p["name"]: bad}
                    url = oa_path.format(**{k: quote(v, safe="") for k, v in values.items()})
                    yield method.upper(), url, kw, f"{p['name']} ({tag})"
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                continue
            url = oa_path.format(**path_values)
            for path, label in _string_leaves(body, doc):
                for tag, bad in BAD_STRINGS.items():
                    yield method.upper(), url, {"json": _body_with(path, bad)}, f"{label} ({tag})"


def test_control_characters_in_every_string_field_of_every_route_are_400_naming_it(
        attack: Attack, hostile: Hostile) -> None:
    doc = httpx.get(f"{hostile.base}/api/openapi.json", timeout=10).json()
    cases = list(_rest_cases(doc))
    assert len(cases) > 40, "the OpenAPI document should list many string fields"
    wrong: list[str] = []
    for method, url, kw, label in cases:
        a = attack.send(f"{method} {url} {label}", method, url, headers=hostile.auth(), **kw)
        field = label.split(" (")[0]
        if a.status != 400:
            wrong.append(f"{method} {url} {label}: {a.status} {a.body[:200]!r}")
            continue
        named = {e["field"] for e in a.json().get("errors", [])}
        if not any(n == field or n.endswith("." + field) or n.endswith(field) for n in named):
            wrong.append(f"{method} {url} {label}: errors name {sorted(named)}")
    assert not wrong, f"{len(wrong)} of {len(cases)}:\n" + "\n".join(wrong[:15])


def _named(t: dict[str, Any]) -> dict[str, Any]:
    while t.get("ofType") is not None and t["kind"] in ("NON_NULL", "LIST"):
        t = t["ofType"]
    return t


def _type_ref(t: dict[str, Any]) -> str:
    if t["kind"] == "NON_NULL":
        return _type_ref(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return "[" + _type_ref(t["ofType"]) + "]"
    return str(t["name"])


def test_control_characters_in_every_graphql_string_argument_are_refused_naming_it(
        attack: Attack, hostile: Hostile) -> None:
    from graphql import get_introspection_query

    schema = httpx.post(f"{hostile.base}/graphql", json={"query": get_introspection_query()},
                        timeout=30).json()["data"]["__schema"]
    types = {t["name"]: t for t in schema["types"]}
    checked = 0
    wrong: list[str] = []
    for root, keyword in ((schema["queryType"], "query"), (schema["mutationType"], "mutation")):
        for fld in types[root["name"]]["fields"]:
            out = _named(fld["type"])
            selection = "" if out["kind"] in ("SCALAR", "ENUM") else "{ __typename }"
            for arg in fld["args"]:
                target = _named(arg["type"])
                if target["name"] in ("String", "ID"):
                    literal_of: Callable[[str], str] = lambda s: json.dumps(s)  # noqa: E731
                    variable_of: Callable[[str], Any] = lambda s: s  # noqa: E731
                    name, var_name = arg["name"], "$v"
                elif target["kind"] == "INPUT_OBJECT":
                    inner = [f for f in types[target["name"]]["inputFields"] if _named(f["type"])["name"] in ("String", "ID")]
                    if not inner:
                        continue
                    key = inner[0]["name"]
                    literal_of = lambda s, k=key: f"{{{k}: {json.dumps(s)}}}"  # noqa: E731
                    variable_of = lambda s, k=key: {k: s}  # noqa: E731
                    name, var_name = key, f"$v.{key}"
                else:
                    continue
                for tag, bad in BAD_STRINGS.items():
                    checked += 1
                    lit = attack.gql(f"{fld['name']}({arg['name']}) {tag} literal",
                                     f"{keyword} {{ {fld['name']}({arg['name']}: {literal_of(bad)}) {selection} }}")
                    var = attack.gql(f"{fld['name']}({arg['name']}) {tag} variable",
                                     f"{keyword} Q($v: {_type_ref(arg['type'])}) {{ {fld['name']}({arg['name']}: $v) "
                                     f"{selection} }}", {"v": variable_of(bad)})
                    for a, expected in ((lit, name), (var, var_name)):
                        if a.status != 400 or not errors_of(a):
                            wrong.append(f"{a.label}: {a.status} {a.body[:200]!r}")
                            continue
                        err = errors_of(a)[0]
                        fields = {e["field"] for e in err["extensions"].get("errors", [])}
                        if err["extensions"]["code"] != "INVALID_ARGUMENT" or expected not in fields:
                            wrong.append(f"{a.label}: {err}")
    assert checked > 20
    assert not wrong, f"{len(wrong)} of {2 * checked}:\n" + "\n".join(wrong[:15])


def test_nul_in_a_graphql_transfer_memo_is_refused_not_truncated(attack: Attack) -> None:
    q = 'mutation { transferMoney(toEmail: "nobody@example.com", currency: "EUR", amountMinor: 1, ' \
        'memo: "paid\\u0000 in full") { __typename } }'
    err = assert_refused(attack.gql("transfer memo NUL", q))
    assert "memo" in err["message"]

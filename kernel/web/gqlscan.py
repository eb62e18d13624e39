"""A cheap, linear pre-scan of GraphQL requests, run before the real parser sees them.

The engine's parser and validators are not linear: its fragment-cycle check is
cubic in the length of a spread chain (400 chained fragments, 13 KB, block the
event loop for seconds), and other rules walk spreads recursively. So before a
query is parsed this module tokenizes it once with one regular expression,
stops counting at the token limit, and from the token stream alone bounds:

- tokens, string literal sizes, bracket nesting and the number of operations;
- fragment definitions, spreads per expanded query, the longest spread chain
  (and refuses cycles itself);
- NUL, C0 control characters (other than tab, LF, CR) and lone surrogates in
  the query text and in every string literal, naming the argument.

:func:`check_variables` applies the same size and character rules to the
variables sent with the request. Nothing here imports the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.messages import BAD_CHARS, bad_char_message
from ..core.status import BusError, Status


@dataclass(frozen=True)
class ScanLimits:
    max_tokens: int = 500
    max_fragments: int = 32
    max_spread_chain: int = 10
    max_expanded_spreads: int = 100
    max_nesting: int = 64
    max_operations: int = 10
    max_string_chars: int = 20_000
    max_variable_values: int = 2000


@dataclass(frozen=True)
class Scan:
    tokens: int
    operations: int
    fragments: int
    spread_chain: int
    expanded_spreads: int
    nesting: int


# Disjoint alternatives only, so that no input makes the expression backtrack.
_TOKEN = re.compile(r'''
    (?P<ignored>[\ufeff \t\n\r,]+|\#[^\n\r]*)
  | (?P<block>"""(?:[^"\\]|\\(?!""")|\\"""|"(?!""))*""")
  | (?P<string>"(?:[^"\\\n\r]|\\.)*")
  | (?P<spread>\.\.\.)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<punct>[!$&()\[\]{}:=@|])
''', re.VERBOSE)

_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|(.))', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def refuse(message: str, reason: str, field: str = "query") -> BusError:
    return BusError(Status.INVALID_ARGUMENT, message, reason=reason, field_errors=[(field, message)])


def _where(query: str, pos: int) -> str:
    line = query.count("\n", 0, pos) + 1
    col = pos - (query.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _string_value(token: str) -> str:
    """The value of a (non-block) string literal: its escapes read, as the spec says."""
    body = token[1:-1]
    if "\\" not in body:
        return body

    def one(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return chr(int(m.group(1), 16))
        return _SIMPLE_ESCAPES.get(m.group(2), m.group(0))

    value = _ESCAPE.sub(one, body)
    if _SURROGATE.search(value):
        # Pairs written as two escapes form one character; lone halves stay (and are refused).
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return value


def scan(query: str, limits: ScanLimits) -> Scan:
    """Bound the shape of ``query``; raise a BusError (INVALID_ARGUMENT) naming what is wrong."""
    bad = BAD_CHARS.search(query)
    if bad is not None:
        raise refuse(f"The query {bad_char_message(bad.group())} (at {_where(query, bad.start())}).",
                     "INVALID_CHARACTER")
    tokens = 0
    depth = deepest = 0
    paren = 0  # inside arguments or variable definitions: "name :" is a key, not an alias
    operations = 0
    expect_definition = True
    fragment_name_next = False
    after_spread = False
    last_name: str | None = None
    key: str | None = None
    current = "<operation>"
    fragments: dict[str, list[str]] = {}
    spreads: dict[str, list[str]] = {"<operation>": []}
    pos, n = 0, len(query)
    match = _TOKEN.match
    while pos < n:
        m = match(query, pos)
        if m is None:
            raise refuse(f"Syntax error: unexpected character {query[pos]!r} at {_where(query, pos)}.",
                         "SYNTAX_ERROR")
        kind = m.lastgroup
        text = m.group()
        start, pos = pos, m.end()
        if kind == "ignored":
            continue
        tokens += 1
        if tokens > limits.max_tokens:
            raise refuse(f"The query has more than {limits.max_tokens} tokens.", "QUERY_TOO_LARGE")
        if kind == "name":
            if after_spread:
                after_spread = False
                if text != "on":
                    spreads[current].append(text)
            elif fragment_name_next:
                fragment_name_next = False
                if text in fragments:
                    raise refuse(f"Fragment {text!r} is defined twice.", "DUPLICATE_FRAGMENT")
                fragments[text] = spreads[text] = []
                current = text
                if len(fragments) > limits.max_fragments:
                    raise refuse(f"The query defines more than {limits.max_fragments} fragments.",
                                 "TOO_MANY_FRAGMENTS")
            elif expect_definition and depth == 0:
                expect_definition = False
                if text == "fragment":
                    fragment_name_next = True
                else:
                    operations += 1
                    current = "<operation>"
            last_name = text
            continue
        after_spread = False
        if kind == "spread":
            after_spread = True
        elif kind in ("string", "block"):
            value = _string_value(text) if kind == "string" else text[3:-3]
            field = key or "query"
            if len(value) > limits.max_string_chars:
                raise refuse(f"A string in {field} is longer than {limits.max_string_chars} characters.",
                             "STRING_TOO_LONG", field)
            bad = BAD_CHARS.search(value)
            if bad is not None:
                raise refuse(f"{field} {bad_char_message(bad.group())} (at {_where(query, start)}).",
                             "INVALID_CHARACTER", field)
        elif kind == "punct":
            if text in "{([":
                if depth == 0 and text == "{" and expect_definition:
                    expect_definition = False  # the query shorthand: { ... }
                    operations += 1
                    current = "<operation>"
                depth += 1
                paren += text == "("
                deepest = max(deepest, depth)
                if depth > limits.max_nesting:
                    raise refuse(f"The query nests deeper than {limits.max_nesting} levels.", "QUERY_TOO_DEEP")
            elif text in "})]":
                depth -= 1
                paren -= text == ")"
                if depth < 0:
                    raise refuse(f"Syntax error: unbalanced {text!r} at {_where(query, start)}.", "SYNTAX_ERROR")
                if depth == 0 and text == "}":
                    expect_definition = True
                if paren == 0:
                    key = None
            elif text == ":" and paren > 0 and last_name is not None:
                key = last_name
        last_name = None
    if operations > limits.max_operations:
        raise refuse(f"The document holds {operations} operations; the limit is {limits.max_operations}.",
                     "TOO_MANY_OPERATIONS")
    chain, expanded = _fragment_graph(fragments, spreads["<operation>"], limits)
    return Scan(tokens, operations, len(fragments), chain, expanded, deepest)


def _fragment_graph(fragments: dict[str, list[str]], roots: list[str], limits: ScanLimits) -> tuple[int, int]:
    """(longest spread chain, spreads in the fully expanded query); refuses cycles.

    Iterative (no recursion limit to hit) and linear in the spreads, with the expanded
    count capped so that fan-out (F0 spreads F1 twice, F1 spreads F2 twice ...) cannot
    make the arithmetic itself large.
    """
    cap = limits.max_expanded_spreads + 1
    chain: dict[str, int] = {}  # longest chain starting at this fragment (itself counts 1)
    size: dict[str, int] = {}  # spreads under this fragment, expanded
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done
    for root in fragments:
        if state.get(root) == 2:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, i = stack[-1]
            children = fragments[name]
            if i < len(children):
                stack[-1] = (name, i + 1)
                child = children[i]
                if child not in fragments:
                    continue  # unknown: the validator reports it
                s = state.get(child)
                if s == 1:
                    raise refuse(f"Fragment {child!r} spreads itself through a cycle.", "FRAGMENT_CYCLE")
                if s is None:
                    state[child] = 1
                    stack.append((child, 0))
                continue
            stack.pop()
            state[name] = 2
            known = [c for c in children if c in fragments]
            chain[name] = 1 + max((chain[c] for c in known), default=0)
            size[name] = min(cap, sum(1 + size[c] for c in known))
    longest = max((chain[r] for r in roots if r in chain), default=0)
    longest = max(longest, max(chain.values(), default=0))
    if longest > limits.max_spread_chain:
        raise refuse(f"Fragments spread each other {longest} deep; the limit is {limits.max_spread_chain}.",
                     "FRAGMENT_CHAIN_TOO_LONG")
    expanded = min(cap, sum(1 + size.get(r, 0) for r in roots) + sum(size.values()))
    if expanded > limits.max_expanded_spreads:
        raise refuse(f"The query expands to more than {limits.max_expanded_spreads} fragment spreads.",
                     "TOO_MANY_FRAGMENTS")
    return longest, expanded


def check_variables(variables: Mapping[str, Any] | None, limits: ScanLimits) -> None:
    """Sizes and characters of the variables sent, each bad one named (``$memo``, ``$input.name``)."""
    if not variables:
        return
    if len(variables) > limits.max_variable_values:
        raise refuse(f"The variables hold more than {limits.max_variable_values} values.",
                     "VARIABLES_TOO_LARGE", "variables")
    count = 0
    stack: list[tuple[str, Any]] = [(f"${k}", v) for k, v in variables.items()]
    while stack:
        path, value = stack.pop()
        count += 1
        if count > limits.max_variable_values:
            raise refuse(f"The variables hold more than {limits.max_variable_values} values.",
                         "VARIABLES_TOO_LARGE", "variables")
        if isinstance(value, str):
            if len(value) > limits.max_string_chars:
                raise refuse(f"{path} is longer than {limits.max_string_chars} characters.", "STRING_TOO_LONG", path)
            bad = BAD_CHARS.search(value)
            if bad is not None:
                raise refuse(f"{path} {bad_char_message(bad.group())}.", "INVALID_CHARACTER", path)
        elif isinstance(value, (Mapping, list)):
            if count + len(value) > limits.max_variable_values:
                raise refuse(f"The variables hold more than {limits.max_variable_values} values.",
                             "VARIABLES_TOO_LARGE", "variables")
        if isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, str) and BAD_CHARS.search(k):
                    raise refuse(f"{path} has a key with a control character.", "INVALID_CHARACTER", path)
                stack.append((f"{path}.{k}", v))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))

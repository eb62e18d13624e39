"""The GraphQL pre-scan on its own: what it lets through and what it refuses, by name."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

from kernel.core.status import BusError, Status
from kernel.web.gqlscan import ScanLimits, check_variables, scan

LIMITS = ScanLimits()


def refused(query: str) -> BusError:
    with pytest.raises(BusError) as info:
        scan(query, LIMITS)
    assert info.value.status is Status.INVALID_ARGUMENT
    return info.value


def chain(n: int) -> str:
    frags = " ".join(f"fragment F{i} on P {{ ...F{i + 1} }}" for i in range(n - 1))
    return f"{{ p {{ ...F0 }} }} {frags} fragment F{n - 1} on P {{ total }}"


def test_ordinary_queries_pass_and_are_measured() -> None:
    s = scan(get_introspection_query(), LIMITS)
    assert s.operations == 1 and s.fragments == 3 and s.spread_chain == 3 and s.tokens < 200
    s = scan('query Q($s: String = "caf\\u00e9 \\ud83d\\ude00", $n: Int) { a: p(s: $s, n: $n) '
             '{ ... on P { x } ...@include(if: true) { y } } } # comment \x7f\n', LIMITS)
    assert s.operations == 1 and s.fragments == 0
    scan('{ p(s: """block with "quotes" and \\""" and tab\there""") { x } }', LIMITS)


def test_a_spread_chain_at_the_limit_passes_and_one_more_is_refused() -> None:
    assert scan(chain(LIMITS.max_spread_chain), LIMITS).spread_chain == LIMITS.max_spread_chain
    assert refused(chain(LIMITS.max_spread_chain + 1)).reason == "FRAGMENT_CHAIN_TOO_LONG"


def test_cycles_fan_out_and_duplicates_are_refused() -> None:
    assert refused("{ p { ...A } } fragment A on P { ...B } fragment B on P { ...A }").reason == "FRAGMENT_CYCLE"
    assert refused("{ p { ...A } } fragment A on P { ...A }").reason == "FRAGMENT_CYCLE"
    fan = " ".join(f"fragment F{i} on P {{ ...F{i + 1} ...F{i + 1} }}" for i in range(8))
    assert refused(f"{{ p {{ ...F0 }} }} {fan} fragment F8 on P {{ x }}").reason == "TOO_MANY_FRAGMENTS"
    assert refused("{ p { x } } fragment A on P { x } fragment A on P { y }").reason == "DUPLICATE_FRAGMENT"


def test_bad_characters_are_refused_naming_the_argument() -> None:
    err = refused('mutation { pay(input: {memo: "paid\\u0000", n: 1}) { id } }')
    assert err.reason == "INVALID_CHARACTER" and err.field_errors[0][0] == "memo"
    assert "NUL" in err.public_message
    assert refused('{ p(search: "\\ud800") { x } }').field_errors[0][0] == "search"
    assert refused('{ p(search: "bell\\u0007") { x } }').field_errors[0][0] == "search"
    assert refused('{ p(search: "raw\x1b") { x } }').reason == "INVALID_CHARACTER"
    assert refused("{ p \x00 }").reason == "INVALID_CHARACTER"


def test_variables_are_bounded_and_named_by_path() -> None:
    check_variables({"input": {"memo": "fine\ttab\nnewline"}, "n": [1, 2, 3]}, LIMITS)
    with pytest.raises(BusError) as info:
        check_variables({"input": {"memo": "cut\u0000here"}}, LIMITS)
    assert info.value.field_errors[0][0] == "$input.memo"
    with pytest.raises(BusError) as info:
        check_variables({"list": ["ok", "esc\u001b"]}, LIMITS)
    assert info.value.field_errors[0][0] == "$list[1]"
    with pytest.raises(BusError) as info:
        check_variables({"pad": list(range(LIMITS.max_variable_values + 1))}, LIMITS)
    assert info.value.reason == "VARIABLES_TOO_LARGE"


def test_the_worst_20_kb_shapes_are_each_refused_with_their_reason() -> None:
    # (Their timing is asserted against a live server in tests/hostile/test_malicious_inputs.py.)
    shapes = {"{a" * 10_000: "QUERY_TOO_DEEP", "{ x " + "!" * 19_990 + "}": "QUERY_TOO_LARGE",
              '{ p(s: """' + '\\"' * 9_990 + ") }": "SYNTAX_ERROR", chain(600)[:20_000]: "TOO_MANY_FRAGMENTS"}
    for q, reason in shapes.items():
        assert refused(q).reason == reason, q[:40]
    assert scan("{ x } " + "#" * 19_990, LIMITS).tokens == 3

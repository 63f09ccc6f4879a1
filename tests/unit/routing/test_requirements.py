"""Qube's ``requirements`` expression: grammar, evaluation against hosts, errors with offsets,
and the print/parse round trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.server.core.routing.errors import RoutingSyntaxError
from latchwork.server.core.routing.hosts import Host, HostState, Resources, Usage
from latchwork.server.core.routing.requirements import (
    MAX_NESTING,
    MAX_REQUIREMENTS_LENGTH,
    RESERVED_PROPERTY_KEYS,
    parse_requirements,
)
from latchwork.server.core.routing.requirements_eval import GETTERS
from latchwork.server.core.routing.requirements_syntax import (
    AllOf,
    AnyOf,
    Compare,
    Expr,
    Literal,
    Name,
    Not,
    Truth,
    names,
)
from latchwork.server.core.routing.restrictions import parse_restrictions

BIG = Host(
    "big01",
    Resources(cores=32, memory_mb=65536, gpus=2, os="linux", arch="x86_64"),
    slots_total=16,
    properties={"renderer": "arnold", "version": "7.2", "site": "lon", "zero": "0"},
    groups=frozenset({"gpu", "comp"}),
    cluster="/show/comp",
    restrictions=parse_restrictions("/show/+"),
    in_use=Usage(slots=10, memory_mb=60000, gpus=2),
)
SMALL = Host(
    "small01",
    Resources(cores=4, memory_mb=8000, gpus=0, os="winnt", arch="x86_64"),
    slots_total=4,
    state=HostState.LOCKED,
)


def holds(text: str, host: Host = BIG) -> bool:
    return parse_requirements(text).matches(host)


def syntax_error(text: str) -> RoutingSyntaxError:
    with pytest.raises(RoutingSyntaxError) as caught:
        parse_requirements(text)
    return caught.value


# --- Qube's documented forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "host.os eq linux",
        "host.os == linux",
        "host.os = linux",
        "host.os == 'linux'",
        'host.os == "linux"',
        "host.name eq big01",
        "(host.os == 'linux') and host.memory >= 16000",
        "host.processors.total > 10",
        "host.memory >= 16000",
        "host.processors > 4",
        "host.gpus",
        "host.gpus >= 2",
        "host.cores == 32",
        "host.arch == x86_64 and host.architecture == x86_64",
        "host.groups has gpu",
        "comp in host.groups",
        "host.cluster == '/show/comp'",
        "host.state == up",
        "host.restrictions == '/show/+'",
        "host.renderer == arnold",
        "host.version >= 7",
        "host.version == 7.2",
        "host.site ne par",
        "not host.os == winnt",
        "!(host.os == winnt)",
        "not(host.renderer in 'redshift,octane')",
        "host.os == winnt || host.gpus > 1",
        "host.os == linux && host.gpus > 1",
        "host.os == linux AND host.gpus GT 1",
        "host.memory.used == 60000 and host.memory.avail == 5536",
        "host.processors.used lt host.processors.total",
        "host.processors.avail == 6 and host.gpus.avail == 0 and host.gpus.used == 2",
        "1 or 0",
        "16000 <= host.memory",  # a constant on the left reads the same
        "70 > host.version",
        "linux == host.os",
        "winnt != host.os",
        "0.0 == host.zero",
        "host.os <> winnt",
        "host.os != winnt",
        "host.memory le 65536 and host.memory ge 65536 and host.memory lt 65537",
    ],
)
def test_holds_on_the_big_host(text: str) -> None:
    assert holds(text), text


@pytest.mark.parametrize(
    "text",
    [
        "host.os == winnt",
        "host.memory >= 64000.5 and host.memory > 65536",
        "host.gpus.avail",
        "not host.gpus",
        "host.groups has lighting",
        "host.renderer == redshift",
        "host.zero",  # "0" is false
        "host.missing",  # an unknown property is empty, so false
        "host.missing > 3",  # and never passes a bound
        "host.missing < 3",
        "host.missing == 0",
        "host.os > 3",  # ordering between a word and a number is false, not an error
        "host.os == Linux",  # strings compare case-sensitively
        "0",
        "''",
    ],
)
def test_fails_on_the_big_host(text: str) -> None:
    assert not holds(text), text


def test_unknown_properties_read_as_empty() -> None:
    assert holds("host.missing != arnold")
    assert holds("host.missing == ''")
    assert holds("not host.missing")


def test_numbers_compare_as_numbers_and_words_as_words() -> None:
    assert holds("host.version == 7.20")  # "7.2" and 7.20 are the same number
    assert holds("host.version > 10") is False
    assert holds("host.site == lon")
    assert holds("'10' == 10.0")
    assert holds("'abc' == abc")


def test_total_used_and_avail_follow_the_host() -> None:
    assert holds("host.memory.avail >= 8000", SMALL)
    assert not holds("host.memory.avail >= 8000", BIG)
    assert holds("host.memory >= 16000", BIG)
    assert holds("host.state == locked", SMALL)


def test_every_reserved_key_is_a_builtin_name() -> None:
    assert {f"host.{key}" for key in RESERVED_PROPERTY_KEYS} <= set(GETTERS)


def test_a_builtin_shadows_a_property_of_the_same_name() -> None:
    host = Host("h", Resources(os="linux"), properties={"os": "beos"})
    assert holds("host.os == linux", host)
    assert "os" in RESERVED_PROPERTY_KEYS


def test_not_binds_looser_than_a_comparison() -> None:
    assert parse_requirements("not host.os == linux").expr == Not(
        Compare("==", Name("host.os"), Literal("linux"))
    )


def test_and_binds_tighter_than_or() -> None:
    expr = parse_requirements("a or b and c").expr
    assert expr == AnyOf((Truth(Literal("a")), AllOf((Truth(Literal("b")), Truth(Literal("c"))))))


def test_the_failing_part_names_the_first_false_conjunct() -> None:
    requirements = parse_requirements("host.os == linux and host.memory >= 128000 and host.gpus")
    assert requirements.failing(BIG) == "host.memory >= 128000"
    assert requirements.failing(SMALL) == "host.os == linux"
    assert parse_requirements("host.os == linux").failing(BIG) == ""


def test_names_lists_what_a_requirement_reads() -> None:
    expr = parse_requirements("host.os == linux and (host.renderer or 3 < host.gpus)").expr
    assert names(expr) == {"host.os", "host.renderer", "host.gpus"}


# --- refusals, with offsets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("host.os ==", 10, "expected a value"),
        ("host.memory + 1 > 3", 12, "arithmetic ('+')"),
        ("host.memory - 1 > 3", 12, "arithmetic ('-')"),
        ("host.memory >> 1 > 3", 12, "arithmetic ('>>')"),
        ("host.memory << 1", 12, "arithmetic ('<<')"),
        ("10 min 12", 3, "arithmetic ('min')"),
        ("host.gpus XOR 1", 10, "arithmetic ('XOR')"),
        ("host.os == linux & host.gpus", 17, "bitwise '&'"),
        ("host.os == linux | host.gpus", 17, "bitwise '|'"),
        ("job.kind in host.duty", 0, "job.* operands"),
        ("host.memory.free > 1", 12, "unknown part 'free'"),
        ("host.flag.remove_logs", 0, "neither a host resource nor a property"),
        ("host.", 0, "neither a host resource nor a property"),
        ("(host.os == linux", 17, "'(' at 0 is not closed"),
        ("host.os == linux)", 16, "unexpected ')'"),
        ("host.os == 'linux", 11, "quote ' is not closed"),
        ("a == b == c", 7, "do not chain"),
        ("(a == b) == c", 9, "compare values, not conditions"),
        ("host.os linux", 8, "unexpected 'linux'"),
        ("and host.os", 0, "unexpected 'and'"),
        ("host.os == linux and", 20, "unexpected end"),
        ("not", 3, "unexpected end"),
        ("host.arch == x86-64", 16, "arithmetic ('-')"),
        ("host.os == lin$ux", 14, "unexpected '$'"),
        ("()", 1, "unexpected ')'"),
    ],
)
def test_refused_with_the_offset_of_the_problem(text: str, offset: int, fragment: str) -> None:
    error = syntax_error(text)
    assert (error.offset, fragment in str(error)) == (offset, True), str(error)


def test_length_and_nesting_are_bounded() -> None:
    assert syntax_error("a" * (MAX_REQUIREMENTS_LENGTH + 1)).offset == MAX_REQUIREMENTS_LENGTH
    assert holds("(" * MAX_NESTING + "1" + ")" * MAX_NESTING)
    assert "nested" in str(syntax_error("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1)))
    assert "nested" in str(syntax_error("not " * (MAX_NESTING + 1) + "1"))


@given(st.text(max_size=200))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_parses_or_is_refused_with_an_offset_inside_it(text: str) -> None:
    try:
        requirements = parse_requirements(text)
    except RoutingSyntaxError as error:
        assert 0 <= error.offset <= len(text)
        return
    requirements.matches(BIG)  # and whatever parses evaluates without raising
    requirements.matches(SMALL)


_tokens = st.sampled_from(
    [
        "host.os", "host.memory", "host.gpus.avail", "host.renderer", "host.x", "linux",
        "'a b'", "16000", "7.5", "==", "!=", "<", ">=", "in", "has", "and", "or", "not", "!",
        "&&", "||", "(", ")", "eq", "=", "<>", "+", "&", "min",
    ]
)  # fmt: skip


@given(st.lists(_tokens, max_size=12))
@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
def test_requirement_like_text_parses_or_is_refused(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        requirements = parse_requirements(text)
    except RoutingSyntaxError as error:
        assert 0 <= error.offset <= len(text)
        return
    assert isinstance(requirements.matches(BIG), bool)


# --- print/parse round trip -------------------------------------------------------------------

_values = st.one_of(
    st.sampled_from(
        ["host.os", "host.memory", "host.gpus.avail", "host.renderer", "host.name"]
    ).map(Name),
    st.integers(0, 10**12).map(Literal),
    st.floats(0, 10**9, allow_nan=False, allow_infinity=False)
    .filter(lambda f: f != int(f))
    .map(lambda f: Literal(round(f, 6))),
    st.text(st.characters(codec="ascii", exclude_characters="'\"\x00"), max_size=8).map(Literal),
    st.sampled_from(["and", "min", "host.x", "job.x", "7up", "a'b", 'a"b']).map(Literal),
)
_leaves = st.one_of(
    st.builds(Compare, st.sampled_from(sorted(["==", "!=", "<", "<=", ">", ">=", "in", "has"])),
              _values, _values),
    _values.map(Truth),
)  # fmt: skip


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: AllOf(tuple(ops))),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: AnyOf(tuple(ops))),
    )


def _flat(expr: Expr) -> Expr:
    """The tree the parser builds for the same text: nested and/or of one kind flattened."""
    if isinstance(expr, Not):
        return Not(_flat(expr.operand))
    if isinstance(expr, AllOf | AnyOf):
        kind = type(expr)
        flat: list[Expr] = []
        for op in (_flat(o) for o in expr.operands):
            flat.extend(op.operands if isinstance(op, kind) else (op,))
        return kind(tuple(flat))
    return expr


@given(st.recursive(_leaves, _extend, max_leaves=8))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_printing_then_parsing_gives_the_same_tree(expr: Expr) -> None:
    assert parse_requirements(expr.format()).expr == _flat(expr)


def test_quoting_in_the_printed_form() -> None:
    assert Literal("x86-64").format() == "'x86-64'"
    assert Literal("it's").format() == '"it\'s"'
    assert Literal("and").format() == "'and'"
    assert Literal(1e-06).format() == "0.000001"
    assert Literal("").format() == "''"

"""Parsing trigger expressions (DESIGN §4): grammar, error offsets, and print/parse properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from latchwork.server.core.triggers.parser import (
    MAX_NESTING,
    MAX_TRIGGER_LENGTH,
    PARSED_TRIGGER_LENGTH,
    parse_atom,
    parse_trigger,
)
from latchwork.server.core.triggers.syntax import (
    EVENT_NAMES,
    EVENT_TYPES,
    QUBE_EPOCH,
    AllOf,
    AnyOf,
    Atom,
    Expr,
    TriggerSyntaxError,
    atoms,
)

A = Atom("complete", "job", "A")
B = Atom("complete", "job", "B")
C = Atom("complete", "job", "C")
D = Atom("complete", "job", "D")


def syntax_error(text: str) -> TriggerSyntaxError:
    with pytest.raises(TriggerSyntaxError) as caught:
        parse_trigger(text)
    return caught.value


# --- atoms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("complete-job-self", Atom("complete", "job", "self")),
        ("failed-work-self-*", Atom("failed", "work", "self", "*")),
        ("complete-work-render-5", Atom("complete", "work", "render", "5")),
        ("done-subjob-self-1", Atom("done", "subjob", "self", "1")),
        ("complete-tree-parent", Atom("complete", "tree", "parent")),
        ("killed-job-42", Atom("killed", "job", "42")),
        ("complete-host-self-node-1.farm", Atom("complete", "host", "self", "node-1.farm")),
        # EXTRA is the whole rest of the atom: work names may contain '-'
        ("complete-work-self-1-200", Atom("complete", "work", "self", "1-200")),
        ("complete-work-A-shot-010-a", Atom("complete", "work", "A", "shot-010-a")),
    ],
)
def test_atoms(text: str, expected: Atom) -> None:
    parsed = parse_trigger(text)
    assert parsed == expected
    assert isinstance(parsed, Atom)
    assert (parsed.name, parsed.type, parsed.context, parsed.extra) == (
        expected.name,
        expected.type,
        expected.context,
        expected.extra,
    )
    assert parsed.format() == text


def test_every_event_name_and_type_is_accepted() -> None:
    for name in EVENT_NAMES:
        for type_ in EVENT_TYPES:
            if type_ in ("time", "repeat"):
                continue
            if type_ == "host":  # the third part is the host: host atoms have no context
                assert parse_trigger(f"{name}-host-n1") == Atom(name, type_, "", "n1")
                continue
            assert parse_trigger(f"{name}-{type_}-self") == Atom(name, type_, "self")


def test_wildcard_flag() -> None:
    assert parse_atom("complete-work-A-*", 0).wildcard
    assert not parse_atom("complete-work-A-5", 0).wildcard
    assert not parse_atom("complete-work-A-5*", 0).wildcard


def test_atom_offsets_are_where_they_start_but_not_part_of_identity() -> None:
    expr = parse_trigger("(complete-job-A &&  complete-job-B)||complete-job-C")
    assert [a.offset for a in atoms(expr)] == [1, 20, 37]
    assert Atom("complete", "job", "A", offset=99) == A
    assert hash(Atom("complete", "job", "A", offset=99)) == hash(A)


# --- operators, precedence, flattening ----------------------------------------------------


@pytest.mark.parametrize("op", ["&&", "and", "AND"])
def test_and_spellings(op: str) -> None:
    assert parse_trigger(f"complete-job-A {op} complete-job-B") == AllOf((A, B))


@pytest.mark.parametrize("op", ["||", "or", "OR"])
def test_or_spellings(op: str) -> None:
    assert parse_trigger(f"complete-job-A {op} complete-job-B") == AnyOf((A, B))


def test_symbol_operators_need_no_spaces() -> None:
    assert parse_trigger("complete-job-A&&complete-job-B||complete-job-C") == AnyOf(
        (AllOf((A, B)), C)
    )
    assert parse_trigger("(complete-job-A)||(complete-job-B)") == AnyOf((A, B))


def test_word_operators_are_case_exact() -> None:
    error = syntax_error("complete-job-A And complete-job-B")
    assert error.offset == 15
    assert "'And'" in error.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # && binds tighter than ||
        ("complete-job-A || complete-job-B && complete-job-C", AnyOf((A, AllOf((B, C))))),
        ("complete-job-A && complete-job-B || complete-job-C", AnyOf((AllOf((A, B)), C))),
        ("complete-job-A and complete-job-B or complete-job-C", AnyOf((AllOf((A, B)), C))),
        ("complete-job-A AND complete-job-B OR complete-job-C", AnyOf((AllOf((A, B)), C))),
        # parentheses override it
        ("(complete-job-A || complete-job-B) && complete-job-C", AllOf((AnyOf((A, B)), C))),
        ("(complete-job-A && complete-job-B) || complete-job-C", AnyOf((AllOf((A, B)), C))),
        # chains and nested groups of the same operator flatten
        ("complete-job-A && complete-job-B && complete-job-C", AllOf((A, B, C))),
        ("(complete-job-A && complete-job-B) && complete-job-C", AllOf((A, B, C))),
        ("complete-job-A && (complete-job-B && complete-job-C)", AllOf((A, B, C))),
        ("complete-job-A || (complete-job-B || complete-job-C)", AnyOf((A, B, C))),
        (
            "complete-job-A or complete-job-B || complete-job-C OR complete-job-D",
            AnyOf((A, B, C, D)),
        ),
        # redundant parentheses vanish
        ("((complete-job-A))", A),
        ("((complete-job-A) && ((complete-job-B)))", AllOf((A, B))),
        (
            "(complete-job-A || complete-job-B) && (complete-job-C || complete-job-D)",
            AllOf((AnyOf((A, B)), AnyOf((C, D)))),
        ),
        ("  complete-job-A\n&&\tcomplete-job-B  ", AllOf((A, B))),
    ],
)
def test_structure(text: str, expected: Expr) -> None:
    assert parse_trigger(text) == expected


def test_format_groups_every_nested_operator() -> None:
    # an AND inside an OR is grouped for the reader although precedence does not need it
    assert AnyOf((AllOf((A, B)), C)).format() == (
        "(complete-job-A && complete-job-B) || complete-job-C"
    )
    assert AllOf((AnyOf((A, B)), C)).format() == (
        "(complete-job-A || complete-job-B) && complete-job-C"
    )


# --- times -----------------------------------------------------------------------------

# 2026-12-01T09:00:00Z, as Unix and as Qube time
DEC_1 = 1_796_115_600
DEC_1_QUBE = DEC_1 - QUBE_EPOCH


def test_qube_epoch_is_2000_01_01_us_eastern() -> None:
    assert QUBE_EPOCH == 946_702_800
    eastern = timezone(timedelta(hours=-5))
    assert datetime(2000, 1, 1, tzinfo=eastern).timestamp() == QUBE_EPOCH
    assert datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp() == DEC_1
    assert DEC_1_QUBE == 849_412_800


@pytest.mark.parametrize(
    "when",
    [
        str(DEC_1_QUBE),
        "2026-12-01T09:00:00Z",
        "2026-12-01T09:00Z",
        "2026-12-01T09:00:00.75Z",
        "2026-12-01T04:00:00-05:00",
        "2026-12-01T14:30:00+05:30",
        "2026-12-01T14:30:00+05:30",
    ],
)
def test_time_atoms(when: str) -> None:
    assert parse_trigger(f"dummy-time-self-{when}") == Atom("dummy", "time", "self", time=DEC_1)
    assert parse_trigger(f"globaltime-{when}") == Atom("dummy", "globaltime", time=DEC_1)
    assert parse_trigger(f"dummy-repeat-self-{when}-3600") == Atom(
        "dummy", "repeat", "self", time=DEC_1, seconds=3600
    )
    assert parse_trigger(f"globalrepeat-{when}-60") == Atom(
        "dummy", "globalrepeat", time=DEC_1, seconds=60
    )


def test_time_without_a_zone_is_utc() -> None:
    assert parse_trigger("dummy-time-self-2026-12-01T09:00:00") == Atom(
        "dummy", "time", "self", time=DEC_1
    )
    assert parse_trigger("dummy-repeat-self-2026-12-01T09:00:00-60") == Atom(
        "dummy", "repeat", "self", time=DEC_1, seconds=60
    )


@pytest.mark.parametrize(
    "text", ["dummy-repeat-self-2026-12-01T09:00:00-3600", "globalrepeat-2026-12-01T09:00-1200"]
)
def test_repeat_with_a_zoneless_iso_time(text: str) -> None:
    parsed = parse_trigger(text)
    assert isinstance(parsed, Atom)
    assert parsed.seconds == int(text.rsplit("-", 1)[1])


def test_time_atoms_print_as_qube_time() -> None:
    assert parse_trigger("dummy-time-self-2026-12-01T09:00:00Z").format() == (
        f"dummy-time-self-{DEC_1_QUBE}"
    )
    assert parse_trigger("globalrepeat-2026-12-01T09:00:00Z-60").format() == (
        f"globalrepeat-{DEC_1_QUBE}-60"
    )
    assert parse_trigger("dummy-repeat-A-0-1").format() == "dummy-repeat-A-0-1"
    assert parse_trigger("dummy-time-self-0") == Atom("dummy", "time", "self", time=QUBE_EPOCH)


def test_time_atoms_in_expressions() -> None:
    expr = parse_trigger("dummy-time-self-100 && (complete-job-A || globaltime-200)")
    assert expr == AllOf(
        (
            Atom("dummy", "time", "self", time=QUBE_EPOCH + 100),
            AnyOf((A, Atom("dummy", "globaltime", time=QUBE_EPOCH + 200))),
        )
    )


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("compelte-job-self", "unknown event name 'compelte' at 0; did you mean 'complete'?"),
        ("complete-jbo-self", "unknown event type 'jbo' at 9; did you mean 'job'?"),
        (
            "complete-job-A && Complete-work-B-1",
            "unknown event name 'Complete' at 18; did you mean 'complete'?",
        ),
        ("complete-job-A & complete-job-B", "a lone '&': write '&&' at 15"),
        ("complete-job-A | complete-job-B", "a lone '|': write '||' at 15"),
        ("(complete-job-A || complete-job-B", "'(' at 0 is not closed at 33"),
        (
            "complete-job-A && ((complete-job-B) || complete-job-C",
            "'(' at 18 is not closed at 53",
        ),
    ],
)
def test_error_messages(text: str, rendered: str) -> None:
    assert str(syntax_error(text)) == rendered


def test_unknown_name_without_a_close_match_lists_the_names() -> None:
    error = syntax_error("xyzzy-job-self")
    assert (error.offset, error.message) == (0, "unknown event name 'xyzzy'")
    assert error.hint.startswith("use one of submit, assigned, running, complete")


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("", 0, "empty trigger"),
        ("   \n\t ", 0, "empty trigger"),
        ("complete-job", 0, "'complete-job' is not an atom"),
        ("complete", 0, "is not an atom"),
        ("complete--self", 0, "is not an atom"),
        ("-job-self", 0, "is not an atom"),
        ("complete-job-A && complete-job", 18, "'complete-job' is not an atom"),
        ("complete-job-A &&", 17, "expected an atom"),
        ("complete-job-A ||   ", 20, "expected an atom"),
        ("&& complete-job-A", 0, "unexpected '&&'"),
        ("complete-job-A && || complete-job-B", 18, "unexpected '||'"),
        ("complete-job-A complete-job-B", 15, "unexpected 'complete-job-B'"),
        ("complete-job-A)", 14, "unexpected ')'"),
        ("()", 1, "unexpected ')'"),
        ("complete-job-A && ()", 19, "unexpected ')'"),
        ("complete-job-self-", 18, "empty extra"),
        ("dummy-time-self-tomorrow", 16, "'tomorrow' is not a time"),
        ("dummy-time-self-100x", 19, "unexpected 'x' after the time"),
        ("dummy-time-self-2026-13-01T09:00:00Z", 16, "is not a valid date and time"),
        ("dummy-time-self-100000000001", 16, "too far in the future"),
        ("dummy-repeat-self-100", 21, "a repeat needs a period"),
        ("dummy-repeat-self-100-", 21, "a repeat needs a period"),
        ("dummy-repeat-self-100-x", 21, "a repeat needs a period"),
        ("dummy-repeat-self-100-0", 22, "at least 1 second"),
        ("dummy-repeat-self-2026-12-01T09:00:00Z", 38, "a repeat needs a period"),
        ("globaltime-", 11, "is not a time"),
        ("globaltime-soon", 11, "'soon' is not a time"),
        ("globaltime-100-60", 14, "unexpected '-60' after the time"),
        ("globalrepeat-100", 16, "a repeat needs a period"),
        ("globalrepeat-100-0", 17, "at least 1 second"),
        ("complete-job-A && dummy-repeat-self-5", 37, "a repeat needs a period"),
    ],
)
def test_error_offsets(text: str, offset: int, fragment: str) -> None:
    error = syntax_error(text)
    assert error.offset == offset, str(error)
    assert fragment in error.message
    assert str(error).startswith(f"{error.message} at {offset}")


def test_time_atom_without_a_time() -> None:
    error = syntax_error("dummy-time-self")
    assert "a time atom needs a time" in error.message
    error = syntax_error("dummy-repeat-self")
    assert "dummy-repeat-self-TIME-SECONDS" in error.message


def test_nesting_limit() -> None:
    deep = "(" * MAX_NESTING + "complete-job-A" + ")" * MAX_NESTING
    assert parse_trigger(deep) == A
    too_deep = "(" * (MAX_NESTING + 1) + "complete-job-A" + ")" * (MAX_NESTING + 1)
    error = syntax_error(too_deep)
    assert error.offset == MAX_NESTING
    assert f"more than {MAX_NESTING} nested parentheses" in error.message
    # depth is nesting, not the number of groups
    wide = " && ".join(["(complete-job-A)"] * (MAX_NESTING * 3))
    assert parse_trigger(wide) == AllOf((A,) * (MAX_NESTING * 3))


def test_length_limit() -> None:
    atom = "complete-job-A"
    fits = " || ".join([atom] * 500)
    fits += " " * (MAX_TRIGGER_LENGTH - len(fits))
    assert len(fits) == MAX_TRIGGER_LENGTH
    assert parse_trigger(fits) == AnyOf((A,) * 500)
    error = syntax_error(fits + " ")
    assert error.offset == MAX_TRIGGER_LENGTH
    assert "longer than" in error.message


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(TriggerSyntaxError, ValueError)


# Known bugs: non-ASCII digits and huge numbers escape as plain ValueError.


def test_superscript_repeat_period_is_a_syntax_error() -> None:
    error = syntax_error("dummy-repeat-self-100-\u00b2")
    assert error.offset == 21


@pytest.mark.parametrize(
    "text", ["dummy-time-self-" + "1" * 5000, "dummy-repeat-self-1-" + "1" * 5000]
)
def test_huge_number_is_a_syntax_error(text: str) -> None:
    syntax_error(text)


@pytest.mark.parametrize(
    "text", ["dummy-time-self-1999-06-01T00:00:00Z", "globalrepeat-1990-01-01T00:00:00Z-60"]
)
def test_times_before_the_qube_epoch_round_trip_or_are_refused(text: str) -> None:
    try:
        parsed = parse_trigger(text)
    except TriggerSyntaxError:
        return  # refusing them is fine too
    assert parse_trigger(parsed.format()) == parsed


# --- property: nothing but TriggerSyntaxError ---------------------------------------------

SAFE_TOKENS = [
    *EVENT_NAMES,
    *EVENT_TYPES,
    "globaltime",
    "globalrepeat",
    "self",
    "parent",
    "A",
    "render_1",
    "42",
    "*",
    "-",
    "--",
    "(",
    ")",
    "&&",
    "&",
    "||",
    "|",
    "and",
    "OR",
    " ",
    "\t",
    "\n",
    "0",
    "100",
    "999999999999",
    "2026-12-01T09:00:00Z",
    "2026-12-01T04:00:00-05:00",
    "2026-02-30T09:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "2026-12-01T09:00",
    "+05:30",
    "T",
    ":",
    ".5",
    "\u0661\u0662",  # Arabic-Indic digits: int() reads them
    "é",
]
trigger_like = st.lists(
    st.one_of(st.sampled_from(SAFE_TOKENS), st.text(max_size=3)), max_size=30
).map("".join)


def parse_or_syntax_error(text: str) -> None:
    try:
        expr = parse_trigger(text)
    except TriggerSyntaxError as error:
        assert 0 <= error.offset <= max(len(text), MAX_TRIGGER_LENGTH)
        assert error.message
        return
    assert atoms(expr)


@given(st.text())
def test_any_text_raises_only_trigger_syntax_errors(text: str) -> None:
    parse_or_syntax_error(text)


@given(trigger_like)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_trigger_like_text_raises_only_trigger_syntax_errors(text: str) -> None:
    parse_or_syntax_error(text)


@given(
    st.lists(
        st.one_of(st.sampled_from([*SAFE_TOKENS, "\u00b2", "\u00b3", "9" * 4400]), st.text()),
        max_size=20,
    ).map("".join)
)
@example("dummy-repeat-self-100-\u00b2")
@example("globalrepeat-1-" + "9" * 4400)
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_any_digits_raise_only_trigger_syntax_errors(text: str) -> None:
    parse_or_syntax_error(text)


# --- property: printing and parsing are inverse -------------------------------------------

label = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True)
context = st.one_of(st.sampled_from(["self", "parent"]), label, st.integers(1, 10**6).map(str))
extra = st.one_of(
    st.just("*"),
    st.from_regex(r"[A-Za-z0-9_.*:+-]{1,10}", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}-[0-9]{1,4}", fullmatch=True),
)
event_atom = st.builds(
    Atom,
    name=st.sampled_from(EVENT_NAMES),
    type=st.sampled_from([t for t in EVENT_TYPES if t not in ("time", "repeat", "host")]),
    context=context,
    extra=st.one_of(st.just(""), extra),
)
host_atom = st.builds(
    Atom,
    name=st.sampled_from(EVENT_NAMES),
    type=st.just("host"),
    context=st.sampled_from(["", "self"]),
    extra=st.one_of(
        st.just("*"), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,12}", fullmatch=True)
    ),
).filter(lambda atom: atom.context or not atom.extra.startswith("self-"))
moment = st.integers(QUBE_EPOCH, QUBE_EPOCH + 10**11)
period = st.integers(1, 10**9)
timed_atom = st.one_of(
    st.builds(Atom, name=st.just("dummy"), type=st.just("time"), context=context, time=moment),
    st.builds(
        Atom,
        name=st.just("dummy"),
        type=st.just("repeat"),
        context=context,
        time=moment,
        seconds=period,
    ),
    st.builds(Atom, name=st.just("dummy"), type=st.just("globaltime"), time=moment),
    st.builds(
        Atom, name=st.just("dummy"), type=st.just("globalrepeat"), time=moment, seconds=period
    ),
)
any_atom = st.one_of(event_atom, timed_atom, host_atom)
trees: st.SearchStrategy[Expr] = st.recursive(
    any_atom,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda ops: AllOf(tuple(ops))),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: AnyOf(tuple(ops))),
    ),
    max_leaves=12,
)


def normalized(expr: Expr) -> Expr:
    """The tree a parser builds: nested groups of the same operator flattened."""
    if isinstance(expr, Atom):
        return expr
    kind = type(expr)
    flat: list[Expr] = []
    for operand in expr.operands:
        operand = normalized(operand)
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


T = TypeVar("T")


class Draw(Protocol):
    """``st.data().draw``: hypothesis' own ``st.DrawFn`` also asks for a ``__signature__``
    member, which no bound method declares."""

    def __call__(self, strategy: st.SearchStrategy[T], label: object = None) -> T: ...


def render(expr: Expr, draw: Draw) -> str:
    """Any way of writing ``expr``: operator spellings, spacing, redundant parentheses, ISO."""
    if isinstance(expr, Atom):
        text = render_atom(expr, draw)
    else:
        if isinstance(expr, AllOf):
            spelling = st.sampled_from(["&&", "and", "AND"])
        else:
            spelling = st.sampled_from(["||", "or", "OR"])
        parts: list[str] = []
        for i, operand in enumerate(expr.operands):
            inner = render(operand, draw)
            needs = isinstance(operand, AnyOf) and isinstance(expr, AllOf)
            if needs or (not isinstance(operand, Atom) and draw(st.booleans())):
                inner = f"({inner})"
            if i:
                op = draw(spelling)
                space = " " if op.isalpha() else draw(st.sampled_from(["", " ", "\n "]))
                parts.append(f"{space}{op}{space}")
            parts.append(inner)
        text = "".join(parts)
    if draw(st.integers(0, 5)) == 0:
        text = f"({text})"
    return text


def render_atom(atom: Atom, draw: Draw) -> str:
    text = atom.format()
    if atom.type not in ("time", "repeat", "globaltime", "globalrepeat"):
        return text
    if atom.time >= 253_402_300_799 or not draw(st.booleans()):  # beyond year 9999
        return text
    hours = draw(st.integers(-12, 14))
    zone = timezone(timedelta(hours=hours))
    stamp = datetime.fromtimestamp(atom.time, zone).isoformat()
    if hours == 0 and draw(st.booleans()):
        stamp = stamp.replace("+00:00", "Z")
    prefix = {
        "time": f"{atom.name}-time-{atom.context}-",
        "repeat": f"{atom.name}-repeat-{atom.context}-",
        "globaltime": "globaltime-",
        "globalrepeat": "globalrepeat-",
    }[atom.type]
    suffix = f"-{atom.seconds}" if atom.type.endswith("repeat") else ""
    return f"{prefix}{stamp}{suffix}"


@given(trees)
@settings(max_examples=300)
def test_format_then_parse_gives_the_same_tree(expr: Expr) -> None:
    text = expr.format()
    assert parse_trigger(text) == normalized(expr)
    assert parse_trigger(text).format() == normalized(expr).format()


@given(trees, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_parse_then_format_then_parse_gives_the_same_tree(expr: Expr, data: st.DataObject) -> None:
    text = render(expr, data.draw)
    parsed = parse_trigger(text)
    assert parsed == normalized(expr)
    printed = parsed.format()
    assert parse_trigger(printed) == parsed
    assert parse_trigger(printed).format() == printed  # the printed form is canonical


@pytest.mark.parametrize(
    "text",
    [
        "(complete-job-A && complete-job-B) || complete-job-C",
        "complete-job-A and (complete-job-B or complete-job-C) AND done-work-self-1-200",
        "dummy-time-self-2026-12-01T04:00:00-05:00 && complete-work-A-*",
        "globalrepeat-2026-12-01T09:00:00Z-60 || (failed-subjob-1-* && killed-tree-self)",
        "((((complete-job-A))))",
    ],
)
def test_round_trip_examples(text: str) -> None:
    parsed = parse_trigger(text)
    assert parse_trigger(parsed.format()) == parsed


def test_a_short_trigger_is_parsed_once_and_its_tree_shared() -> None:
    text = "complete-job-render && failed-work-self-*"
    assert parse_trigger(text) is parse_trigger(text)
    longer = " || ".join(f"complete-job-j{i}" for i in range(40))
    assert len(longer) > PARSED_TRIGGER_LENGTH
    assert parse_trigger(longer) == parse_trigger(longer)
    assert parse_trigger(longer) is not parse_trigger(longer)  # not kept: bounded memory


def test_a_trigger_that_does_not_parse_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(TriggerSyntaxError, match="is not an atom") as caught:
            parse_trigger("complete-job-")
        assert caught.value.offset == 0

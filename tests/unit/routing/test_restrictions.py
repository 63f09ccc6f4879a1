"""Cluster paths and Qube's restriction expressions; host properties as workers declare them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latchwork.server.core.routing.errors import RoutingSyntaxError
from latchwork.server.core.routing.hosts import Host, HostState, Usage, parse_properties
from latchwork.server.core.routing.restrictions import (
    MAX_RESTRICTIONS_LENGTH,
    parse_cluster,
    parse_restrictions,
)

CLUSTERS = ["/", "/hello", "/hello/world", "/hello/world/deep", "/hello/world/deep/er", "/bye"]


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        # Qube's examples (the restriction syntax page):
        ("/hello/world", {"/hello/world"}),
        ("/hello/world/+", {"/hello/world/deep", "/hello/world/deep/er"}),
        ("/hello/world/*", {"/hello/world/deep"}),
        ("/hello || /bye", {"/hello", "/bye"}),
        ("/hello or /hello/*", {"/hello", "/hello/world"}),
        ("/hello OR /hello/+", {"/hello", "/hello/world", "/hello/world/deep",
                                "/hello/world/deep/er"}),
        # the root, where Qube is silent:
        ("/", {"/"}),
        ("/*", {"/hello", "/bye"}),
        ("/+", set(CLUSTERS) - {"/"}),
        ("/hello/", {"/hello"}),
    ],
)  # fmt: skip
def test_which_clusters_a_restriction_allows(text: str, allowed: set[str]) -> None:
    restrictions = parse_restrictions(text)
    assert {c for c in CLUSTERS if restrictions.allows(c)} == allowed


def test_or_inside_a_cluster_name_is_a_name() -> None:
    restrictions = parse_restrictions("/a/or || /b/orange")
    assert restrictions.allows("/a/or") and restrictions.allows("/b/orange")


def test_the_canonical_form_parses_back_to_the_same_restrictions() -> None:
    restrictions = parse_restrictions("/b/+ || /a or /a/* || /a")
    again = parse_restrictions(restrictions.format())
    assert (again.exact, again.children_of, again.below) == (
        restrictions.exact,
        restrictions.children_of,
        restrictions.below,
    )
    assert restrictions.format() == "/a || /a/* || /b/+"


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("", 0, "empty"),
        ("hello", 0, "must start with '/'"),
        ("/hello ||", 9, "expected a cluster"),
        ("|| /hello", 0, "expected a cluster"),
        ("/a || b", 6, "must start with '/'"),
        ("/a/*/b", 3, "'*' and '+' may only end"),
        ("/a+", 2, "may only end"),
        ("/a//b", 3, "empty cluster name"),
        ("/a/b c", 3, "'b c' is not a cluster name"),
    ],
)
def test_refused_with_the_offset_of_the_problem(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(RoutingSyntaxError) as caught:
        parse_restrictions(text)
    assert (caught.value.offset, fragment in str(caught.value)) == (offset, True), caught.value


def test_length_is_bounded() -> None:
    with pytest.raises(RoutingSyntaxError):
        parse_restrictions("/a || " * MAX_RESTRICTIONS_LENGTH)


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_with_an_offset(text: str) -> None:
    try:
        restrictions = parse_restrictions(text)
    except RoutingSyntaxError as error:
        assert 0 <= error.offset <= len(text)
        return
    restrictions.allows("/a/b")


def test_cluster_paths_are_canonical() -> None:
    assert parse_cluster("/show/comp/") == "/show/comp"
    assert parse_cluster(" / ") == "/"
    with pytest.raises(RoutingSyntaxError):
        parse_cluster("show")


# --- hosts --------------------------------------------------------------------------------------


def test_free_capacity_never_goes_negative() -> None:
    host = Host("h", slots_total=2, in_use=Usage(slots=5, memory_mb=10, gpus=1))
    assert (host.free_slots, host.free_memory_mb, host.free_gpus) == (0, 0, 0)
    assert Usage(1, 100, 0).minus(2, 200, 1) == Usage()
    assert Usage().plus(1, 100, 1).minus(1, 100, 1) == Usage()


def test_only_an_up_host_accepts_work_and_idle_forgets_state_and_usage() -> None:
    host = Host("h", state=HostState.LOCKED, in_use=Usage(slots=1))
    assert not host.accepts_work
    assert host.idle() == Host("h")
    assert host.with_state(HostState.UP).with_usage(Usage()).accepts_work


def test_properties_as_a_worker_declares_them() -> None:
    assert parse_properties("renderer=arnold, host.site='lon',empty=") == {
        "renderer": "arnold",
        "site": "lon",
        "empty": "",
    }
    assert parse_properties("") == {}
    for text, offset in [("a=1,b", 4), ("a=1,a=2", 4), ("a b=1", 0), ("a=1,,b=2", 4)]:
        with pytest.raises(RoutingSyntaxError) as caught:
            parse_properties(text)
        assert caught.value.offset == offset, text

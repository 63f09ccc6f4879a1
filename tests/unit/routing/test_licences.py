"""Global resource counters: all-or-none takes, idempotent give-backs, never oversubscribed."""

from __future__ import annotations

import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from latchwork.server.core.routing.errors import RoutingSyntaxError
from latchwork.server.core.routing.licences import Exhausted, GlobalResources, parse_limits


def test_take_and_give_back() -> None:
    pool = GlobalResources({"nuke": 2, "maya": 1})
    assert pool.take("lease-1", {"nuke": 1, "maya": 1}) is None
    assert pool.take("lease-2", {"nuke": 1}) is None
    refusal = pool.take("lease-3", {"nuke": 1})
    assert refusal == Exhausted("nuke", 1, 2, 2)
    assert str(refusal) == "licence nuke 2/2 in use"
    assert pool.usage() == {"nuke": (2, 2), "maya": (1, 1)}
    assert pool.give_back("lease-1") == {"nuke": 1, "maya": 1}
    assert pool.give_back("lease-1") == {}  # a second give-back changes nothing
    assert pool.usage() == {"nuke": (1, 2), "maya": (0, 1)}
    assert pool.take("lease-3", {"nuke": 1}) is None


def test_a_refused_take_takes_nothing() -> None:
    pool = GlobalResources({"a": 5, "b": 1})
    pool.take("x", {"b": 1})
    assert pool.take("y", {"a": 3, "b": 1}) == Exhausted("b", 1, 1, 1)
    assert (pool.in_use("a"), pool.held_by("y")) == (0, {})


def test_refusals_say_which_resource_and_how_much() -> None:
    pool = GlobalResources({"nuke": 10})
    pool.take("x", {"nuke": 9})
    assert str(pool.shortfall({"nuke": 2})) == "licence nuke 9/10 in use, 2 wanted"
    assert str(pool.shortfall({"houdini": 1})) == "global resource 'houdini' is not configured"
    assert pool.shortfall({"nuke": 1, "houdini": 0}) is None
    assert pool.could_ever({"nuke": 10}) is None
    assert pool.could_ever({"nuke": 11}) == Exhausted("nuke", 11, 9, 10)


def test_taking_twice_for_one_holder_is_a_bug() -> None:
    pool = GlobalResources({"a": 5})
    pool.take("x", {"a": 1})
    with pytest.raises(ValueError, match="already holds"):
        pool.take("x", {"a": 1})
    with pytest.raises(ValueError, match="negative"):
        pool.take("y", {"a": -1})


def test_a_lowered_limit_keeps_running_frames_and_refuses_new_ones() -> None:
    pool = GlobalResources({"a": 3})
    for holder in "xyz":
        pool.take(holder, {"a": 1})
    pool.set_limit("a", 1)
    assert pool.take("w", {"a": 1}) == Exhausted("a", 1, 3, 1)
    pool.give_back("x")
    pool.give_back("y")
    assert pool.take("w", {"a": 1}) == Exhausted("a", 1, 1, 1)
    pool.give_back("z")
    assert pool.take("w", {"a": 1}) is None
    pool.remove_limit("a")
    assert pool.shortfall({"a": 1}) == Exhausted("a", 1, 1, None)


def test_adopting_a_running_frame_after_a_restart_ignores_the_limit() -> None:
    pool = GlobalResources({"a": 1})
    pool.adopt("x", {"a": 1})
    pool.adopt("y", {"a": 1})
    assert pool.usage() == {"a": (2, 1)}
    pool.adopt("y", {"a": 1})  # adopting again replaces, never doubles
    assert pool.in_use("a") == 2
    pool.give_back("x")
    pool.give_back("y")
    assert pool.in_use("a") == 0


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        GlobalResources({"9x": 1})
    with pytest.raises(ValueError):
        GlobalResources({"x": -1})


def test_parse_limits() -> None:
    text = "# licences\nnuke = 10\nglobal.maya=5, houdini = 2  # floating\n\n"
    assert parse_limits(text) == {"nuke": 10, "maya": 5, "houdini": 2}
    for bad, offset in [("nuke = ten", 0), ("a=1\nb c = 2", 4), ("a=1, a=2", 4), ("x", 0)]:
        with pytest.raises(RoutingSyntaxError) as caught:
            parse_limits(bad)
        assert caught.value.offset == offset, bad


class Counters(RuleBasedStateMachine):
    """Random takes and give-backs against a model: in use is always the sum of what holders
    hold, never above a limit, never below zero."""

    holders = Bundle("holders")

    def __init__(self) -> None:
        super().__init__()
        self.limits = {"a": 3, "b": 1, "c": 5}
        self.pool = GlobalResources(self.limits)
        self.model: dict[int, dict[str, int]] = {}
        self.next_id = 0

    @rule(target=holders, amounts=st.dictionaries(st.sampled_from("abcd"), st.integers(0, 4)))
    def take(self, amounts: dict[str, int]) -> int:
        holder = self.next_id
        self.next_id += 1
        refusal = self.pool.take(holder, amounts)
        wanted = {k: v for k, v in amounts.items() if v}
        used = self._used()
        fits = all(
            k in self.limits and used.get(k, 0) + v <= self.limits[k] for k, v in wanted.items()
        )
        assert (refusal is None) == fits
        if refusal is None and wanted:
            self.model[holder] = wanted
        return holder

    @rule(holder=holders)
    def give_back(self, holder: int) -> None:
        assert self.pool.give_back(holder) == self.model.pop(holder, {})

    @rule(name=st.sampled_from("abc"), limit=st.integers(0, 6))
    def set_limit(self, name: str, limit: int) -> None:
        self.pool.set_limit(name, limit)
        self.limits[name] = limit

    def _used(self) -> dict[str, int]:
        used: dict[str, int] = {}
        for held in self.model.values():
            for name, amount in held.items():
                used[name] = used.get(name, 0) + amount
        return used

    @invariant()
    def in_use_is_what_holders_hold(self) -> None:
        for name in "abcd":
            assert self.pool.in_use(name) == self._used().get(name, 0) >= 0


TestCounters = Counters.TestCase
TestCounters.settings = settings(max_examples=200, stateful_step_count=40)


def test_never_oversubscribed_when_many_threads_lease_at_once() -> None:
    pool = GlobalResources({"nuke": 2})
    peak = 0
    peak_lock = threading.Lock()
    start = threading.Barrier(16)

    def worker(index: int) -> None:
        nonlocal peak
        start.wait()
        for round_ in range(300):
            holder = (index, round_)
            if pool.take(holder, {"nuke": 1}) is None:
                with peak_lock:
                    peak = max(peak, pool.in_use("nuke"))
                pool.give_back(holder)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak <= 2
    assert pool.in_use("nuke") == 0

"""The firing budget as a pure object, on an injected clock."""

from __future__ import annotations

import pytest

from latchwork.server.config import ConfigError, load_settings
from latchwork.server.core.firing_budget import BudgetLimits, FiringBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_depth_up_to_the_limit_fires_and_one_more_is_refused() -> None:
    budget = FiringBudget(BudgetLimits(max_depth=3, burst=100), Clock())
    assert [budget.admit(1, depth) for depth in range(4)] == [None] * 4
    over = budget.admit(1, 4)
    assert over is not None and over.bound == "depth"
    assert "depth 4" in over.message and "budget is 3" in over.message


def test_direct_firings_never_spend_tokens() -> None:
    """Depth 0 is paced by the farm: every frame of a frame-to-frame callback fires."""
    budget = FiringBudget(BudgetLimits(max_depth=5, burst=10), Clock())
    assert all(budget.admit(7, 0) is None for _ in range(100_000))
    assert budget.tokens(7) == 10


def test_cascade_firings_spend_the_burst_then_are_refused() -> None:
    clock = Clock()
    budget = FiringBudget(BudgetLimits(max_depth=0, burst=5, window_seconds=10), clock)
    assert [budget.admit(1, 1) for _ in range(5)] == [None] * 5
    over = budget.admit(1, 1)
    assert over is not None and over.bound == "rate"
    assert "5 firings per 10 s" in over.message
    assert budget.admit(2, 1) is None  # per callback: another one has its own bucket


def test_tokens_come_back_with_time_up_to_the_burst() -> None:
    clock = Clock()
    budget = FiringBudget(BudgetLimits(burst=10, window_seconds=10), clock)  # 1 per second
    for _ in range(10):
        assert budget.admit(1, 2) is None
    assert budget.admit(1, 2) is not None
    clock.now += 3.0
    assert budget.tokens(1) == pytest.approx(3.0)
    assert [budget.admit(1, 2) is None for _ in range(4)] == [True, True, True, False]
    clock.now += 1000.0
    assert budget.tokens(1) == 10  # never more than the burst


def test_a_steady_cascade_below_the_rate_goes_on_forever() -> None:
    clock = Clock()
    budget = FiringBudget(BudgetLimits(burst=60, window_seconds=60), clock)  # 1 per second
    for _ in range(10_000):
        assert budget.admit(1, 1) is None
        clock.now += 1.01


def test_zero_turns_a_bound_off() -> None:
    budget = FiringBudget(BudgetLimits(max_depth=0, burst=0), Clock())
    assert all(budget.admit(1, 10_000) is None for _ in range(1000))


def test_full_buckets_are_pruned() -> None:
    clock = Clock()
    budget = FiringBudget(BudgetLimits(burst=10, window_seconds=1), clock)
    for callback_id in range(5000):
        budget.admit(callback_id, 1)
        clock.now += 0.01
    assert len(budget) < 5000  # buckets refilled to the burst were dropped on the way


def test_forget_restores_a_full_bucket() -> None:
    budget = FiringBudget(BudgetLimits(burst=2), Clock())
    budget.admit(1, 1)
    budget.admit(1, 1)
    assert budget.admit(1, 1) is not None
    budget.forget(1)
    assert budget.admit(1, 1) is None


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        BudgetLimits(max_depth=-1)
    with pytest.raises(ValueError):
        BudgetLimits(window_seconds=0)


def test_the_settings_give_the_budget() -> None:
    settings = load_settings(
        env={"LATCHWORK_CALLBACK_CASCADE_DEPTH": "7", "LATCHWORK_CALLBACK_CASCADE_BURST": "0"}
    )
    assert settings.firing_budget == BudgetLimits(max_depth=7, burst=0, window_seconds=60.0)
    assert load_settings(env={}).firing_budget == BudgetLimits()
    with pytest.raises(ConfigError, match="callback_cascade_depth"):
        load_settings(env={"LATCHWORK_CALLBACK_CASCADE_DEPTH": "-1"})
    with pytest.raises(ConfigError, match="sandbox_owner_runs"):
        load_settings(env={"LATCHWORK_SANDBOX_OWNER_RUNS": "-2"})

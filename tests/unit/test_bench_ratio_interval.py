"""The dashboard benchmark's verdict arithmetic: pooled percentile ratios and their interval.

Issue 15's acceptance is a bound on a p99 ratio, and on this machine a run's ratio moves by as
much as the bound between runs; the interval is what says whether a run can tell. These pin
what it computes, on samples whose answer is known.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.dashboard_load import (
    PHASES,
    alone_halves,
    pooled_ratio,
    print_pooled,
    ratio_interval,
)


def _rounds(scale: float, count: int = 8, size: int = 200) -> list[list[float]]:
    return [[scale * (i + 1) / size for i in range(size)] for _ in range(count)]


def test_a_uniform_slowdown_is_its_own_ratio_with_no_spread() -> None:
    base = _rounds(1.0)
    slower = _rounds(1.5)
    assert pooled_ratio(slower, base, 0.99) == pytest.approx(1.5)
    low, high = ratio_interval(slower, base)
    assert low == pytest.approx(1.5)
    assert high == pytest.approx(1.5)


def test_one_bad_round_widens_the_interval_around_the_pooled_ratio() -> None:
    base = _rounds(1.0)
    measured = _rounds(1.0)
    measured[3] = [x * 3 for x in measured[3]]  # one round three times as slow
    ratio = pooled_ratio(measured, base, 0.99)
    low, high = ratio_interval(measured, base)
    assert ratio > 1.0
    assert low < ratio <= high
    assert low == pytest.approx(1.0)  # draws without the bad round: no change
    assert high > 2.0


def test_the_interval_is_the_same_for_the_same_samples() -> None:
    base = _rounds(1.0)
    measured = _rounds(1.0)
    measured[0] = [x * 2 for x in measured[0]]
    assert ratio_interval(measured, base) == ratio_interval(measured, base)


def test_saved_runs_are_pooled_round_by_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for run, scale in enumerate((1.2, 1.4)):
        saved = {
            "argv": [],
            "subscribe": {p: _rounds(scale if p == "dashboards" else 1.0, 2) for p in PHASES},
            "dependency": {p: _rounds(1.0, 2) for p in PHASES},
        }
        path = tmp_path / f"run{run}.json"
        path.write_text(json.dumps(saved))
        paths.append(str(path))
    assert print_pooled(paths) == 0
    out = capsys.readouterr().out
    assert "2 run(s), 4 rounds pooled" in out
    subscribe = next(line for line in out.splitlines() if "Subscribe" in line)
    assert "p99  1.39 (90 % interval 1.20-1.40)" in subscribe
    dependency = next(line for line in out.splitlines() if "dependency" in line)
    assert "p99  1.00 (90 % interval 1.00-1.00)" in dependency


def test_the_alone_phase_halves_are_its_even_and_odd_rounds_paired() -> None:
    rounds = [[float(i)] for i in range(5)]  # an odd count: the last round is left out
    even, odd = alone_halves(rounds)
    assert even == [[0.0], [2.0]]
    assert odd == [[1.0], [3.0]]


def test_the_a_a_ratio_of_one_condition_is_one_and_shows_a_noisy_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steady = {p: _rounds(1.0, 4) for p in PHASES}
    noisy_alone = _rounds(1.0, 4)
    noisy_alone[2] = [x * 2 for x in noisy_alone[2]]  # one even round twice as slow
    for name, alone, expected in (("steady", steady["alone"], 1.0), ("noisy", noisy_alone, 2.0)):
        saved = {"argv": [], "subscribe": {**steady, "alone": alone}, "dependency": steady}
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(saved))
        assert print_pooled([str(path)]) == 0
        printed = capsys.readouterr().out
        subscribe, dependency = printed.split("A/A ratio")[1].splitlines()[1:3]
        assert _p99_of(subscribe) == pytest.approx(expected, abs=0.03)
        assert _p99_of(dependency) == pytest.approx(1.0)  # alone is steady there


def _p99_of(line: str) -> float:
    return float(line.split("p99")[1].split()[0])

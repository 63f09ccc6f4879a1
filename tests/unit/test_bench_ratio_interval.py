"""The dashboard benchmark's verdict arithmetic: pooled percentile ratios and their interval.

Issue 15's acceptance is a bound on a p99 ratio, and on this machine a run's ratio moves by as
much as the bound between runs; the interval is what says whether a run can tell. These pin
what it computes, on samples whose answer is known.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.dashboard_load import PHASES, pooled_ratio, print_pooled, ratio_interval


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

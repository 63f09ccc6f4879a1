"""Dashboard steps wait for an idle loop (latchwork.server.http.idle_turns): a chain of the
supervisor's steps goes first, steps waiting so do not hold each other up, and a loop that is
never idle still lets them through."""

from __future__ import annotations

import asyncio

from latchwork.server.http.idle_turns import IdleSteps, until_idle


def _chain(steps: int, log: list[str]) -> None:
    """A chain of ``steps`` loop callbacks, each scheduling the next (as a request's path
    through the supervisor does, one ready step after another)."""

    def step(left: int) -> None:
        log.append("chain")
        if left > 1:
            asyncio.get_running_loop().call_soon(step, left - 1)

    asyncio.get_running_loop().call_soon(step, steps)


async def test_a_chain_made_ready_goes_before_a_waiting_step() -> None:
    log: list[str] = []

    async def dashboard() -> None:
        await until_idle(max_defer=60)
        log.append("dashboard")

    _chain(50, log)
    await dashboard()
    assert log == ["chain"] * 50 + ["dashboard"]


async def test_steps_waiting_together_do_not_wait_for_each_other() -> None:
    finished: list[int] = []

    async def dashboard(number: int) -> None:
        for _ in range(20):
            await until_idle(max_defer=60)
        finished.append(number)

    # Had each counted the others as work, each of the 100 waits would have run to max_defer.
    await asyncio.wait_for(asyncio.gather(*(dashboard(n) for n in range(5))), timeout=30)
    assert sorted(finished) == [0, 1, 2, 3, 4]


class Spinner:
    """A loop that is never idle: a callback that schedules itself at every turn."""

    def __init__(self) -> None:
        self.busy = True
        self.turns = 0
        asyncio.get_running_loop().call_soon(self._spin)

    def _spin(self) -> None:
        self.turns += 1
        if self.busy:
            asyncio.get_running_loop().call_soon(self._spin)


async def test_a_loop_never_idle_still_lets_a_step_through_after_its_bound() -> None:
    spinner = Spinner()
    try:
        assert not await asyncio.wait_for(until_idle(max_defer=0.05), timeout=30)
    finally:
        spinner.busy = False
    assert spinner.turns > 1
    assert await until_idle(max_defer=60)  # the spinner stopped: idle at once


async def test_paced_steps_on_a_loop_never_idle_take_a_share_not_a_step_per_bound() -> None:
    """2,000 steps, paced, with a bound of 50 ms: one step per bound would take 100 s; after a
    bound finds the loop busy, the steps of the next 2 ms go at once."""
    spinner = Spinner()
    paced = IdleSteps(max_defer=0.05)

    async def steps() -> None:
        for _ in range(2000):
            await paced.next()

    try:
        await asyncio.wait_for(steps(), timeout=30)
    finally:
        spinner.busy = False

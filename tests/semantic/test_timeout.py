"""A computation run with a deadline answers in time, or is stopped at the deadline, even when
the first interruption lands where Python swallows it (a gc callback, a ``__del__``)."""

from __future__ import annotations

import time

import pytest

from twin_server.semantic.timeout import Timeout, run_with_timeout

pytestmark = pytest.mark.anyio


async def test_work_done_in_time_gives_its_result_or_its_own_error() -> None:
    assert await run_with_timeout(lambda: 6 * 7, 1.0) == 42

    def fails() -> None:
        raise ValueError("its own")

    with pytest.raises(ValueError, match="its own"):
        await run_with_timeout(fails, 1.0)


async def test_work_that_swallows_an_interruption_is_stopped_by_the_next() -> None:
    swallowed: list[float] = []
    ended: list[str] = []

    def work() -> None:
        give_up = time.monotonic() + 4.0
        try:
            while time.monotonic() < give_up:
                try:
                    while time.monotonic() < give_up:
                        sum(range(100))
                except Timeout:
                    if swallowed:
                        raise
                    swallowed.append(time.monotonic())  # as a gc callback's "ignored" would
            ended.append("ran to its own end")
        except Timeout:
            ended.append("stopped")
            raise

    started = time.monotonic()
    with pytest.raises(Timeout):
        await run_with_timeout(work, 0.2)
    took = time.monotonic() - started
    assert swallowed, "the first interruption never came"
    assert ended == ["stopped"]
    assert took < 1.5, f"answered after {took:.1f} s: the work went on past its deadline"

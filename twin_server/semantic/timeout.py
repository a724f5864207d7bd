"""Running a pure-Python computation (a SPARQL query) with a deadline.

rdflib evaluates queries in Python, so the worker thread running one can be stopped by raising
an exception in it (``PyThreadState_SetAsyncExc``); the exception lands at the next bytecode.
Where that bytecode is a garbage collector callback, a ``__del__`` or a weakref callback, Python
prints the exception as ignored and the query goes on (seen in CI, in a test library's gc
callback): so the interruption is repeated until the worker has stopped.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(Exception):
    """The computation ran past its deadline and was stopped."""


STOP_GRACE = 5.0  # seconds a stopped query may take to let go
STOP_EVERY = 0.05  # seconds between two interruptions of a worker that goes on


async def run_with_timeout(work: Callable[[], T], seconds: float) -> T:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    finished = threading.Event()

    def target() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (work(), None)
        except BaseException as exc:
            outcome = (None, exc)
        while True:
            try:
                finished.set()
                loop.call_soon_threadsafe(settle, *outcome)
                return
            except Timeout:  # an interruption sent as the work ended: it is over already
                continue

    worker = threading.Thread(target=target, name="sparql-query", daemon=True)
    worker.start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), seconds)
    except TimeoutError:
        # nobody waits for the outcome any more: settling it later would leave an exception
        # nobody retrieves, which asyncio reports as an error of the loop
        done.cancel()
        # answer once it has stopped (and let go of the graph), so the next query does not
        # wait for it; a worker deaf to the interruptions is left after a few seconds
        give_up = loop.time() + STOP_GRACE
        while worker.is_alive() and not finished.is_set() and loop.time() < give_up:
            _interrupt(worker)
            await asyncio.to_thread(worker.join, STOP_EVERY)
        raise Timeout(f"stopped after {seconds:g} s") from None


def _interrupt(worker: threading.Thread) -> None:
    if worker.ident is not None and worker.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(Timeout)
        )

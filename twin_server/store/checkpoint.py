"""Background WAL checkpoints for the SQLite store: a thread with its own connection copies
the write-ahead log back into the database (PASSIVE: it never waits for, nor blocks, the
writer or readers), so the writer never stops to checkpoint.

Without it, SQLite's automatic checkpoint runs inside a commit of the one writer: every write
waits while tens of megabytes are copied and synced (measured: PATCH p99 over 100 ms, every
few seconds under load). SQLite does the copy without holding Python's GIL, so here it runs
beside the server's Python work, on another core. The writer keeps a large automatic
checkpoint as a safety net should this thread fall far behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
FALLBACK_PAGES = 262_144  # 1 GiB of 4 KiB pages: the writer checkpoints itself past this


class Checkpointer:
    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: float = 0.5) -> None:
        self.connect = connect
        self.every = every
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = self.connect()
        try:
            while not self._stop.wait(self.every):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)
                    continue
                if frames > 0:
                    self.checkpoints += 1
        finally:
            conn.close()

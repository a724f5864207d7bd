"""Background WAL checkpoints for the SQLite store: a thread with its own connection copies
the write-ahead log back into the database (PASSIVE: it never waits for, nor blocks, the
writer or readers), so the writer never stops to checkpoint.

Without it, SQLite's automatic checkpoint runs inside a commit of the one writer: every write
waits while tens of megabytes are copied and synced (measured: PATCH p99 over 100 ms, every
few seconds under load). SQLite does the copy without holding Python's GIL, so here it runs
beside the server's Python work, on another core. The writer keeps a large automatic
checkpoint as a safety net should this thread fall far behind.

A checkpoint beside a busy writer never lets the log start over: SQLite rewinds the WAL only
when a write transaction begins with every frame copied back, and under steady writes the
writer has always committed more since the pass began. The WAL then grows to the safety net
(measured: 840 MB, and the writer's CPU per update doubled as it grew). So once a pass finds
the log longer than ``restart_frames``, it asks the writer to finish: between two commits,
the writer checkpoints what this pass left (what it committed meanwhile, a small part), and
its next transaction rewinds the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
FALLBACK_PAGES = 262_144  # 1 GiB of 4 KiB pages: the writer checkpoints itself past this
RESTART_FRAMES = 16_384  # 64 MiB of 4 KiB pages: past this, the writer is asked to finish


class Checkpointer:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        every: float = 0.5,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self.connect = connect
        self.every = every
        self.restart_frames = restart_frames
        self.checkpoints = 0
        self.finish_wanted = False
        """Set by a pass that found the log long; the writer clears it (``take_finish``)."""
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
                if frames >= self.restart_frames:
                    self.finish_wanted = True
        finally:
            conn.close()

    def take_finish(self) -> bool:
        """Whether the writer should finish a checkpoint now (true once per request)."""
        if not self.finish_wanted:
            return False
        self.finish_wanted = False
        return True


def finish(conn: sqlite3.Connection) -> None:
    """On the writer's connection, between transactions: copy back what the background pass
    left, so that the next write transaction rewinds the log. Never raises: a busy or failed
    checkpoint leaves the log to grow until the next request."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error as exc:
        log.warning("finishing a WAL checkpoint failed: %s", exc)

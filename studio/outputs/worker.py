"""Runs an output's blocking work (encoding, muxing) on its own thread, in order.

The render loop hands over frames and returns at once, so GL rendering of frame N+1 overlaps
the encoding of frame N. A bounded queue keeps memory flat; an error in the worker is raised
on the caller's next call, never lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class OrderedWorker:
    """A single worker thread running submitted calls in submission order."""

    def __init__(self, name: str, max_pending: int = 6) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # drain without running after a failure
            fn, args = item
            try:
                fn(*args)
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self._raise_pending()
        self._queue.put((fn, args))

    def close(self) -> None:
        """Wait for everything submitted, then raise the first error if there was one."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._raise_pending()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

"""Reconnect delays shared by everything that retries a device or a connection (outputs,
inputs, OBS): one schedule, so a studio that lost its network and its camera at once retries
both the same way."""

from __future__ import annotations


class Backoff:
    """Reconnect delays: 0.5 s, 1, 2, 4 … up to ``max_s``, reset after a success."""

    def __init__(self, first_s: float = 0.5, max_s: float = 10.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next_s = first_s
        self.attempts = 0

    def next_delay_s(self) -> float:
        delay = self._next_s
        self._next_s = min(self.max_s, self._next_s * 2)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self._next_s = self.first_s
        self.attempts = 0

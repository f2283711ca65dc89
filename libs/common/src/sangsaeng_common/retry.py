"""Capped exponential backoff with jitter: how every transient fault is retried."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial_s: float = 0.2, max_s: float = 5.0, factor: float = 2.0):
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._current = initial_s

    def next(self) -> float:
        delay = self._current
        self._current = min(self.max_s, self._current * self.factor)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._current = self.initial_s

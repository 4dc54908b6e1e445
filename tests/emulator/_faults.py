"""Fault switches: fail or drop the next requests, delay responses. Thread-safe."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Rule:
    """Applies to the next `remaining` requests matching `method` and `path_contains` (if set)."""

    remaining: int
    status: int = 500
    retry_after: int | None = None
    method: str | None = None
    path_contains: str | None = None
    seconds: float = 0.0

    def applies(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_contains is None or self.path_contains in path


class Faults:
    """One rule per kind ("fail", "drop", "delay"); a new rule of a kind replaces the old one.

    A request takes at most one of "drop" and "fail" (drop first); a delay comes on top.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, Rule] = {}

    def set(self, kind: str, rule: Rule | None) -> None:
        with self._lock:
            if rule is None:
                self._rules.pop(kind, None)
            else:
                self._rules[kind] = rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _consume(self, kind: str, method: str, path: str) -> Rule | None:
        rule = self._rules.get(kind)
        if rule is None or not rule.applies(method, path):
            return None
        rule.remaining -= 1
        return rule

    def take(self, method: str, path: str) -> tuple[str, Rule] | None:
        """The fault ("drop" or "fail") this request gets, if any; counts it."""
        with self._lock:
            for kind in ("drop", "fail"):
                rule = self._consume(kind, method, path)
                if rule is not None:
                    return kind, rule
        return None

    def delay_for(self, method: str, path: str) -> float:
        """Seconds to wait before answering this request; counts it."""
        with self._lock:
            rule = self._consume("delay", method, path)
            return rule.seconds if rule is not None else 0.0

"""Shared helpers of the Redis and RabbitMQ end-to-end tests."""

from typing import Any


class Recorder:
    """A handler that remembers what it handled; raises while ``failures_left`` > 0."""

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[Any] = []
        self.failures_left = failures
        self.calls = 0

    def __call__(self, event: Any) -> None:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("subscriber is down")
        self.seen.append(event)

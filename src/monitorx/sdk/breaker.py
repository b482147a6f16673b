"""A circuit breaker: stop calling a server that keeps failing, then probe it.

    CLOSED ──(failure_threshold failures in a row)──► OPEN
    OPEN ──(recovery_time_s passed)──► HALF_OPEN: one trial call goes through
    HALF_OPEN ──(trial succeeds)──► CLOSED
    HALF_OPEN ──(trial fails)──► OPEN again, for another recovery_time_s

Thread-safe; time comes from an injectable monotonic clock so tests move it by hand.
"""

from __future__ import annotations

__all__ = ["CircuitBreaker", "CircuitState"]

import enum
import threading
import time
from collections.abc import Callable


class CircuitState(enum.Enum):
    """Where a :class:`CircuitBreaker` stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failed calls and fails fast once there were too many.

    ``allow()`` asks before a call; ``record_success()`` / ``record_failure()``
    report how it went. A failure is a call that could not be delivered (after its
    retries): a connection error, a timeout, 429 or 5xx. An answer such as 422
    proves the server is up and counts as a success here.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_time_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if recovery_time_s < 0:
            raise ValueError("recovery_time_s must be >= 0")
        self.failure_threshold = failure_threshold
        self.recovery_time_s = recovery_time_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started_at: float | None = None

    @property
    def state(self) -> CircuitState:
        """The current state; an OPEN breaker whose recovery time passed reads HALF_OPEN."""
        with self._lock:
            self._refresh()
            return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted since the last success."""
        return self._failures

    def _refresh(self) -> None:
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.recovery_time_s
        ):
            self._state = CircuitState.HALF_OPEN
            self._trial_started_at = None

    def allow(self) -> bool:
        """Whether a call may go out now. In HALF_OPEN only one trial call at a time may."""
        with self._lock:
            self._refresh()
            if self._state is CircuitState.CLOSED:
                return True
            if self._state is CircuitState.OPEN:
                return False
            now = self._clock()
            # A trial whose outcome never came back (its caller was interrupted) must
            # not hold the breaker half-open forever.
            if (
                self._trial_started_at is None
                or now - self._trial_started_at >= self.recovery_time_s
            ):
                self._trial_started_at = now
                return True
            return False

    def retry_in_s(self) -> float:
        """Seconds until a call may go out again (0 when it may now)."""
        with self._lock:
            self._refresh()
            if self._state is CircuitState.OPEN:
                return max(0.0, self.recovery_time_s - (self._clock() - self._opened_at))
            if self._state is CircuitState.HALF_OPEN and self._trial_started_at is not None:
                return max(0.0, self.recovery_time_s - (self._clock() - self._trial_started_at))
            return 0.0

    def record_success(self) -> None:
        """A call got through: close the breaker and forget past failures."""
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._trial_started_at = None

    def record_failure(self) -> None:
        """A call failed: open after ``failure_threshold`` in a row, or when a trial fails."""
        with self._lock:
            self._refresh()
            self._failures += 1
            if self._state is CircuitState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._trial_started_at = None

"""The one retry policy: exponential backoff with jitter, Retry-After honoured,
waits interrupted by the stop event.

Every adapter retries through `retrying(...)`; nothing else in the code base loops
on failures by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import tenacity

from connector.errors import RateLimited, StopRequested, TransientError

T = TypeVar("T")
log = structlog.get_logger("connector.retry")


class _WaitRetryAfter(tenacity.wait.wait_base):
    """Exponential backoff with full jitter, but never shorter than a Retry-After."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._jitter = tenacity.wait_random_exponential(multiplier=initial, max=maximum)
        self._maximum = maximum

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        delay = float(self._jitter(retry_state))
        outcome = retry_state.outcome
        if outcome is not None and outcome.failed:
            exc = outcome.exception()
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                delay = max(delay, min(float(exc.retry_after), 3600.0))
        return delay


def _stop_aware_sleep(stop: threading.Event | None) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        if stop is None:
            threading.Event().wait(seconds)
            return
        if stop.wait(seconds):
            raise StopRequested("stop requested while waiting to retry")

    return sleep


def retrying(
    *,
    attempts: int = 5,
    initial: float = 0.5,
    maximum: float = 30.0,
    deadline: float | None = None,
    stop: threading.Event | None = None,
    retry_on: tuple[type[BaseException], ...] = (TransientError,),
    what: str = "",
) -> tenacity.Retrying:
    """Build the policy. Use as `for attempt in retrying(...): with attempt: ...`
    or `retrying(...)(fn, *args)`."""

    stop_rule: Any = tenacity.stop_after_attempt(attempts)
    if deadline is not None:
        stop_rule = stop_rule | tenacity.stop_after_delay(deadline)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("retrying", what=what, attempt=state.attempt_number,
                    wait_s=round(state.upcoming_sleep, 2), error=str(exc))

    return tenacity.Retrying(
        stop=stop_rule,
        wait=_WaitRetryAfter(initial, maximum),
        retry=tenacity.retry_if_exception_type(retry_on),
        sleep=_stop_aware_sleep(stop),
        reraise=True,
        before_sleep=before_sleep,
    )


def call_with_retry(fn: Callable[..., T], *args: Any, **policy: Any) -> T:
    result: T = retrying(**policy)(fn, *args)
    return result

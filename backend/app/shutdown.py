"""Graceful shutdown: on SIGTERM turn readiness to 503 first, then let uvicorn drain.

uvicorn installs its own SIGTERM handler before the lifespan starts; we wrap it. Our handler
marks the app as shutting down (so /readyz answers 503 and load balancers stop sending traffic),
waits SHUTDOWN_DELAY_SECONDS while still serving, then calls uvicorn's handler, which stops
accepting connections and waits for in-flight requests (--timeout-graceful-shutdown) before
the lifespan closes the storage backends.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("app.shutdown")

Handler = Callable[[int, FrameType | None], Any] | int | None


def install_sigterm_hook(mark_draining: Callable[[], None], delay: float) -> Callable[[], None]:
    """Wrap the current SIGTERM handler; returns a function that restores it."""
    original: Handler = signal.getsignal(signal.SIGTERM)
    loop = asyncio.get_running_loop()

    def forward(signum: int, frame: FrameType | None) -> None:
        if callable(original):
            original(signum, frame)
        else:  # no server handler (e.g. plain python): behave like the default action
            raise SystemExit(128 + signum)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        logger.info("SIGTERM received: readiness now 503", extra={"drain_delay_seconds": delay})
        mark_draining()
        if delay > 0:
            loop.call_soon_threadsafe(loop.call_later, delay, forward, signum, frame)
        else:
            forward(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, original)

    return restore

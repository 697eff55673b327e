"""The serve loop: refresh every few seconds or on SIGHUP, stop on SIGINT/SIGTERM.

Signal handlers only set flags; the loop, on the main thread, does the work,
so a signal never interrupts a catalog update halfway.

Example::

    >>> signals = Signals.install()
    >>> serve_until_stopped(catalog.refresh, signals, poll_seconds=5, log=print)
    >>> signals.restore()
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

# How often the loop looks at the flags while it waits: the bound on how long
# a SIGTERM or SIGHUP waits before it is acted on.
TICK_SECONDS = 0.2


@dataclass
class Signals:
    """Flags set by signal handlers: ``stop`` (SIGINT/SIGTERM) and ``refresh`` (SIGHUP)."""

    stop: str | None = None
    refresh: bool = False
    _previous: dict[int, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def install(cls) -> "Signals":
        flags = cls()
        flags.claim()
        return flags

    def claim(self) -> None:
        """(Re)take the handlers: PySpark sets its own SIGINT handler when its context starts."""
        handlers = {signal.SIGINT: self._on_stop, signal.SIGTERM: self._on_stop}
        if hasattr(signal, "SIGHUP"):
            handlers[signal.SIGHUP] = self._on_refresh
        for number, handler in handlers.items():
            previous = signal.signal(number, handler)
            self._previous.setdefault(number, previous)

    def _on_stop(self, number: int, frame: Any) -> None:
        self.stop = signal.Signals(number).name

    def _on_refresh(self, number: int, frame: Any) -> None:
        self.refresh = True

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()


def wait(signals: Signals, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Sleep up to ``seconds``; return early when a stop or refresh was asked for."""
    deadline = clock() + seconds
    while not signals.stop and not signals.refresh and clock() < deadline:
        time.sleep(min(TICK_SECONDS, max(deadline - clock(), 0)))


def serve_until_stopped(
    refresh: Callable[[], Sequence[Any]],
    signals: Signals,
    poll_seconds: float,
    log: Callable[[str], None],
) -> str:
    """Call ``refresh`` every ``poll_seconds`` (or at once on SIGHUP) until a stop signal; returns its name."""
    while True:
        wait(signals, poll_seconds)
        if signals.stop:
            return signals.stop
        if signals.refresh:
            signals.refresh = False
            log("SIGHUP: refreshing now")
        for change in refresh():
            log(f"refreshed {change}")

"""Plain-Python events for the core's state (no Qt): a model announces, views subscribe.

As napari's ``EmitterGroup``: the model owns an :class:`Events` of named
:class:`Signal`s and emits on them; a widget connects its own method in its
constructor, so nobody outside the widget pushes updates into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Signal:
    """A list of callbacks called in connection order with the emitted arguments."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []
        #: while held: the queue (shared by a group's signals, to keep their order)
        self._held: list[tuple[Signal, tuple]] | None = None

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        if self._held is not None:
            self._held.append((self, args))
            return
        for callback in list(self._callbacks):
            callback(*args)


class Events:
    """Named signals of one model object: ``events.labels_changed.connect(...)``."""

    def __init__(self, *names: str):
        self._signals = {name: Signal(name) for name in names}

    def __getattr__(self, name: str) -> Signal:
        try:
            return self.__dict__["_signals"][name]
        except KeyError:
            raise AttributeError(f"no event named {name!r}") from None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Queue every emission until the block ends; deliver them only if it ends
        without an exception (a change that was rolled back is never announced)."""
        queue: list[tuple[Signal, tuple]] = []
        for s in self._signals.values():
            s._held = queue
        ok = False
        try:
            yield
            ok = True
        finally:
            for s in self._signals.values():
                s._held = None
        if ok:
            for signal, args in queue:
                signal.emit(*args)

"""Count the feed lines a handler writes (``bench/calls.py``'s measured child).

:meth:`FeedLineCounter.install` replaces ``sys.stdout`` before the handler is imported, so the loggers it creates
write to the counter (a Powertools logger's handler keeps the stream it found): everything is passed on unchanged,
and the complete lines that a log subscription of the function would deliver (JSON objects with one of its keys,
``local.logs.matches``) are counted, per phase as :meth:`take` is called. In Lambda, stdout is what the function's
log group receives.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from local.logs import matches


class FeedLineCounter:
    def __init__(self, out: TextIO, keys: Sequence[str]) -> None:
        self._out = out
        self._keys = tuple(keys)
        self._partial = ""
        self._count = 0

    @classmethod
    def install(cls, keys: Sequence[str]) -> FeedLineCounter:
        counter = cls(sys.stdout, keys)
        sys.stdout = counter  # type: ignore[assignment]
        return counter

    def write(self, text: str) -> int:
        *complete, self._partial = (self._partial + text).split("\n")
        if self._keys:
            self._count += sum(1 for line in complete if matches(line, self._keys))
        return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()

    def __getattr__(self, name: str) -> object:  # encoding, fileno, isatty...: the real stream's
        return getattr(self._out, name)

    def take(self) -> int:
        """Feed lines written since the last take."""
        count, self._count = self._count, 0
        return count

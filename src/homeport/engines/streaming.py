"""From token bytes to text deltas: UTF-8 reassembly, stop strings, and logprobs that travel with their text.

Any adapter that sees one token at a time can use this. A stop string may arrive split across tokens, so text that
could still be the start of one is held back until it is known not to be; the stop string itself, and whatever the
model produced after it, never leave.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass

from homeport.engines.base import TextDelta, TokenLogprob


class StopScanner:
    """Finds the first stop string in streamed text, holding back a tail that may be the start of one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """The text safe to emit now, and whether a stop string was found (then: all the text before it)."""
        buffer = self._held + text
        found = [index for stop in self._stops if (index := buffer.find(stop)) >= 0]
        if found:
            self._held = ""
            return buffer[: min(found)], True
        keep = max((self._prefix_overlap(buffer, stop) for stop in self._stops), default=0)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep], False

    def flush(self) -> str:
        """The held-back tail, once the text has ended without a stop string."""
        held, self._held = self._held, ""
        return held

    @staticmethod
    def _prefix_overlap(text: str, stop: str) -> int:
        """Length of the longest end of `text` that is a proper start of `stop`."""
        for size in range(min(len(text), len(stop) - 1), 0, -1):
            if text.endswith(stop[:size]):
                return size
        return 0


@dataclass
class _PendingLogprob:
    logprob: TokenLogprob
    start: int
    """Characters of decoded text before this token's own text."""


class DeltaAssembler:
    """Turns each token's bytes (and its logprob, when asked for) into `TextDelta`s.

    A token's logprob leaves with the first character of its text, so the logprobs of the emitted deltas belong to
    the emitted text; tokens wholly inside a stop string, or after it, are dropped with their text.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._scanner = StopScanner(stops)
        self._pending: list[_PendingLogprob] = []
        self._decoded = 0
        self._emitted = 0
        self.stopped = False

    def push(self, piece: bytes, logprob: TokenLogprob | None) -> TextDelta | None:
        """One token's bytes; the delta ready to emit, if any. After a stop string, `stopped` is True."""
        if logprob is not None:
            self._pending.append(_PendingLogprob(logprob, self._decoded))
        text = self._decoder.decode(piece)
        self._decoded += len(text)
        out, self.stopped = self._scanner.feed(text)
        return self._delta(out)

    def finish(self) -> TextDelta | None:
        """What is left once generation ended without a stop string: held-back text and undecoded bytes."""
        if self.stopped:
            return None
        tail = self._decoder.decode(b"", final=True)
        self._decoded += len(tail)
        out, self.stopped = self._scanner.feed(tail)
        if self.stopped:
            return self._delta(out)
        return self._delta(out + self._scanner.flush(), everything=True)

    def _delta(self, text: str, *, everything: bool = False) -> TextDelta | None:
        self._emitted += len(text)
        ready = [p for p in self._pending if everything or p.start < self._emitted]
        self._pending = [] if everything or self.stopped else self._pending[len(ready) :]
        if not text and not ready:
            return None
        return TextDelta(text, [p.logprob for p in ready])

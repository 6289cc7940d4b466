"""Reads an answer in the tool-call format (`tool_format`) as it streams: text, then calls, piece by piece.

The grammar guarantees the format, so reading needs no guessing: the first character tells bare calls (`{`) from
text, a call's JSON line names the tool before its arguments start, a custom call's input ends at the closing tag,
and a fenced code call's code at the closing fence. What the reader cannot place yet (a tail that may be the start
of a tag, the brace that closes a call's JSON line) it holds back until the next piece decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from enum import Enum, auto

from homeport.engines.base import TextDelta, TokenLogprob, ToolCall, ToolCallDelta, ToolCallStarted
from homeport.engines.tool_format import CLOSE, FENCE_CLOSE, FENCE_OPEN, OPEN, CodeFence

_NAME_KEY = '{"name": '
_ARGUMENTS_KEY = ', "arguments": '
_CUSTOM_END = "}\n"

Piece = TextDelta | ToolCallStarted | ToolCallDelta


class _State(Enum):
    START = auto()
    TEXT = auto()
    ONLY_TEXT = auto()
    HEAD = auto()
    ARGUMENTS = auto()
    INPUT = auto()
    CLOSING = auto()
    BETWEEN = auto()
    CODE = auto()
    END = auto()


class ToolCallReader:
    """Feed it the answer's text in order (`push`), then `finish`; each returns the pieces it could place.

    Logprobs of text tokens ride on the text pieces; those of tokens that turn out to be calls are dropped.
    `json_text`: the answer is JSON text or calls (`ToolCalls.text`), so a leading brace starts text, not bare calls.
    `fences`: tool name -> the code block that calls it (`ToolCalls.fences`).
    """

    def __init__(self, *, json_text: bool = False, fences: Mapping[str, CodeFence] | None = None) -> None:
        self._json_text = json_text
        self._fences = {fence.opening: (name, fence) for name, fence in (fences or {}).items()}
        self._tags = (OPEN, *self._fences)
        self._state = _State.START
        self._buffer = ""
        self._logprobs: list[TokenLogprob] = []
        self._bare = False
        self._calls = 0

    def push(self, text: str, logprobs: list[TokenLogprob] | None = None) -> list[Piece]:
        self._buffer += text
        self._logprobs += logprobs or []
        return list(self._read(final=False))

    def finish(self) -> list[Piece]:
        return list(self._read(final=True))

    def _read(self, *, final: bool) -> Iterator[Piece]:
        while True:
            before = (self._state, len(self._buffer))
            yield from self._step(final)
            if (self._state, len(self._buffer)) == before:
                return

    def _step(self, final: bool) -> Iterator[Piece]:
        match self._state:
            case _State.START if self._buffer:
                self._start(final)
            case _State.TEXT:
                yield from self._text(final)
            case _State.ONLY_TEXT if self._buffer:
                yield self._text_piece(self._buffer)
                self._buffer = ""
            case _State.HEAD:
                yield from self._head()
            case _State.ARGUMENTS:
                yield from self._arguments(final)
            case _State.INPUT:
                yield from self._input(final)
            case _State.CLOSING if len(self._buffer) >= len(CLOSE):
                self._buffer = self._buffer.removeprefix(CLOSE)
                self._state = _State.BETWEEN
            case _State.BETWEEN if len(self._buffer) > len(OPEN):
                self._buffer = self._buffer.removeprefix("\n" + OPEN)
                self._state = _State.HEAD
            case _State.CODE:
                yield from self._code(final)

    def _start(self, final: bool) -> None:
        """A brace starts bare calls (or JSON text), a JSON fence and a brace fenced bare calls; else text."""
        fenced = FENCE_OPEN + "{"
        if fenced.startswith(self._buffer) and not final and not self._json_text:
            return  # may be a fence: wait for the brace
        if self._json_text:
            self._state = _State.ONLY_TEXT if self._buffer.startswith("{") else _State.TEXT
        elif self._buffer.startswith(("{", fenced)):
            self._bare, self._state = True, _State.HEAD
            self._buffer = self._buffer.removeprefix(FENCE_OPEN)
        else:
            self._state = _State.TEXT

    def _text(self, final: bool) -> Iterator[Piece]:
        found = [(at, tag) for tag in self._tags if (at := self._buffer.find(tag)) >= 0]
        if found:
            at, tag = min(found)
            text, self._buffer = self._buffer[:at].rstrip(), self._buffer[at + len(tag) :]
            if text:
                yield self._text_piece(text)
            self._logprobs = []
            if tag == OPEN:
                self._state = _State.HEAD
                return
            name, fence = self._fences[tag]
            self._state, self._calls = _State.CODE, self._calls + 1
            yield ToolCallStarted(self._calls - 1, name, custom=False)
            yield ToolCallDelta(self._calls - 1, fence.arguments_head())
            return
        keep = 0 if final else _held_text(self._buffer, self._tags)
        text, self._buffer = self._buffer[: len(self._buffer) - keep], self._buffer[len(self._buffer) - keep :]
        if text:
            yield self._text_piece(text)

    def _text_piece(self, text: str) -> TextDelta:
        piece = TextDelta(text, self._logprobs)
        self._logprobs = []
        return piece

    def _head(self) -> Iterator[Piece]:
        """`{"name": "<tool>"` then `, "arguments": ` (a function) or `}` and a newline (a custom tool)."""
        if self._bare and self._buffer == FENCE_CLOSE.lstrip("\n"):
            self._buffer = ""  # the end of fenced calls
            return
        line = self._buffer.removeprefix("\n")
        if not line.startswith(_NAME_KEY):
            return
        try:
            name, end = json.JSONDecoder().raw_decode(line, len(_NAME_KEY))
        except json.JSONDecodeError:
            return  # the name has not arrived whole yet
        rest = line[end:]
        for marker, state in ((_ARGUMENTS_KEY, _State.ARGUMENTS), (_CUSTOM_END, _State.INPUT)):
            if rest.startswith(marker):
                self._buffer, self._state = rest[len(marker) :], state
                self._calls += 1
                yield ToolCallStarted(self._calls - 1, name, custom=state is _State.INPUT)

    def _arguments(self, final: bool) -> Iterator[Piece]:
        """The arguments run to the end of the JSON line, less the brace that closes the call's object."""
        end = self._buffer.find("\n")
        if end >= 0:
            arguments, self._buffer = self._buffer[: end - 1], self._buffer[end + 1 :]
            # Bare calls are separated by the newline just read; tagged ones close with the tag first.
            self._state = _State.HEAD if self._bare else _State.CLOSING
        elif final:
            arguments, self._buffer = self._buffer.removesuffix("}"), ""
        else:
            arguments, self._buffer = self._buffer[:-1], self._buffer[-1:]
        if arguments:
            yield ToolCallDelta(self._calls - 1, arguments)

    def _input(self, final: bool) -> Iterator[Piece]:
        end = self._buffer.find(CLOSE)
        if end >= 0:
            raw, self._buffer = self._buffer[:end], self._buffer[end + len(CLOSE) :]
            self._state = _State.BETWEEN
        else:
            keep = 0 if final else _held(self._buffer, CLOSE)
            raw, self._buffer = self._buffer[: len(self._buffer) - keep], self._buffer[len(self._buffer) - keep :]
        if raw:
            yield ToolCallDelta(self._calls - 1, raw)

    def _code(self, final: bool) -> Iterator[Piece]:
        """A fenced call's code, as the contents of its argument's JSON string, up to the closing fence."""
        end = self._buffer.find(FENCE_CLOSE)
        if end >= 0 or final:
            code, self._buffer, self._state = self._buffer[: end if end >= 0 else None], "", _State.END
        else:
            keep = _held(self._buffer, FENCE_CLOSE)
            code, self._buffer = self._buffer[: len(self._buffer) - keep], self._buffer[len(self._buffer) - keep :]
        escaped = json.dumps(code, ensure_ascii=False)[1:-1] + ('"}' if self._state is _State.END else "")
        if escaped:
            yield ToolCallDelta(self._calls - 1, escaped)


def _held(text: str, tag: str) -> int:
    """The length of the longest tail of `text` that could be the start of `tag`."""
    return next((size for size in range(min(len(tag) - 1, len(text)), 0, -1) if tag.startswith(text[-size:])), 0)


def _held_text(text: str, tags: tuple[str, ...]) -> int:
    """Text's tail that waits for more: a possible start of a tag that starts a call and the whitespace before it,
    which is dropped if a call follows."""
    before = text[: len(text) - max(_held(text, tag) for tag in tags)]
    return len(text) - len(before.rstrip())


def parse_tool_calls(answer: str, fences: Mapping[str, CodeFence] | None = None) -> tuple[str, list[ToolCall]]:
    """The text and the calls of a whole answer that matched a tool-call grammar."""
    reader = ToolCallReader(fences=fences)
    text = ""
    calls: list[tuple[ToolCallStarted, list[str]]] = []
    for piece in reader.push(answer) + reader.finish():
        if isinstance(piece, TextDelta):
            text += piece.text
        elif isinstance(piece, ToolCallStarted):
            calls.append((piece, []))
        else:
            calls[piece.index][1].append(piece.text)
    return text, [_call(started, "".join(parts)) for started, parts in calls]


def _call(started: ToolCallStarted, whole: str) -> ToolCall:
    return ToolCall(started.name, input=whole) if started.custom else ToolCall(started.name, arguments=whole)

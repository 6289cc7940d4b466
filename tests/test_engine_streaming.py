"""From token bytes to deltas: stop strings split across tokens, UTF-8 split across tokens, logprobs kept with text."""

from __future__ import annotations

import pytest

from homeport.engines.base import TokenLogprob
from homeport.engines.streaming import DeltaAssembler


def _run(pieces: list[bytes], stops: list[str]) -> tuple[list[str], list[str], bool]:
    """Feeds each piece with a logprob naming it; returns the deltas' texts, their logprobs' tokens, and `stopped`."""
    assembler = DeltaAssembler(stops)
    texts: list[str] = []
    tokens: list[str] = []
    for piece in pieces:
        delta = assembler.push(piece, TokenLogprob(piece.hex(), list(piece), -0.5, []))
        if delta:
            texts.append(delta.text)
            tokens += [logprob.token for logprob in delta.logprobs]
        if assembler.stopped:
            break
    if tail := assembler.finish():
        texts.append(tail.text)
        tokens += [logprob.token for logprob in tail.logprobs]
    return texts, tokens, assembler.stopped


WORDS = [b"Hel", b"lo", b" wo", b"rld", b"!"]


@pytest.mark.parametrize(
    ("stops", "texts", "stopped"),
    [
        ([], ["Hel", "lo", " wo", "rld", "!"], False),
        (["o w"], ["Hel", "l"], True),
        (["rld!", "never"], ["Hel", "lo", " wo"], True),
        (["ld!!"], ["He", "llo", " wo", "r", "ld!"], False),
        (["Hello"], [], True),
    ],
)
def test_stop_strings(stops: list[str], texts: list[str], stopped: bool) -> None:
    got, _tokens, did_stop = _run(WORDS, stops)
    assert (got, did_stop) == (texts, stopped)


def test_logprobs_leave_with_their_text_and_stay_with_a_stop() -> None:
    _texts, tokens, _stopped = _run(WORDS, ["o w"])
    assert tokens == [b"Hel".hex(), b"lo".hex()], "' wo' is wholly inside the stop string; 'lo' is partly emitted"
    _texts, tokens, _stopped = _run(WORDS, [])
    assert tokens == [piece.hex() for piece in WORDS]


def test_a_character_split_across_tokens_is_emitted_whole() -> None:
    euro = "€".encode()
    texts, tokens, _stopped = _run([b"1", euro[:2], euro[2:], b"2"], ["2"])
    assert texts == ["1", "€"] and len(tokens) == 3

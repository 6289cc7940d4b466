"""Where an answer draws on a source: the sentence that shares the most content words with it.

Citations are placed by this evidence rather than by asking a small model to write markers, which it does badly.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]{3,}")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_MIN_SHARED_WORDS = 2
"""Fewer shared words is chance, not evidence."""


def content_words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def best_sentence(answer: str, source: str | set[str]) -> tuple[int, int] | None:
    """The span of the answer's sentence sharing the most content words with `source` (its text or its words; the
    last such sentence on a tie), trailing space left out; None when no sentence shares enough."""
    words = content_words(source) if isinstance(source, str) else source
    best: tuple[int, int, int] | None = None
    for match in _SENTENCE.finditer(answer):
        shared = len(content_words(match.group()) & words)
        if shared >= _MIN_SHARED_WORDS and (best is None or shared >= best[0]):
            best = (shared, match.start() + len(match.group()) - len(match.group().lstrip()), match.end())
    if best is None:
        return None
    end = best[2]
    while end > best[1] and answer[end - 1].isspace():
        end -= 1
    return best[1], end

"""`python bench/constraints.py`: what constrained decoding costs: tokens/s under a strict schema against
unconstrained decoding (same prompt, same loaded model; goal >= 0.9x), and grammar compile time, first use (goal
< 50 ms for the documentation's example schemas) and cached.

Decoding runs llama-cpp-python's `generate` directly, the way the embedded engine does, with and without the
grammar's logits processor, greedy, alternating the two modes so both see the same drift in machine load. A rate
is (tokens - 1) / (time from the first token to the last): the prompt's evaluation is left out. Every number is a
median; on a shared 2-core machine single runs swing widely.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from homeport.engines import DEFAULT_MODEL, SMALL_MODEL, resolve_model
from homeport.engines.constraints import FunctionTool, GrammarLogitsProcessor, Grammars, JsonSchema, ToolCalls

_STRINGS = {"type": "array", "items": {"type": "string"}}


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


_STEP = _object(explanation={"type": "string"}, output={"type": "string"})
_ATTRIBUTE = _object(name={"type": "string"}, value={"type": "string"})
_UI_KINDS = ["div", "button", "header", "section", "field", "form"]
_UI = _object(
    type={"type": "string", "enum": _UI_KINDS},
    label={"type": "string"},
    children={"type": "array", "items": {"$ref": "#"}},
    attributes={"type": "array", "items": _ATTRIBUTE},
)
_NULLABLE_STRING = {"type": ["string", "null"]}

EXAMPLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "calendar_event": _object(name={"type": "string"}, date={"type": "string"}, participants=_STRINGS),
    "math_reasoning": _object(steps={"type": "array", "items": _STEP}, final_answer={"type": "string"}),
    "research_paper_extraction": _object(title={"type": "string"}, authors=_STRINGS, abstract={"type": "string"},
                                         keywords=_STRINGS),
    "ui": _UI,
    "content_compliance": _object(is_violating={"type": "boolean"},
                                  category={**_NULLABLE_STRING, "enum": ["violence", "sexual", "self_harm"]},
                                  explanation_if_violating=_NULLABLE_STRING),
}  # fmt: skip
"""The Structured Outputs guide's examples (reference docs 004: CalendarEvent and lines 1464-1926)."""

# Timed under the math example with at least three steps: unforced, Qwen answers `{"steps":[],...}` in 12 tokens.
THROUGHPUT_SCHEMA = _object(steps={"type": "array", "items": _STEP, "minItems": 3}, final_answer={"type": "string"})

TOOL_EXAMPLE = "tool_call:get_weather"
WEATHER = FunctionTool("get_weather", _object(location={"type": "string"}, unit={"enum": ["celsius", "fahrenheit"]}))

SYSTEM = "You are a helpful math tutor. Guide the user through the solution step by step. Answer in JSON."
QUESTION = "how can I solve 8x + 7 = -23"


@dataclass(frozen=True)
class Run:
    tokens: int
    rate: float
    """Tokens per second after the first token."""
    in_processor_s: list[float]
    """Time spent in the logits processor, per call (advance included): the constraint's own cost per token."""


class _Timed:
    """The grammar's logits processor, timed call by call."""

    def __init__(self, processor: GrammarLogitsProcessor) -> None:
        self.processor = processor
        self.seconds: list[float] = []

    def __call__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]) -> npt.NDArray[np.single]:
        start = time.perf_counter()
        scores = self.processor(input_ids, scores)
        self.seconds.append(time.perf_counter() - start)
        return scores


def chat_prompt(llm: llama_cpp.Llama) -> list[int]:
    text = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    return llm.tokenize(text.encode(), add_bos=False, special=True)


def decode(llm: llama_cpp.Llama, prompt: list[int], budget: int, grammars: Grammars | None) -> Run:
    timed = _Timed(grammars.processor(JsonSchema(THROUGHPUT_SCHEMA))) if grammars else None
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    stamps: list[float] = []
    tokens = llm.generate(
        prompt, temp=0.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.0,
        logits_processor=llama_cpp.LogitsProcessorList([timed]) if timed else None,
    )  # fmt: skip
    for token in tokens:
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        stamps.append(time.perf_counter())
        if timed is not None:
            start = time.perf_counter()
            timed.processor.advance(token)
            timed.seconds[-1] += time.perf_counter() - start
            if timed.processor.finished:
                break
        if len(stamps) >= budget:
            break
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return Run(len(stamps), rate, timed.seconds if timed else [])


def throughput(llm: llama_cpp.Llama, grammars: Grammars, runs: int, budget: int) -> tuple[list[Run], list[Run]]:
    prompt = chat_prompt(llm)
    plain: list[Run] = []
    strict: list[Run] = []
    for i in range(runs + 1):  # the first pair warms the caches and is dropped
        order = [(plain, None), (strict, grammars)] if i % 2 else [(strict, grammars), (plain, None)]
        for sink, with_grammar in order:
            run = decode(llm, prompt, budget, with_grammar)
            if i:
                sink.append(run)
    return plain, strict


def timed(action: Callable[[int], object], repeats: int) -> float:
    """Median milliseconds of `action(i)` for i in 0..repeats-1."""
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def example(name: str, variant: int) -> JsonSchema | ToolCalls:
    """An example constraint, made new by `variant`: a `$comment` changes its source, not what it accepts."""
    comment = {"$comment": f"variant {variant}"}
    if name == TOOL_EXAMPLE:
        return ToolCalls([WEATHER, FunctionTool("noop", {**_object(), **comment})])
    return JsonSchema({**EXAMPLE_SCHEMAS[name], **comment})


def use(grammars: Grammars, name: str, variant: int) -> None:
    """What a request does: compile (or find in the cache) and start a processor."""
    grammars.processor(example(name, variant))


def use_cached(grammars: Grammars, name: str, _: int) -> None:
    use(grammars, name, -1)  # compiled by the first call, found in the cache by the others


def compile_times(grammars: Grammars, repeats: int) -> dict[str, tuple[float, float]]:
    """Per example: (first-use ms, cached ms), each a fresh processor included."""
    results: dict[str, tuple[float, float]] = {}
    for name in [*EXAMPLE_SCHEMAS, TOOL_EXAMPLE]:
        first = timed(functools.partial(use, grammars, name), repeats)  # a new variant each time
        cached = timed(functools.partial(use_cached, grammars, name), repeats)
        results[name] = (first, cached)
    return results


def bench_model(model: str, data_dir: Path, threads: int, runs: int, budget: int, repeats: int) -> None:
    path = resolve_model(model, data_dir).path
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    start = time.perf_counter()
    grammars = Grammars(llm)
    print(f"\n{model}: tokenizer for llguidance built in {(time.perf_counter() - start) * 1000:.0f} ms")
    for name, (first, cached) in compile_times(grammars, repeats).items():
        print(f"  compile {name:<26} first use {first:7.2f} ms   cached {cached:6.3f} ms")
    plain, strict = throughput(llm, grammars, runs, budget)
    plain_rate = statistics.median(r.rate for r in plain)
    strict_rate = statistics.median(r.rate for r in strict)
    pairs = statistics.median(s.rate / p.rate for p, s in zip(plain, strict, strict=True))
    per_token = (1 / strict_rate - 1 / plain_rate) * 1000
    in_processor = statistics.median(s for r in strict for s in r.in_processor_s) * 1000
    print(
        f"  tokens/s p50: unconstrained {plain_rate:.1f} ({statistics.median(r.tokens for r in plain)} tokens), "
        f"strict schema {strict_rate:.1f} ({statistics.median(r.tokens for r in strict)} tokens), "
        f"ratio {strict_rate / plain_rate:.3f}x (paired p50 {pairs:.3f}x), {per_token:+.2f} ms/token; "
        f"in the processor p50 {in_processor:.2f} ms/token"
    )
    llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", action="append", help=f"repeatable; default: {SMALL_MODEL} and {DEFAULT_MODEL}")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "homeport-tests")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1: steadier on 2 shared cores)")
    parser.add_argument("--runs", type=int, default=7, help="measured pairs of generations per model")
    parser.add_argument("--tokens", type=int, default=64, help="output budget of each generation")
    parser.add_argument("--repeats", type=int, default=15, help="timings per compile measurement")
    args = parser.parse_args()
    for model in args.model or [SMALL_MODEL, DEFAULT_MODEL]:
        bench_model(model, args.data_dir, args.threads, args.runs, args.tokens, args.repeats)


if __name__ == "__main__":
    main()

"""`python bench/run.py`: Homeport's overhead over its engine, reads while the engine is busy, history assembly.

Each number is set against a baseline taken in the same process on the same loaded model, so the machine's speed
mostly cancels out of the ratios. bench/README.md says how to read the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

import history
import overhead
import retrieve
from harness import running_server
from homeport.engines import SMALL_MODEL


@dataclass(frozen=True)
class Comparison:
    """Medians of one metric on both paths, plus the median of the per-pair differences (robust to load drift)."""

    direct_ms: float
    http_ms: float
    paired_ms: float

    def line(self, label: str) -> str:
        ratio = self.http_ms / self.direct_ms
        added = self.http_ms - self.direct_ms
        return (
            f"{label} p50: direct {self.direct_ms:.1f} ms, http {self.http_ms:.1f} ms, ratio {ratio:.3f}x, "
            f"added {added:.1f} ms (paired p50 {self.paired_ms:+.1f} ms)"
        )


def compare(direct_s: list[float], http_s: list[float]) -> Comparison:
    return Comparison(
        direct_ms=statistics.median(direct_s) * 1000,
        http_ms=statistics.median(http_s) * 1000,
        paired_ms=statistics.median(h - d for d, h in zip(direct_s, http_s, strict=True)) * 1000,
    )


@dataclass(frozen=True)
class Results:
    model: str
    plain: overhead.Pairs
    streamed: overhead.Pairs
    chat_plain: overhead.Pairs
    chat_streamed: overhead.Pairs
    idle: retrieve.Throughput
    busy: retrieve.Busy


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    began = time.perf_counter()
    # History assembly first, in a fresh process state: after the server runs, its leftover heap makes the
    # garbage collector's pauses part of the number.
    with tempfile.TemporaryDirectory(prefix="homeport-bench-history-") as history_dir:
        assembly = asyncio.run(history.measure(Path(history_dir)))
    results = measure(args)
    for line in [*report(results, args), *history.report(assembly)]:
        print(line)
    print(f"(took {time.perf_counter() - began:.0f} s)")


def measure(args: argparse.Namespace) -> Results:
    """Everything against one in-process server: overhead first (engine idle between runs), then retrieves."""
    with (
        tempfile.TemporaryDirectory(prefix="homeport-bench-") as data_dir,
        running_server(args.model, Path(data_dir), args.threads or None) as harness,
        httpx.Client(base_url=harness.base_url, timeout=600) as client,
    ):
        model = harness.engine.model_id
        _progress(f"{model} loaded; {args.warmup} warm-up + {args.runs} pairs per mode, {args.tokens} tokens each")
        runs = {"runs": args.runs, "warmup": args.warmup, "tokens": args.tokens}
        plain = overhead.measure(harness, client, overhead.RESPONSES, stream=False, **runs)
        _progress("non-streaming pairs done")
        streamed = overhead.measure(harness, client, overhead.RESPONSES, stream=True, **runs)
        _progress("streaming pairs done")
        chat_plain = overhead.measure(harness, client, overhead.CHAT, stream=False, **runs)
        chat_streamed = overhead.measure(harness, client, overhead.CHAT, stream=True, **runs)
        _progress("chat completions pairs done")
        response_id = retrieve.stored_response(client, model)
        quiet = retrieve.idle(client, response_id, args.seconds)
        _progress("idle retrieves done")
        loaded = retrieve.busy(
            harness.base_url, client, response_id, seconds=args.seconds, tokens=args.busy_tokens, model=model
        )
    return Results(model, plain, streamed, chat_plain, chat_streamed, quiet, loaded)


def report(results: Results, args: argparse.Namespace) -> list[str]:
    return [
        f"\nHomeport benchmark: {results.model}, llama threads {args.threads or 'all'} of {os.cpu_count()} cores, "
        f"{args.runs} runs after {args.warmup} warm-up, {args.tokens} output tokens per run",
        *_overhead_lines("", results.plain, results.streamed),
        *_overhead_lines("chat ", results.chat_plain, results.chat_streamed),
        *_retrieve_lines(results.idle, results.busy),
    ]


def _overhead_lines(prefix: str, plain: overhead.Pairs, streamed: overhead.Pairs) -> list[str]:
    """The three overhead lines of one API; `prefix` names it (the Responses lines carry none)."""
    return [
        compare(_totals(plain.direct), _totals(plain.http)).line(f"{prefix}non-stream"),
        compare(_firsts(streamed.direct), _firsts(streamed.http)).line(f"{prefix}stream TTFT"),
        compare(_totals(streamed.direct), _totals(streamed.http)).line(f"{prefix}stream total"),
    ]


def _totals(samples: list[overhead.Sample]) -> list[float]:
    return [s.total_s for s in samples]


def _firsts(samples: list[overhead.Sample]) -> list[float]:
    return [s.first_token_s for s in samples if s.first_token_s is not None]


def _retrieve_lines(quiet: retrieve.Throughput, loaded: retrieve.Busy) -> list[str]:
    busy = loaded.throughput
    note = "" if loaded.generation_outlived_window else " (generation ended first; window cut short)"
    return [
        f"retrieve idle: {quiet.per_second:.1f} req/s, p50 {quiet.p50_ms:.2f} ms "
        f"({len(quiet.latencies_s)} GETs in {quiet.seconds:.1f} s)",
        f"retrieve busy: {busy.per_second:.1f} req/s, p50 {busy.p50_ms:.2f} ms "
        f"({len(busy.latencies_s)} GETs in {busy.seconds:.1f} s during a {loaded.generated_tokens}-token stream{note})",
        f"retrieve busy/idle: throughput {busy.per_second / quiet.per_second:.3f}x, "
        f"p50 latency {busy.p50_ms / quiet.p50_ms:.2f}x",
    ]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Homeport overhead and retrieve-throughput benchmark.")
    parser.add_argument("--model", default=SMALL_MODEL, help=f"packaged model name or .gguf path ({SMALL_MODEL})")
    parser.add_argument("--runs", type=int, default=20, help="measured pairs per mode, after the warm-up (20)")
    parser.add_argument("--warmup", type=int, default=2, help="pairs run first and dropped (2)")
    parser.add_argument("--tokens", type=int, default=32, help="output tokens per overhead run (32)")
    parser.add_argument("--busy-tokens", type=int, default=256, help="output tokens of the busy-time generation (256)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each retrieve window, in seconds (3)")
    parser.add_argument(
        "--threads", type=int, default=1, help="llama.cpp threads (1); 0 = the server default, all cores"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.tokens < 1 or args.busy_tokens < 1 or args.seconds <= 0 or args.threads < 0:
        parser.error("--runs, --tokens, --busy-tokens and --seconds must be positive, --threads not negative")
    return args


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

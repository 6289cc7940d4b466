"""`python bench/sandbox.py`: what confinement costs the code_interpreter sandbox, against the same kernel unconfined.

The baseline is `kernel.py` itself, started as a plain subprocess of the same Python with the same flags and the
same pipes, minus bubblewrap, the privilege drop and the limits. So each ratio is the price of the confinement (and
of `Sandbox`'s bookkeeping), not of Python's own startup. Runs alternate between the two sides so both see the same
machine load.

- `create`: from spawn to the kernel's ready line (the sandbox's `Sandbox.start`, the probe already cached), `--creates`
  times;
- `execute`: one `1+1` round trip on a warm process, `--executes` times;
- `restart`: an `execute` that times out after 0.1 s until the fresh process is ready, minus the 0.1 s (no baseline);
- `first plot`: `import matplotlib.pyplot`, one line plot, its PNG, in a fresh sandbox (no baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from homeport.sandbox import kernel
from homeport.sandbox.bubblewrap import drop_to
from homeport.sandbox.runtime import Limits, Sandbox, probe

KERNEL = Path(kernel.__file__)
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"


class Plain:
    """The kernel as a plain subprocess: the baseline."""

    def __init__(self, process: asyncio.subprocess.Process, replies: asyncio.StreamReader) -> None:
        self.process = process
        self.replies = replies

    @classmethod
    async def start(cls, directory: Path) -> Plain:
        reply_r, reply_w = os.pipe()
        config = {"uid": None, "gid": None, "limits": {}, "reply_fd": reply_w, "cwd": str(directory)}
        with open(os.devnull, "wb") as devnull:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-B", str(KERNEL), json.dumps(config),
                stdin=asyncio.subprocess.PIPE, stdout=devnull, stderr=devnull, pass_fds=[reply_w],
            )  # fmt: skip
        os.close(reply_w)
        replies = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(replies), os.fdopen(reply_r, "rb", 0))
        assert await replies.readline() == b'{"ready": true}\n'
        return cls(process, replies)

    async def execute(self, code: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"code": code}).encode() + b"\n")
        await self.process.stdin.drain()
        assert (await self.replies.readline()).startswith(b'{"error": null')

    async def close(self) -> None:
        self.process.kill()
        await self.process.wait()


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    began = time.perf_counter()
    await action()
    return time.perf_counter() - began


async def creates(directory: Path, runs: int) -> tuple[list[float], list[float]]:
    sandboxed: list[float] = []
    plain: list[float] = []
    for run in range(runs):
        for side in (0, 1) if run % 2 == 0 else (1, 0):
            began = time.perf_counter()
            if side == 0:
                box = await Sandbox.start(directory, Limits())
                sandboxed.append(time.perf_counter() - began)
                await box.close()
            else:
                baseline = await Plain.start(directory)
                plain.append(time.perf_counter() - began)
                await baseline.close()
    return sandboxed, plain


async def executes(directory: Path, runs: int) -> tuple[list[float], list[float]]:
    box = await Sandbox.start(directory, Limits())
    baseline = await Plain.start(directory)
    sandboxed: list[float] = []
    plain: list[float] = []
    try:
        for _ in range(5):  # warm-up
            await box.execute("1+1")
            await baseline.execute("1+1")
        for run in range(runs):
            first, second = (box, baseline) if run % 2 == 0 else (baseline, box)
            for side in (first, second):
                elapsed = await timed(lambda side=side: side.execute("1+1"))  # type: ignore[misc]
                (sandboxed if side is box else plain).append(elapsed)
    finally:
        await box.close()
        await baseline.close()
    return sandboxed, plain


async def restarts(directory: Path, runs: int) -> list[float]:
    box = await Sandbox.start(directory, Limits())
    samples = []
    try:
        for _ in range(runs):
            elapsed = await timed(lambda: box.execute("while True: pass", timeout=0.1))
            samples.append(elapsed - 0.1)
    finally:
        await box.close()
    return samples


def line(label: str, sandboxed: list[float], plain: list[float] | None = None) -> str:
    p50, p95 = _ms(sandboxed, 50), _ms(sandboxed, 95)
    text = f"{label}: sandbox p50 {p50:.2f} ms, p95 {p95:.2f} ms"
    if plain:
        base50, base95 = _ms(plain, 50), _ms(plain, 95)
        text += (
            f"; plain p50 {base50:.2f} ms, p95 {base95:.2f} ms; ratio p50 {p50 / base50:.2f}x, p95 {p95 / base95:.2f}x"
        )
    return text + f" ({len(sandboxed)} runs)"


def _ms(samples: list[float], percent: int) -> float:
    if len(samples) == 1:
        return samples[0] * 1000
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1] * 1000


async def measure(args: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="homeport-bench-sandbox-") as tmp:
        directory = Path(tmp)
        lines = [line("create", *await creates(directory, args.creates))]
        lines.append(line("execute 1+1", *await executes(directory, args.executes)))
        lines.append(line("restart after timeout", await restarts(directory, args.restarts)))
        lines.append(line("first plot, fresh sandbox", await first_plot_times(directory, args.plots)))
    return lines


async def first_plot_times(directory: Path, runs: int) -> list[float]:
    """Import matplotlib, plot, render the PNG: once per fresh sandbox, so the font cache is built each time."""
    samples = []
    for _ in range(runs):
        box = await Sandbox.start(directory, Limits())
        try:
            began = time.perf_counter()
            execution = await box.execute(PLOT)
            samples.append(time.perf_counter() - began)
            assert execution.error is None and len(execution.images) == 1, execution.logs
        finally:
            await box.close()
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sandbox create/execute latency against the unconfined kernel.")
    parser.add_argument("--creates", type=int, default=20, help="sandboxes created, per side (20)")
    parser.add_argument("--executes", type=int, default=200, help="`1+1` round trips, per side (200)")
    parser.add_argument("--restarts", type=int, default=5, help="timeouts with restart (5)")
    parser.add_argument("--plots", type=int, default=3, help="first plots in fresh sandboxes (3)")
    args = parser.parse_args(argv)
    reason = probe()
    if reason is not None:
        raise SystemExit(f"sandboxes are unavailable here: {reason}")
    began = time.perf_counter()
    user = "uid 65534 (we are root)" if drop_to() is not None else f"our uid {os.getuid()}"
    print(f"\nHomeport sandbox benchmark: {os.cpu_count()} cores, user code as {user}")
    for text in asyncio.run(measure(args)):
        print(text)
    print(f"(took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

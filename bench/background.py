"""`python bench/background.py`: what a background response's event log costs a reader.

A `homeport serve` on the small packaged model runs in a subprocess with a temporary data directory. One long
generation (`--tokens`, greedy) runs in the background and ends; then, alternating, so both see the same machine:

- *replay*: `GET /v1/responses/{id}?stream=true` reads every event back from the log, against *live*: the same
  request streamed in the foreground as the model writes it. It prints events per second of each and their ratio.
- *resume*: `GET …?stream=true&starting_after=N` (N at the start, middle and end), the time to its first event,
  against *retrieve*: `GET /v1/responses/{id}` (the stored JSON). It prints p50 of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from sse import events

MODEL = "smollm2-135m-instruct"
PROMPT = "Write a very long novel about otters in space."


def start(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "homeport.cli", "serve", "--model", MODEL, "--port", str(port), "--data-dir",
         str(data_dir)],
        env={**os.environ, "HOMEPORT_CONTEXT_SIZE": "4096"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            httpx.get(f"{base}/models", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("homeport serve did not start")


def count_events(client: httpx.Client, method: str, url: str, **options: object) -> tuple[int, float]:
    started = time.perf_counter()
    with client.stream(method, url, **options) as response:  # type: ignore[arg-type]
        count = sum(1 for _ in events(response))
    return count, time.perf_counter() - started


def first_event(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    with client.stream("GET", url) as response:
        next(events(response))
        return time.perf_counter() - started


def main(tokens: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        process, base = start(Path(data_dir))
        try:
            with httpx.Client(base_url=base, timeout=600) as client:
                request = {"model": MODEL, "input": PROMPT, "max_output_tokens": tokens, "temperature": 0}
                response_id = client.post("/responses", json={**request, "background": True}).json()["id"]
                while client.get(f"/responses/{response_id}").json()["status"] in ("queued", "in_progress"):
                    time.sleep(0.2)
                replay_rates, live_rates, resumes, retrieves = [], [], [], []
                logged, _ = count_events(client, "GET", f"/responses/{response_id}?stream=true")
                for _ in range(runs):
                    count, seconds = count_events(client, "GET", f"/responses/{response_id}?stream=true")
                    replay_rates.append(count / seconds)
                    count, seconds = count_events(client, "POST", "/responses", json={**request, "stream": True})
                    live_rates.append(count / seconds)
                    for cursor in (0, logged // 2, logged - 2):
                        resumes.append(
                            first_event(client, f"/responses/{response_id}?stream=true&starting_after={cursor}")
                        )
                        started = time.perf_counter()
                        client.get(f"/responses/{response_id}")
                        retrieves.append(time.perf_counter() - started)
        finally:
            process.kill()
            process.wait()
    replay, live = statistics.median(replay_rates), statistics.median(live_rates)
    resume, retrieve = statistics.median(resumes), statistics.median(retrieves)
    print(f"one generation of {tokens} tokens: {logged} events in the log; {runs} runs, medians")
    print(
        f"replay from the log: {replay:.0f} events/s; live generation: {live:.0f} events/s; ratio {replay / live:.1f}x"
    )
    print(f"resume to first event: p50 {resume * 1000:.1f} ms; retrieve JSON: p50 {retrieve * 1000:.1f} ms; "
          f"ratio {resume / retrieve:.2f}x")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.tokens, arguments.runs)

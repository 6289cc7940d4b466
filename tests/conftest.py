"""Real servers on real sockets, driven by the official `openai` client with strict response validation.

Each server is a `homeport serve` process on a free port, so the tests see exactly what a user sees: the CLI, the
lifespan, uvicorn, SSE over TCP. The small packaged model serves protocol tests; the default model is started only
for the tests whose answers' content matters.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import llama_cpp
import pytest
from openai import AsyncOpenAI, OpenAI

from homeport.engines import SMALL_MODEL, resolve_model
from homeport.engines.constraints import Grammars

SMALL = "smollm2-135m-instruct"
DEFAULT = "qwen2.5-coder-0.5b-instruct"
# A small context window makes overflow cheap to reach; 1 MiB body and 8 MiB file limits make 413 cheap to test.
SMALL_ENV = {
    "HOMEPORT_CONTEXT_SIZE": "1024",
    "HOMEPORT_MAX_REQUEST_BYTES": str(2**20),
    "HOMEPORT_MAX_FILE_BYTES": str(8 * 2**20),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One `homeport serve` process; `restart` keeps its data directory."""

    data_dir: Path
    model: str = SMALL
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Server:
        self.port = free_port()
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "homeport.cli",
                "serve",
                "--model",
                self.model,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            # Unbuffered: the log (uvicorn writes its access lines to stdout) reads as it happens.
            env={**os.environ, "HOMEPORT_THREADS": "2", "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"homeport serve exited: {self.log()[-2000:]}")
            try:
                httpx2.get(f"{self.base_url}/models", timeout=1, headers=self._auth())
                return self
            except httpx2.TransportError:
                time.sleep(0.2)
        raise RuntimeError("homeport serve did not become ready in time")

    def _auth(self) -> dict[str, str]:
        keys = self.env.get("HOMEPORT_API_KEYS")
        return {"authorization": f"Bearer {keys.split(',')[0].split(':')[-1]}"} if keys else {}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")

    def client(self, api_key: str = "unused", **options: object) -> OpenAI:
        return OpenAI(base_url=self.base_url, api_key=api_key, _strict_response_validation=True, **options)  # type: ignore[arg-type]

    def async_client(self, api_key: str = "unused") -> AsyncOpenAI:
        return AsyncOpenAI(base_url=self.base_url, api_key=api_key, _strict_response_validation=True)


@dataclass
class McpProcess:
    port: int
    log: Path
    process: subprocess.Popen[str]

    def url(self, path: str = "/mcp", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@contextmanager
def running_mcp(directory: Path, *options: str) -> Iterator[McpProcess]:
    """`tests/mcp_server.py` on a free port until the block ends; `options` as its command line takes them."""
    port, log = free_port(), directory / "mcp-requests.jsonl"
    script = Path(__file__).with_name("mcp_server.py")
    command = [sys.executable, str(script), "--port", str(port), "--log", str(log), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "READY"
        yield McpProcess(port, log, process)
    finally:
        process.terminate()
        process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("small"), env=SMALL_ENV).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The embedded default model. Its assembled file is kept between runs, in the user's cache."""
    data_dir = Path(os.environ.get("HOMEPORT_TEST_MODEL_DIR", Path.home() / ".cache" / "homeport-tests"))
    data_dir.mkdir(parents=True, exist_ok=True)
    running = Server(
        data_dir,
        model=DEFAULT,
        env={
            "HOMEPORT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('default') / 'homeport.db'}",
            # The documentation's MCP example reaches a test MCP server on loopback.
            "HOMEPORT_OUTBOUND_ALLOW": "127.0.0.1/32",
        },
    ).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client(server: Server) -> OpenAI:
    return server.client()


@pytest.fixture(scope="session")
def default_client(default_server: Server) -> OpenAI:
    return default_server.client()


@pytest.fixture
def async_client(server: Server) -> AsyncOpenAI:
    return server.async_client()


@pytest.fixture(scope="session")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[llama_cpp.Llama]:
    """The small packaged model in-process, for tests of the constraint engine below the server."""
    path = resolve_model(SMALL_MODEL, tmp_path_factory.mktemp("models")).path
    model = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_threads=1, n_threads_batch=1, verbose=False)
    yield model
    model.close()


@pytest.fixture(scope="session")
def grammars(llm: llama_cpp.Llama) -> Grammars:
    return Grammars(llm)

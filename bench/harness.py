"""An in-process Homeport whose one loaded model serves both sides of every comparison.

Loading the model twice would double memory and let the two copies' caches drift apart, so the server runs in a
background thread and the direct engine calls go to the same `LlamaCppEngine`. The engine's `asyncio.Lock` belongs
to the server's event loop, so direct calls are submitted onto that loop; both paths are timed from the caller
thread and pay the same cross-thread hop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from homeport.app import create_app
from homeport.config import Settings
from homeport.engines import Engine

T = TypeVar("T")

_STARTUP_TIMEOUT_S = 120.0


class _LoopServer(uvicorn.Server):
    """A uvicorn server that remembers its event loop, so other threads can submit work to it."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


@dataclass(frozen=True)
class Harness:
    """The running app, the loop its engine belongs to, and the URL an HTTP client reaches it at."""

    app: FastAPI
    loop: asyncio.AbstractEventLoop
    base_url: str

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.catalog.engine
        return engine

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule `coroutine` on the server's loop; the caller thread waits on the returned future."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)


@contextmanager
def running_server(model: str, data_dir: Path, threads: int | None) -> Iterator[Harness]:
    """Homeport as `homeport serve` builds it, minus access logs (they would time the terminal, not Homeport).

    uvicorn binds the port itself, as in production: asyncio sets TCP_NODELAY only on sockets it knows are TCP, and a
    hand-made listener (protocol 0) would add Nagle's 40 ms delayed-ACK stall to every keep-alive request.
    """
    settings = Settings(model=model, port=0, data_dir=data_dir, threads=threads)
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = _LoopServer(config)
    thread = threading.Thread(target=server.run, name="homeport", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        assert server.loop is not None
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Harness(app=app, loop=server.loop, base_url=f"http://127.0.0.1:{port}/v1")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Block until the lifespan has loaded the model and the socket accepts; fail fast if startup died."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("The in-process Homeport server exited during startup (see the log above).")
        if time.monotonic() > deadline:
            raise RuntimeError(f"The in-process Homeport server did not start within {_STARTUP_TIMEOUT_S:.0f} s.")
        time.sleep(0.01)

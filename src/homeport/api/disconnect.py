"""Non-streaming answers stop when their client goes away, as streams do.

Uvicorn does not cancel a handler whose client disconnected, so a non-streaming generation would otherwise run to
its end (up to a full context window) holding the one engine every other request waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request, Response

T = TypeVar("T")

log = logging.getLogger("homeport.api")

_POLL_SECONDS = 0.25

CLIENT_CLOSED = 499
"""The status nginx logs for a client that closed its request; nobody reads it, the access log shows it."""


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T | Response:
    """`work`'s result, or, if the client disconnects first, `work` cancelled (a generation stops, and a stored
    response is stored `cancelled`) and a 499."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=_POLL_SECONDS)
        if done:
            return task.result()
        if await request.is_disconnected():
            log.info("client went away: %s %s stopped", request.method, request.url.path)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return Response(status_code=CLIENT_CLOSED)

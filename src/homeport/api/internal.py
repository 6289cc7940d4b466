"""Requests the server makes of itself (a batch's requests): the same HTTP path as a client's, called in process.

The caller's project travels in the ASGI scope under `TRUSTED_PROJECT`, which only this module sets: a request
from the network cannot carry it, as the server builds its scope.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message

TRUSTED_PROJECT = "homeport.project"


async def call(app: ASGIApp, path: str, body: dict[str, Any], project: str) -> tuple[int, dict[str, Any]]:
    """POST `body` to `path` as `project`; the status and the JSON answer."""
    data = json.dumps(body).encode()
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        "client": ("127.0.0.1", 0), "server": ("homeport", 0), TRUSTED_PROJECT: project,
    }  # fmt: skip
    sent = False
    status = 500
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        await asyncio.Event().wait()  # the caller never goes away
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, json.loads(b"".join(chunks) or b"{}")

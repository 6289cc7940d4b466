"""Server-sent event framing, as OpenAI sends each API's streams.

Responses: `event: <type>` and `data: <json>` per event. Chat and legacy completions: `data: <json>` per chunk, then
`data: [DONE]`; a failure after the first chunk went out is sent in-band as `data: {"error": …}` (the SDK raises it),
never as a second HTTP answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from homeport.errors import HomeportError
from homeport.responses import wire

log = logging.getLogger("homeport.api")


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def sse_frames(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """Events as SDK objects, or as the JSON an event log holds."""
    async for event in events:
        data = event if isinstance(event, dict) else wire(event)
        yield f"event: {data['type']}\ndata: {_json(data)}\n\n".encode()


async def sse_data_frames(chunks: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield f"data: {_json(wire(chunk))}\n\n".encode()
    except HomeportError as exc:
        log.warning("stream failed after it started: %s", exc.message)
        yield f"data: {_json(exc.body())}\n\n".encode()
        return
    yield b"data: [DONE]\n\n"


def event_stream(frames: AsyncIterator[bytes]) -> StreamingResponse:
    """An SSE response that proxies neither cache nor buffer, so each event reaches the client as it is made."""
    return StreamingResponse(
        frames, media_type="text/event-stream", headers={"cache-control": "no-cache", "x-accel-buffering": "no"}
    )

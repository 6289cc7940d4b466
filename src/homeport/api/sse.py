"""Server-sent event framing: `event: <type>` and `data: <json>` per event, as OpenAI sends them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from homeport.responses import wire


async def sse_frames(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for event in events:
        data = json.dumps(wire(event), separators=(",", ":"), ensure_ascii=False)
        yield f"event: {event.type}\ndata: {data}\n\n".encode()

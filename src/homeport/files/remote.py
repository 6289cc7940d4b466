"""Fetching a file from a URL (`input_file.file_url`), only where the operator allows it.

The host must pass the outbound policy (`outbound.py`: never this server's own network unless allowed), and the
connection goes to the address that was checked. Redirects are not followed (their target would escape the check),
and the body is read up to the size limit, never further.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx2

from homeport.errors import InvalidRequest
from homeport.outbound import OutboundPolicy, check_url, pinned_client

_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class FetchPolicy:
    enabled: bool
    outbound: OutboundPolicy
    max_bytes: int


@dataclass(frozen=True)
class Fetched:
    filename: str
    data: bytes


async def fetch(url: str, policy: FetchPolicy, param: str) -> Fetched:
    if not policy.enabled:
        raise InvalidRequest(
            "This server does not fetch files from URLs (its operator has not enabled it); upload the file and "
            "pass its 'file_id'.",
            param=param,
        )
    target = await check_url(url, policy.outbound, what="'file_url'", param=param)
    try:
        async with pinned_client(target, timeout=_TIMEOUT_SECONDS) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InvalidRequest(f"Fetching 'file_url' answered HTTP {response.status_code}.", param=param)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > policy.max_bytes:
                        raise InvalidRequest(f"The file at 'file_url' is over {policy.max_bytes} bytes.", param=param)
    except httpx2.HTTPError as exc:
        raise InvalidRequest(f"Fetching 'file_url' failed: {exc}", param=param) from exc
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or target.hostname
    return Fetched(name, bytes(data))

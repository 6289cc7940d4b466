"""Fetching a file from a URL (`input_file.file_url`), only where the operator allows it.

A request must never make the server reach its own network: the host is resolved once, every address it resolves
to is checked (loopback, private, link-local, reserved and multicast ranges are refused unless the operator allows
private addresses), and the connection goes to that checked address, with the name kept for the Host header and
TLS, so a second lookup cannot swap in another address. Redirects are not followed (their target would escape the
check), and the body is read up to the size limit, never further.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx2

from homeport.errors import InvalidRequest

_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class FetchPolicy:
    enabled: bool
    allow_private: bool
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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("'file_url' must be an http or https URL.", param=param)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = await _checked_address(parts.hostname, port, policy, param)
    host = f"[{address}]" if ":" in address else address
    target = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()
    headers = {"host": parts.netloc.rsplit("@", 1)[-1]}
    try:
        async with httpx2.AsyncClient(timeout=_TIMEOUT_SECONDS, follow_redirects=False) as client:
            async with client.stream(
                "GET", target, headers=headers, extensions={"sni_hostname": parts.hostname}
            ) as response:
                if response.status_code != 200:
                    raise InvalidRequest(f"Fetching 'file_url' answered HTTP {response.status_code}.", param=param)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > policy.max_bytes:
                        raise InvalidRequest(f"The file at 'file_url' is over {policy.max_bytes} bytes.", param=param)
    except httpx2.HTTPError as exc:
        raise InvalidRequest(f"Fetching 'file_url' failed: {exc}", param=param) from exc
    name = unquote(parts.path.rsplit("/", 1)[-1]) or parts.hostname
    return Fetched(name, bytes(data))


async def _checked_address(hostname: str, port: int, policy: FetchPolicy, param: str) -> str:
    """The first address the name resolves to, once every one of them has passed the private-network check."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidRequest(f"The host of 'file_url' could not be resolved: {hostname}.", param=param) from exc
    addresses = [str(info[4][0]) for info in found]
    if not policy.allow_private:
        for address in addresses:
            if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
                raise InvalidRequest(
                    f"'file_url' points at a private or reserved address ({address}); this server's operator does "
                    "not allow fetching from its own network.",
                    param=param,
                )
    return addresses[0]

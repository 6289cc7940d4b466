"""Connections a request makes the server open (a `file_url` fetched, an MCP server called): never into this
server's own network unless the operator allows that part of it.

A host is resolved once and every address it resolves to is checked: loopback, private, link-local, reserved and
multicast addresses are refused unless `outbound_allow` names the host or a network holding the address. The
connection then goes to that checked address (`pinned_client`), with the name kept for the Host header and TLS, so
a second lookup (a DNS rebind) cannot swap in another address; a request to any other host is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2

from homeport.errors import InvalidRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class OutboundPolicy:
    """The parts of this server's network that requests may reach: host names, and networks (CIDRs)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> OutboundPolicy:
        """From the operator's list, e.g. `["127.0.0.1/32", "localhost"]`; raises ValueError on a bad CIDR."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in (entry.strip() for entry in entries):
            if not entry:
                continue
            if "/" in entry or _is_address(entry):
                networks.append(ipaddress.ip_network(entry, strict=False))
            else:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, hostname: str, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_global or hostname.lower().rstrip(".") in self.hosts:
            return True
        return any(ip.version == network.version and ip in network for network in self.networks)


@dataclass(frozen=True)
class Target:
    """A URL whose host has passed the policy, and the address to connect to."""

    url: str
    hostname: str
    address: str


async def check_url(url: str, policy: OutboundPolicy, *, what: str, param: str) -> Target:
    """Resolve and check the URL's host; a 400 naming `param` if it is not http(s) or reaches a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{what} must be an http or https URL.", param=param)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidRequest(f"The host of {what} could not be resolved: {parts.hostname}.", param=param) from exc
    addresses = [str(info[4][0]) for info in found]
    for address in addresses:
        if not policy.allows(parts.hostname, address):
            raise InvalidRequest(
                f"{what} points at a private or reserved address ({address}); this server's operator does not "
                "allow requests to reach its own network there (HOMEPORT_OUTBOUND_ALLOW).",
                param=param,
            )
    return Target(url, parts.hostname, addresses[0])


def pinned_client(target: Target, **options: Any) -> httpx2.AsyncClient:
    """An HTTP client that connects only to the target's checked address, and never follows redirects itself."""
    return httpx2.AsyncClient(transport=_PinnedTransport(target), follow_redirects=False, **options)


class _PinnedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, target: Target) -> None:
        super().__init__()
        self._target = target

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host != self._target.hostname:
            raise httpx2.ConnectError(f"Refused: a request to another host ({request.url.host}).", request=request)
        # The Host header was set from the URL when the request was built; the connection goes to the address.
        request.url = request.url.copy_with(host=self._target.address)
        request.extensions = {**request.extensions, "sni_hostname": self._target.hostname}
        return await super().handle_async_request(request)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

"""The outbound policy: a request may make the server reach its own network only where the operator allows."""

from __future__ import annotations

import httpx2
import pytest

from homeport.errors import InvalidRequest
from homeport.outbound import OutboundPolicy, Target, check_url, pinned_client


def test_private_addresses_need_the_operator() -> None:
    closed = OutboundPolicy.parse([])
    assert closed.allows("example.com", "93.184.216.34")
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"):
        assert not closed.allows("somewhere", address), address
    opened = OutboundPolicy.parse(["127.0.0.1/32", " localhost ", "10.0.0.0/8", ""])
    assert opened.allows("x", "127.0.0.1") and opened.allows("x", "10.9.9.9")
    assert opened.allows("LOCALHOST", "::1")  # the name is allowed, whatever it resolves to
    assert not opened.allows("x", "127.0.0.2") and not opened.allows("x", "192.168.1.1")
    with pytest.raises(ValueError):
        OutboundPolicy.parse(["10.0.0.0/33"])


async def test_urls_are_checked_before_any_connection() -> None:
    with pytest.raises(InvalidRequest) as refused:
        await check_url("http://127.0.0.1:9/x", OutboundPolicy(), what="'server_url'", param="tools[0].server_url")
    assert refused.value.param == "tools[0].server_url" and "HOMEPORT_OUTBOUND_ALLOW" in refused.value.message
    with pytest.raises(InvalidRequest, match="http or https"):
        await check_url("file:///etc/passwd", OutboundPolicy(), what="'server_url'", param="p")
    target = await check_url("http://localhost:9/x", OutboundPolicy.parse(["localhost"]), what="u", param="p")
    assert target.hostname == "localhost" and target.address in ("127.0.0.1", "::1")


async def test_a_pinned_client_reaches_no_other_host() -> None:
    async with pinned_client(Target("http://a.example/", "a.example", "127.0.0.1")) as client:
        with pytest.raises(httpx2.ConnectError, match="another host"):
            await client.get("http://b.example/")

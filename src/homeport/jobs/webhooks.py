"""Webhooks: events (`response.completed`, `batch.failed`, …) signed as Standard Webhooks and delivered to the
operator's endpoints, durably.

An event becomes one delivery per endpoint that takes its type, in the store; the sender attempts each when it is
due. A 2xx ends it. Anything else (a redirect, an error, no answer) is attempted again after a backoff that doubles,
with the same `webhook-id`, until `retry_window` has passed since the event; then it is `failed`. Every attempt is
signed afresh (`webhook-timestamp` is the attempt's time), as `client.webhooks.unwrap` checks it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2

from homeport.background import BackgroundLoop
from homeport.errors import HomeportError, InvalidRequest
from homeport.ids import new_id
from homeport.outbound import OutboundPolicy, check_url, pinned_client
from homeport.store.webhooks import Delivery, Endpoint, WebhookRepository

log = logging.getLogger("homeport.webhooks")

EVENT_TYPES = (
    "response.completed", "response.failed", "response.cancelled", "response.incomplete",
    "batch.completed", "batch.failed", "batch.cancelled", "batch.expired",
)  # fmt: skip
"""The events this server sends."""
USER_AGENT = "Homeport/0.1 (Standard Webhooks)"
POLL_SECONDS = 0.5
ATTEMPT_TIMEOUT_SECONDS = 10.0


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret
    (whose `whsec_` form is base64)."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Webhooks:
    """Raises events (`notify`) and delivers them (`loop`)."""

    def __init__(
        self, repository: WebhookRepository, policy: OutboundPolicy, *, retry_base: float, retry_window: float
    ) -> None:
        self._repository = repository
        self._policy = policy
        self._retry_base = retry_base
        self._retry_window = retry_window
        self._wake = asyncio.Event()
        self.loop = BackgroundLoop("homeport-webhooks", self._run)

    async def notify(self, project: str, kind: str, object_id: str) -> None:
        """Queue the event `kind` about `object_id` for every endpoint of the project that takes it."""
        now = time.time()
        body = {"object": "event", "id": new_id("evt"), "type": kind, "created_at": int(now), "data": {"id": object_id}}
        if await self._repository.enqueue(project, kind, body, now):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                now = time.time()
                due = await self._repository.claim_due(now, hold_until=now + ATTEMPT_TIMEOUT_SECONDS + 5)
                await asyncio.gather(*(self._attempt(delivery) for delivery in due))
            except Exception:
                log.exception("webhook delivery failed; it is tried again in %.1f s", POLL_SECONDS)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass

    async def _attempt(self, delivery: Delivery) -> None:
        status, error = await self._send(delivery)
        if status is not None and 200 <= status < 300:
            await self._repository.record(delivery, state="delivered", next_attempt_at=time.time(), status=status,
                                          error=None)  # fmt: skip
            return
        later = time.time() + self._retry_base * 2**delivery.attempts
        expired = later > delivery.created_at + self._retry_window
        log.warning("webhook %s to %s: %s", delivery.webhook_id, delivery.endpoint.id, error or f"HTTP {status}")
        await self._repository.record(
            delivery, state="failed" if expired else "pending", next_attempt_at=later, status=status, error=error
        )

    async def send_test(self, endpoint: Endpoint, kind: str) -> tuple[int | None, str | None]:
        """One delivery of a sample `kind` event now, not retried: the status the endpoint answered, or why none."""
        sample = new_id("resp" if kind.startswith("response.") else "batch")
        body = {"object": "event", "id": new_id("evt"), "type": kind, "created_at": int(time.time()),
                "data": {"id": sample}}  # fmt: skip
        return await self._post(endpoint, new_id("wh"), body)

    async def _send(self, delivery: Delivery) -> tuple[int | None, str | None]:
        return await self._post(delivery.endpoint, delivery.webhook_id, delivery.body)

    async def _post(self, endpoint: Endpoint, webhook_id: str, event: dict[str, Any]) -> tuple[int | None, str | None]:
        body = json.dumps(event, separators=(",", ":"))
        timestamp = int(time.time())
        headers: Mapping[str, str] = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, webhook_id, timestamp, body),
        }
        try:
            target = await check_url(endpoint.url, self._policy, what="The webhook URL", param="url")
            async with pinned_client(target, timeout=ATTEMPT_TIMEOUT_SECONDS) as client:
                answer = await client.post(target.url, content=body, headers=headers)
        except HomeportError as exc:
            return None, exc.message
        except httpx2.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}"


def new_endpoint(
    url: str, secret: str | None, events: Sequence[str] | None, project: str | None, name: str = ""
) -> Endpoint:
    """An endpoint as the operator (or a project, through the API) describes it, checked (a 400 names what is
    wrong), with a fresh `whsec_` secret unless one is given."""
    check_url_shape(url)
    try:
        valid = secret is None or (
            secret.startswith("whsec_") and bool(base64.b64decode(secret.removeprefix("whsec_"), validate=True))
        )
    except binascii.Error:
        valid = False
    if not valid:
        raise InvalidRequest("A signing secret is 'whsec_' followed by base64.", param="secret")
    now = int(time.time())
    return Endpoint(new_id("we"), project, url, secret or new_secret(), checked_events(events), now, name)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url_shape(url: str) -> None:
    """Only its form: where it points is checked at each delivery, as the outbound policy may change."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{url!r} is not an http or https URL.", param="url")


def checked_events(events: Sequence[str] | None) -> list[str]:
    wanted = list(events or EVENT_TYPES)
    for index, event in enumerate(wanted):
        if event not in EVENT_TYPES:
            raise InvalidRequest(
                f"Unknown event type {event!r}; this server sends {', '.join(EVENT_TYPES)}.",
                param=f"event_types[{index}]",
            )
    return wanted

"""A project's own webhook endpoints, as the API's `/v1/webhook_endpoints` manages them (the SDK's
`client.webhooks.create/list/update/rotate_secret/test`). Endpoints the operator adds with `homeport webhooks` take
every project's events and are not listed here."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from homeport.errors import InvalidRequest, NotFound
from homeport.jobs.webhooks import Webhooks, check_url_shape, checked_events, new_endpoint, new_secret
from homeport.store.webhooks import Endpoint, WebhookRepository


def endpoint_object(endpoint: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """The `WebhookEndpoint` wire object; the secret itself only when it is made (or rotated)."""
    shown = {
        "id": endpoint.id, "object": "webhook_endpoint", "created_at": endpoint.created_at,
        "event_types": endpoint.event_types, "name": endpoint.name, "url": endpoint.url,
        "signing_secret_hint": endpoint.secret[:10] + "…" + endpoint.secret[-4:], "updated_at": endpoint.updated_at,
    }  # fmt: skip
    return {**shown, "signing_secret": endpoint.secret} if with_secret else shown


class WebhookEndpoints:
    def __init__(self, repository: WebhookRepository, webhooks: Webhooks) -> None:
        self._repository = repository
        self._webhooks = webhooks

    async def create(self, project: str, name: str, url: str, event_types: Sequence[str]) -> dict[str, Any]:
        if not event_types:
            raise InvalidRequest("'event_types' must name at least one event type.", param="event_types")
        endpoint = new_endpoint(url, None, event_types, project, name)
        await self._repository.add_endpoint(endpoint)
        return endpoint_object(endpoint, with_secret=True)

    async def get(self, project: str, endpoint_id: str) -> Endpoint:
        found = next((each for each in await self._repository.endpoints(project) if each.id == endpoint_id), None)
        if found is None:
            raise NotFound(f"No webhook endpoint found with id '{endpoint_id}'.", param="webhook_endpoint_id")
        return found

    async def in_project(self, project: str) -> list[dict[str, Any]]:
        return [endpoint_object(endpoint) for endpoint in await self._repository.endpoints(project)]

    async def update(
        self, project: str, endpoint_id: str, *, name: str | None, url: str | None, event_types: Sequence[str] | None
    ) -> dict[str, Any]:
        endpoint = await self.get(project, endpoint_id)
        if url is not None:
            check_url_shape(url)
        if event_types is not None and not event_types:
            raise InvalidRequest("'event_types' must name at least one event type.", param="event_types")
        changed = replace(
            endpoint,
            name=endpoint.name if name is None else name,
            url=url or endpoint.url,
            event_types=endpoint.event_types if event_types is None else checked_events(event_types),
            updated_at=int(time.time()),
        )
        await self._repository.replace_endpoint(changed)
        return endpoint_object(changed)

    async def rotate_secret(self, project: str, endpoint_id: str) -> dict[str, Any]:
        rotated = replace(await self.get(project, endpoint_id), secret=new_secret(), updated_at=int(time.time()))
        await self._repository.replace_endpoint(rotated)
        return endpoint_object(rotated, with_secret=True)

    async def delete(self, project: str, endpoint_id: str) -> dict[str, Any]:
        await self.get(project, endpoint_id)
        await self._repository.remove_endpoint(endpoint_id)
        return {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}

    async def test(self, project: str, endpoint_id: str, event_type: str) -> dict[str, Any]:
        """Send one sample event now; the result carries the status the endpoint answered. An endpoint that gives no
        answer (refused, unreachable, timed out) is a 400 that says why."""
        endpoint = await self.get(project, endpoint_id)
        kind = checked_events([event_type])[0]
        status, error = await self._webhooks.send_test(endpoint, kind)
        if status is None:
            raise InvalidRequest(f"The test delivery got no answer: {error}.", param="webhook_endpoint_id")
        return {"object": "webhook_endpoint.test", "event_type": kind, "status_code": status, "success": True,
                "webhook_endpoint_id": endpoint.id}  # fmt: skip

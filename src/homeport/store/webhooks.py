"""Webhook endpoints and deliveries: the only code that reads or writes their tables.

Due deliveries are claimed by pushing their next attempt past the time one attempt may take, in the same statement
that selects them, so two replicas never send the same attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update

from homeport.ids import new_id
from homeport.store.database import Database
from homeport.store.tables import WebhookDeliveryRow, WebhookEndpointRow


@dataclass(frozen=True)
class Endpoint:
    id: str
    project: str | None
    url: str
    secret: str
    event_types: list[str]
    created_at: int
    name: str = ""
    updated_at: int | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint: Endpoint
    webhook_id: str
    type: str
    body: dict[str, Any]
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_status: int | None
    last_error: str | None


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint(
        row.id, row.project, row.url, row.secret, list(row.event_types), row.created_at, row.name, row.updated_at
    )


class WebhookRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def add_endpoint(self, endpoint: Endpoint) -> None:
        async with self._sessions.begin() as session:
            session.add(
                WebhookEndpointRow(
                    id=endpoint.id, project=endpoint.project, url=endpoint.url, secret=endpoint.secret,
                    event_types=endpoint.event_types, created_at=endpoint.created_at, name=endpoint.name,
                    updated_at=endpoint.updated_at,
                )
            )  # fmt: skip

    async def endpoints(self, project: str | None = None) -> list[Endpoint]:
        """Every endpoint, oldest first; with `project`, only that project's own."""
        query = select(WebhookEndpointRow).order_by(WebhookEndpointRow.position)
        if project is not None:
            query = query.where(WebhookEndpointRow.project == project)
        async with self._sessions() as session:
            return [_endpoint(row) for row in await session.scalars(query)]

    async def replace_endpoint(self, endpoint: Endpoint) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(WebhookEndpointRow)
                .where(WebhookEndpointRow.id == endpoint.id)
                .values(
                    url=endpoint.url, secret=endpoint.secret, event_types=endpoint.event_types, name=endpoint.name,
                    updated_at=endpoint.updated_at,
                )
            )  # fmt: skip

    async def remove_endpoint(self, endpoint_id: str) -> bool:
        async with self._sessions.begin() as session:
            await session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id))
            result = await session.execute(delete(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def enqueue(self, project: str, kind: str, body: dict[str, Any], now: float) -> int:
        """A delivery of the event to every endpoint that takes it, each with a `webhook-id` of its own; how many."""
        async with self._sessions.begin() as session:
            endpoints = await session.scalars(
                select(WebhookEndpointRow).where(
                    or_(WebhookEndpointRow.project.is_(None), WebhookEndpointRow.project == project)
                )
            )
            wanted = [row for row in endpoints if kind in row.event_types]
            session.add_all(
                WebhookDeliveryRow(
                    endpoint_id=row.id, webhook_id=new_id("wh"), type=kind, body=body, state="pending", attempts=0,
                    created_at=now, next_attempt_at=now,
                )
                for row in wanted
            )  # fmt: skip
            return len(wanted)

    async def claim_due(self, now: float, hold_until: float, limit: int = 20) -> list[Delivery]:
        """Pending deliveries due by `now`, held (not due again) until `hold_until` while they are attempted."""
        async with self._sessions.begin() as session:
            due = await session.scalars(
                select(WebhookDeliveryRow.position)
                .where(WebhookDeliveryRow.state == "pending", WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            positions = list(due)
            if not positions:
                return []
            await session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.position.in_(positions))
                .values(next_attempt_at=hold_until)
            )
            return await self._deliveries(session, WebhookDeliveryRow.position.in_(positions))

    async def record(
        self, delivery: Delivery, *, state: str, next_attempt_at: float, status: int | None, error: str | None
    ) -> None:
        """The outcome of one attempt."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.position == delivery.id)
                .values(
                    state=state, attempts=WebhookDeliveryRow.attempts + 1, next_attempt_at=next_attempt_at,
                    last_status=status, last_error=error[:512] if error else None,
                )
            )  # fmt: skip

    async def deliveries(self, limit: int = 100) -> list[Delivery]:
        """The latest deliveries, newest first."""
        async with self._sessions() as session:
            return await self._deliveries(session, None, limit=limit)

    @staticmethod
    async def _deliveries(session: Any, condition: Any, limit: int | None = None) -> list[Delivery]:
        query = select(WebhookDeliveryRow, WebhookEndpointRow).join(
            WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id
        )
        if condition is not None:
            query = query.where(condition)
        rows: Sequence[Any] = await session.execute(query.order_by(WebhookDeliveryRow.position.desc()).limit(limit))
        return [
            Delivery(
                row.position, _endpoint(endpoint), row.webhook_id, row.type, row.body, row.state, row.attempts,
                row.created_at, row.next_attempt_at, row.last_status, row.last_error,
            )
            for row, endpoint in rows
        ]  # fmt: skip

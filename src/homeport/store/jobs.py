"""Jobs and the event log: the only code that reads or writes the `jobs` and `response_events` tables.

A job is claimed in one statement (an UPDATE of the first queued row that no other replica holds: `FOR UPDATE SKIP
LOCKED` on PostgreSQL, SQLite's single writer elsewhere), so two workers never run the same job. A claim is a lease:
the worker renews it while it runs, and a job whose lease ran out belongs to a worker that is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from homeport.store.database import Database
from homeport.store.tables import JobRow, ResponseEventRow


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    project: str
    payload: dict[str, Any]


def _job(row: JobRow) -> Job:
    return Job(row.id, row.kind, row.project, row.payload)


class JobRepository:
    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def enqueue(self, job: Job, *, priority: int) -> None:
        async with self._sessions.begin() as session:
            session.add(
                JobRow(
                    id=job.id, kind=job.kind, project=job.project, priority=priority, state="queued",
                    payload=job.payload, cancel_requested=False,
                )
            )  # fmt: skip

    async def claim(self, worker: str, until: float) -> Job | None:
        """The next queued job, now running under `worker` until `until`; None when the queue is empty."""
        first = (
            select(JobRow.position)
            .where(JobRow.state == "queued")
            .order_by(JobRow.priority, JobRow.position)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self._sessions.begin() as session:
            row = await session.scalar(
                update(JobRow)
                .where(JobRow.position == first, JobRow.state == "queued")
                .values(state="running", claimed_by=worker, lease_until=until)
                .returning(JobRow)
            )
            return _job(row) if row is not None else None

    async def renew(self, worker: str, ids: Sequence[str], until: float) -> set[str]:
        """Extend the leases of the jobs `worker` runs; the ids of those whose cancellation was asked for."""
        if not ids:
            return set()
        async with self._sessions.begin() as session:
            await session.execute(
                update(JobRow)
                .where(JobRow.id.in_(ids), JobRow.claimed_by == worker, JobRow.state == "running")
                .values(lease_until=until)
            )
            cancelled = await session.scalars(
                select(JobRow.id).where(JobRow.id.in_(ids), JobRow.cancel_requested.is_(True))
            )
            return set(cancelled)

    async def abandoned(self, now: float) -> list[Job]:
        """Running jobs whose lease ran out: their worker stopped (a crash, a restart) without finishing them."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(JobRow).where(JobRow.state == "running", JobRow.lease_until < now).order_by(JobRow.position)
            )
            return [_job(row) for row in rows]

    async def finish(self, job_id: str, *, claimed_by: str | None = None) -> bool:
        """Mark a job done; with `claimed_by`, only if that worker still holds it. Whether this call finished it."""
        condition = [JobRow.id == job_id, JobRow.state != "done"]
        if claimed_by is not None:
            condition.append(JobRow.claimed_by == claimed_by)
        async with self._sessions.begin() as session:
            result = await session.execute(update(JobRow).where(*condition).values(state="done"))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def requeue(self, job_id: str) -> bool:
        """Put a job back in the queue, unclaimed: a slice of it is done, or its worker stopped. Not a job whose
        cancellation was asked for; whether it went back."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.cancel_requested.is_(False))
                .values(state="queued", claimed_by=None, lease_until=None)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def cancel_queued(self, job_id: str) -> bool:
        """Take a job off the queue before any worker claims it; whether it was still queued."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued").values(state="done")
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def request_cancel(self, job_id: str) -> None:
        """Ask the worker running a job to stop it (it sees the request when it next renews its lease)."""
        async with self._sessions.begin() as session:
            await session.execute(update(JobRow).where(JobRow.id == job_id).values(cancel_requested=True))

    async def cancel_was_requested(self, job_id: str) -> bool:
        async with self._sessions() as session:
            return bool(await session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    async def state(self, job_id: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(select(JobRow.state).where(JobRow.id == job_id))


class EventLog:
    """The events of background responses, by sequence number."""

    def __init__(self, database: Database) -> None:
        self._sessions = database.sessions

    async def append(self, response_id: str, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        async with self._sessions.begin() as session:
            session.add_all(
                ResponseEventRow(response_id=response_id, sequence_number=event["sequence_number"], body=event)
                for event in events
            )

    async def last(self, response_id: str) -> int:
        """The sequence number of the last event logged; -1 when there is none."""
        async with self._sessions() as session:
            number = await session.scalar(
                select(func.max(ResponseEventRow.sequence_number)).where(ResponseEventRow.response_id == response_id)
            )
            return -1 if number is None else int(number)

    async def after(self, response_id: str, sequence_number: int, limit: int = 1000) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            bodies = await session.scalars(
                select(ResponseEventRow.body)
                .where(ResponseEventRow.response_id == response_id, ResponseEventRow.sequence_number > sequence_number)
                .order_by(ResponseEventRow.sequence_number)
                .limit(limit)
            )
            return list(bodies)

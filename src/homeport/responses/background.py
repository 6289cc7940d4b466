"""Background responses: queued in the store, run by the worker pool of any replica, streamed from their event log.

A background response is validated and stored `queued` when it is created, with its first events (`created`,
`queued`) in its event log and a job in the queue, so a restart or another replica can run it. The run writes every
event to the log as it goes (a flush every `FLUSH_SECONDS`), and a stream, live or resumed with `starting_after`,
reads the log: the same events, with the same numbers, however often and from wherever it is read.

MCP `authorization` and `headers` are never stored: the request is kept in memory where it was created, and a
queued run that only the store remembers (after a restart) fails rather than call the server without them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from openai.types.responses import Response, ResponseFailedEvent

from homeport.errors import InvalidRequest
from homeport.jobs.webhooks import Webhooks
from homeport.jobs.workers import WorkerPool
from homeport.responses.events import wire
from homeport.responses.params import CreateResponseParams
from homeport.responses.service import PreparedResponse, ResponseService
from homeport.store import ResponseRepository, StoredResponse
from homeport.store.jobs import EventLog, Job, JobRepository

FLUSH_SECONDS = 0.1
"""How long a run's events may wait in memory before they are written to the log (and reach its followers)."""
POLL_SECONDS = 0.25
"""How often a follower looks for events written by another replica (this replica's runs wake it at once)."""
_TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
_TERMINAL = frozenset({"completed", "failed", "incomplete", "cancelled"})
_SECRETS = ("authorization", "headers")
CANCEL_WAIT_SECONDS = 10.0
FINAL_EVENT_WAIT_SECONDS = 5.0


class BackgroundResponses:
    def __init__(
        self,
        service: ResponseService,
        repository: ResponseRepository,
        jobs: JobRepository,
        log: EventLog,
        webhooks: Webhooks | None = None,
    ) -> None:
        self._service = service
        self._webhooks = webhooks
        self._repository = repository
        self._jobs = jobs
        self._log = log
        self._pool: WorkerPool | None = None
        self._prepared: dict[str, PreparedResponse] = {}
        """Requests created here and not yet claimed: they keep what the store never holds (MCP secrets)."""
        self._signals: dict[str, asyncio.Event] = {}

    def attach(self, pool: WorkerPool) -> None:
        self._pool = pool

    async def submit(self, params: CreateResponseParams, project: str) -> Response:
        """Validate and queue a background response; it is returned `queued`."""
        if params.store is False:
            raise InvalidRequest("Background responses are stored: 'store' cannot be false.", param="background")
        prepared = await self._service.prepare(params, project)
        emitter = prepared.emitter
        response = emitter.response
        response.status = "queued"
        response.service_tier = "auto"
        first = [wire(emitter.created()), wire(emitter.queued())]
        await self._repository.add(StoredResponse(response.id, project, wire(response), prepared.input_items))
        await self._log.append(response.id, first)
        payload = {"params": _without_secrets(params), "redacted": _has_secrets(params)}
        self._prepared[response.id] = prepared
        await self._jobs.enqueue(Job(response.id, "response", project, payload), priority=0)
        if self._pool is not None:
            self._pool.wake()
        return response.model_copy(deep=True)

    async def run(self, job: Job) -> None:
        try:
            prepared = self._prepared.pop(job.id, None) or await self._prepare_again(job)
        except asyncio.CancelledError:
            # Cancelled before its run began: it is `cancelled` (a shutdown's `abandon` fails it instead).
            with anyio.CancelScope(shield=True):
                await self._cancel_queued(job.project, job.id)
            raise
        if prepared is None:
            return
        prepared.emitter.response.status = "in_progress"
        prepared.emitter.response.service_tier = "default"
        pending: list[dict[str, Any]] = []
        flushed = time.monotonic()
        try:
            async for event in self._service.run(prepared):
                pending.append(wire(event))
                if event.type in _TERMINAL_EVENTS or time.monotonic() - flushed >= FLUSH_SECONDS:
                    await self._flush(job.id, pending)
                    flushed = time.monotonic()
        finally:
            with anyio.CancelScope(shield=True):
                await self._flush(job.id, pending)
                self._signal(job.id)
        # A cancelled run never gets here: `cancel` announces it.
        await self._announce(job.project, job.id, prepared.emitter.response.status)

    async def abandon(self, job: Job, reason: str, *, crashed: bool) -> None:
        """A run that cannot finish is `failed`, and its stream ends with `response.failed`. A run a shutdown cut
        was stored `cancelled` by its own cleanup; unless a user asked for that, it is `failed` too."""
        self._prepared.pop(job.id, None)
        stored = await self._repository.get(job.project, job.id)
        if stored is None:
            return
        status = stored.body.get("status")
        if status in _TERMINAL and (status != "cancelled" or await self._jobs.cancel_was_requested(job.id)):
            return
        response = Response.model_validate(stored.body)
        response.status = "failed"
        response.error = {"code": "server_error", "message": reason}  # type: ignore[assignment]
        # The event first: a follower that sees the final status finds the final event already logged.
        last = await self._log.last(job.id)
        failed = ResponseFailedEvent(type="response.failed", response=response, sequence_number=last + 1)
        await self._log.append(job.id, [wire(failed)])
        await self._repository.replace(StoredResponse(job.id, job.project, wire(response), stored.input_items))
        self._signal(job.id)
        await self._announce(job.project, job.id, "failed")

    async def follow(self, project: str, response_id: str, starting_after: int | None) -> AsyncIterator[dict[str, Any]]:
        """The response's events after `starting_after` (all of them without it), then each new one as the run
        writes it, until the last. Checked before the stream starts: a response that cannot be streamed is a 4xx."""
        stored = await self._background(project, response_id)
        return self._events(project, response_id, stored.body.get("status"), starting_after)

    async def _events(
        self, project: str, response_id: str, status: str | None, starting_after: int | None
    ) -> AsyncIterator[dict[str, Any]]:
        cursor = -1 if starting_after is None else starting_after
        ended: float | None = None
        while True:
            signal = self._signals.setdefault(response_id, asyncio.Event())
            events = await self._log.after(response_id, cursor)
            for event in events:
                yield event
                cursor = event["sequence_number"]
                if event["type"] in _TERMINAL_EVENTS:
                    return
            if events:
                continue
            if status == "cancelled":
                return
            if status in _TERMINAL:
                # A run stores its final status just before it logs its final event: wait for that event a little.
                ended = ended or time.monotonic() + FINAL_EVENT_WAIT_SECONDS
                if time.monotonic() > ended:
                    return
            with anyio.move_on_after(POLL_SECONDS):
                await signal.wait()
            latest = await self._repository.get(project, response_id)
            status = latest.body.get("status") if latest else "cancelled"

    async def cancel(self, project: str, response_id: str) -> dict[str, Any]:
        """Stop a background response (at once when queued, promptly when running); a finished one is returned
        unchanged, so cancelling twice is harmless."""
        stored = await self._background(project, response_id)
        if stored.body.get("status") in _TERMINAL:
            return stored.body
        if await self._jobs.cancel_queued(response_id):
            return await self._cancel_queued(project, response_id)
        # Recorded in the store even when the run is here, so a shutdown's cleanup can tell it was asked for.
        await self._jobs.request_cancel(response_id)
        if self._pool is not None:
            self._pool.cancel(response_id)
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        body = stored.body
        while time.monotonic() < deadline and body.get("status") not in _TERMINAL:
            await asyncio.sleep(0.05)
            body = (await self._service.get(project, response_id)).body
        if body.get("status") == "cancelled":
            await self._announce(project, response_id, "cancelled")
        return body

    async def _cancel_queued(self, project: str, response_id: str) -> dict[str, Any]:
        """A response whose run never began, `cancelled`."""
        self._prepared.pop(response_id, None)
        stored = await self._service.get(project, response_id)
        if stored.body.get("status") != "queued":
            return stored.body
        body = {**stored.body, "status": "cancelled"}
        await self._repository.replace(StoredResponse(response_id, project, body, stored.input_items))
        self._signal(response_id)
        await self._announce(project, response_id, "cancelled")
        return body

    async def _announce(self, project: str, response_id: str, status: str | None) -> None:
        """The webhook event of a response that ended (`response.completed`, `.failed`, `.incomplete`,
        `.cancelled`)."""
        if self._webhooks is not None and status in _TERMINAL:
            await self._webhooks.notify(project, f"response.{status}", response_id)

    async def _background(self, project: str, response_id: str) -> StoredResponse:
        stored = await self._service.get(project, response_id)
        if not stored.body.get("background"):
            raise InvalidRequest(
                "Only responses created with background=true can be cancelled or streamed again.", param="response_id"
            )
        return stored

    async def _prepare_again(self, job: Job) -> PreparedResponse | None:
        """The run of a response queued before a restart, or on another replica: prepared again from the store."""
        if job.payload.get("redacted"):
            await self.abandon(
                job,
                "The server restarted before this response ran, and the MCP credentials it needed are never stored; "
                "create it again.",
                crashed=False,
            )
            return None
        stored = await self._repository.get(job.project, job.id)
        if stored is None:
            return None
        params = CreateResponseParams.model_validate(job.payload["params"])
        prepared = await self._service.prepare(params, job.project, response_id=job.id)
        prepared.emitter.response.created_at = stored.body["created_at"]
        prepared.emitter.skip(await self._log.last(job.id) + 1)
        return prepared

    async def _flush(self, response_id: str, pending: list[dict[str, Any]]) -> None:
        await self._log.append(response_id, pending)
        pending.clear()
        self._signal(response_id)

    def _signal(self, response_id: str) -> None:
        waiting = self._signals.pop(response_id, None)
        if waiting is not None:
            waiting.set()


def _has_secrets(params: CreateResponseParams) -> bool:
    return any(secret in tool for tool in params.tools or () for secret in _SECRETS if tool.get("type") == "mcp")


def _without_secrets(params: CreateResponseParams) -> dict[str, Any]:
    payload = params.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if payload.get("tools"):
        payload["tools"] = [
            {key: value for key, value in tool.items() if tool.get("type") != "mcp" or key not in _SECRETS}
            for tool in payload["tools"]
        ]
    return payload

"""The Batch API: a JSONL file of requests run as a job, its outcomes written to an output and an error file.

A batch is stored `validating` with a job in the queue at a lower priority than background responses. The job
checks every line first (a batch with a bad line fails whole, each problem in `errors` with its line); then runs the
requests one by one through the same HTTP path a client's requests take (`dispatch`), keeping each outcome in the
store as it is made. It gives its worker back every `SLICE_SECONDS` (queued background responses run first), and
after a restart it goes on from the last outcome kept. Cancelling stops it between two requests; the window's end
(`expires_at`) stops it as `expired`. The outcomes become the output file (2xx) and the error file (the rest).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from openai.types import Batch
from pydantic import BaseModel, ConfigDict, Field

from homeport.errors import InvalidRequest, NotFound
from homeport.files.service import FileService
from homeport.ids import new_id
from homeport.jobs.webhooks import Webhooks
from homeport.jobs.workers import WorkerPool
from homeport.metadata import Metadata
from homeport.store.batches import BatchRepository
from homeport.store.jobs import Job, JobRepository

log = logging.getLogger("homeport.batches")

ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions")
MAX_REQUESTS = 50_000
WINDOW_SECONDS = 24 * 3600
PRIORITY = 10
"""Below background responses (0): a queued response runs before the batch's next slice."""
SLICE_SECONDS = 5.0
_FINAL = ("completed", "failed", "expired", "cancelled")

Dispatch = Callable[[str, dict[str, Any], str], Awaitable[tuple[int, dict[str, Any]]]]
"""(endpoint, request body, project) -> (HTTP status, JSON answer), through the server's own HTTP path."""


class OutputExpiresAfter(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=30 * 24 * 3600)


class CreateBatchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    input_file_id: str
    endpoint: str
    completion_window: Literal["24h"]
    metadata: Metadata | None = None
    output_expires_after: OutputExpiresAfter | None = None


@dataclass(frozen=True)
class Request:
    line: int
    custom_id: str
    body: dict[str, Any]


class BatchService:
    def __init__(
        self,
        repository: BatchRepository,
        files: FileService,
        jobs: JobRepository,
        dispatch: Dispatch,
        webhooks: Webhooks | None,
        *,
        max_request_bytes: int,
    ) -> None:
        self._batches = repository
        self._files = files
        self._jobs = jobs
        self._dispatch = dispatch
        self._webhooks = webhooks
        self._max_request_bytes = max_request_bytes
        self._pool: WorkerPool | None = None

    def attach(self, pool: WorkerPool) -> None:
        self._pool = pool

    async def create(self, params: CreateBatchParams, project: str) -> dict[str, Any]:
        if params.endpoint not in ENDPOINTS:
            raise InvalidRequest(
                f"Batches of '{params.endpoint}' are not supported; this server batches {', '.join(ENDPOINTS)}.",
                param="endpoint",
            )
        file = await self._files.get(project, params.input_file_id, param="input_file_id")
        if file.purpose != "batch":
            raise InvalidRequest("The input file must be uploaded with purpose 'batch'.", param="input_file_id")
        now = int(time.time())
        batch = Batch(
            id=new_id("batch"), object="batch", endpoint=params.endpoint, input_file_id=file.id,
            completion_window="24h", status="validating", created_at=now, expires_at=now + WINDOW_SECONDS,
            metadata=params.metadata, request_counts={"total": 0, "completed": 0, "failed": 0},  # type: ignore[arg-type]
        )  # fmt: skip
        body = batch.model_dump(mode="json")
        await self._batches.add(project, body)
        expires = params.output_expires_after.seconds if params.output_expires_after else None
        await self._jobs.enqueue(Job(batch.id, "batch", project, {"output_expires_after": expires}), priority=PRIORITY)
        if self._pool is not None:
            self._pool.wake()
        return body

    async def get(self, project: str, batch_id: str) -> dict[str, Any]:
        body = await self._batches.get(project, batch_id)
        if body is None:
            raise NotFound(f"No batch found with id '{batch_id}'.", param="batch_id")
        return body

    async def in_project(self, project: str) -> list[dict[str, Any]]:
        return await self._batches.in_project(project)

    async def cancel(self, project: str, batch_id: str) -> dict[str, Any]:
        """A batch not yet running is cancelled at once; a running one is `cancelling` until its current request
        ends. Cancelling again returns it as it is."""
        body = await self.get(project, batch_id)
        if body["status"] in ("cancelling", "cancelled"):
            return body
        if body["status"] in _FINAL:
            raise InvalidRequest(f"A batch that is {body['status']} cannot be cancelled.", param="batch_id")
        now = int(time.time())
        if body["status"] == "validating" and await self._jobs.cancel_queued(batch_id):
            body = {**body, "status": "cancelled", "cancelling_at": now, "cancelled_at": now}
            await self._batches.replace(project, body)
            await self._announce(project, body)
            return body
        if not await self._batches.replace(
            project, {**body, "status": "cancelling", "cancelling_at": now}, while_status=body["status"]
        ):
            return await self.cancel(project, batch_id)  # it moved on meanwhile: decide on what it is now
        body = {**body, "status": "cancelling", "cancelling_at": now}
        if await self._jobs.cancel_queued(batch_id) or await self._jobs.state(batch_id) == "done":
            # Between two slices: no worker holds it, so it is finished here.
            return await self._finish(project, body, "cancelled", {})
        if self._pool is None or not self._pool.cancel(batch_id):
            await self._jobs.request_cancel(batch_id)
        return body

    async def run(self, job: Job) -> None:
        try:
            await self._advance(job)
        except asyncio.CancelledError:
            # Asked to stop: a batch being cancelled ends now; otherwise the server is stopping, and it goes back
            # to the queue (`abandon`).
            with anyio.CancelScope(shield=True):
                latest = await self.get(job.project, job.id)
                if latest["status"] in ("cancelling", "finalizing") and latest.get("cancelling_at"):
                    await self._finish(job.project, latest, "cancelled", job.payload)
            raise

    async def _advance(self, job: Job) -> None:
        """Validate the batch, or run one slice of its requests, or finish it."""
        body = await self.get(job.project, job.id)
        if body["status"] in _FINAL:
            return
        if body["status"] in ("cancelling", "finalizing"):
            await self._finish(job.project, body, _ending(body), job.payload)
            return
        requests, errors = await self._requests(job.project, body)
        if errors:
            now = int(time.time())
            body = {**body, "status": "failed", "failed_at": now, "errors": {"object": "list", "data": errors}}
            await self._batches.replace(job.project, body)
            await self._announce(job.project, body)
            return
        if body["status"] == "validating":
            total = {"total": len(requests), "completed": 0, "failed": 0}
            started = {**body, "status": "in_progress", "in_progress_at": int(time.time()), "request_counts": total}
            if not await self._batches.replace(job.project, started, while_status="validating"):
                await self._finish(job.project, await self.get(job.project, job.id), "cancelled", job.payload)
                return
        finished = await self._run_slice(job, requests)
        latest = await self.get(job.project, job.id)
        # The queue does not take back a batch whose cancellation was asked for elsewhere: it ends here then.
        if finished is None and latest["status"] == "in_progress" and await self._jobs.requeue(job.id):
            return
        await self._finish(job.project, latest, finished or "cancelled", job.payload)

    async def abandon(self, job: Job, reason: str, *, crashed: bool) -> None:
        """A batch whose worker stopped goes back to the queue: its outcomes so far are kept, and it goes on. One
        whose run raised is `failed` (run again, it would raise again)."""
        body = await self._batches.get(job.project, job.id)
        if body is None or body["status"] in _FINAL:
            return
        if not crashed:
            await self._jobs.requeue(job.id)
            return
        error = {"code": "server_error", "message": reason, "param": None, "line": None}
        failed = {
            **body,
            "status": "failed",
            "failed_at": int(time.time()),
            "errors": {"object": "list", "data": [error]},
        }
        await self._batches.replace(job.project, failed)
        await self._announce(job.project, failed)

    async def _run_slice(self, job: Job, requests: list[Request]) -> str | None:
        """Run requests for one slice; the batch's final status when it has no more, else None."""
        results = await self._batches.results(job.id)
        done = {line for line, _ok, _result in results}
        # Counted from the outcomes kept, which a restart between an outcome and its count cannot skew.
        completed = sum(1 for _line, ok, _result in results if ok)
        counts = {"total": len(requests), "completed": completed, "failed": len(results) - completed}
        started = time.monotonic()
        for request in requests:
            if request.line in done:
                continue
            # Read before each request: a cancellation (or the window's end) made meanwhile is seen at once.
            body = await self.get(job.project, job.id)
            if body["status"] != "in_progress" or time.monotonic() - started >= SLICE_SECONDS:
                return None
            if time.time() >= body["expires_at"]:
                return "expired"
            ok, result = await self._one(job.project, body["endpoint"], request)
            await self._batches.add_result(job.id, request.line, ok, result)
            counts["completed" if ok else "failed"] += 1
            body = await self.get(job.project, job.id)  # as it is now, after the request's seconds
            if not await self._batches.replace(
                job.project, {**body, "request_counts": counts}, while_status="in_progress"
            ):
                return None
        return "completed"

    async def _one(self, project: str, endpoint: str, request: Request) -> tuple[bool, dict[str, Any]]:
        refused = next((field for field in ("stream", "background") if request.body.get(field)), None)
        if refused is not None:
            status, answer = 400, _error(f"'{refused}' is not supported in a batch request.", refused)
        else:
            try:
                status, answer = await self._dispatch(endpoint, request.body, project)
            except Exception:
                # One request's crash is its own error line, not a batch retried forever.
                log.exception("a request of a batch failed")
                status, answer = 500, {"error": {"message": "The server had an error while processing this request.",
                                                 "type": "server_error", "param": None, "code": None}}  # fmt: skip
        response = {"status_code": status, "request_id": new_id("req"), "body": answer}
        line = {"id": new_id("batch_req"), "custom_id": request.custom_id, "response": response, "error": None}
        return 200 <= status < 300, line

    async def _finish(self, project: str, body: dict[str, Any], status: str, payload: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        body = {**body, "status": "finalizing", "finalizing_at": now}
        await self._batches.replace(project, body)
        results = await self._batches.results(body["id"])
        outputs = [result for _line, ok, result in results if ok]
        failures = [result for _line, ok, result in results if not ok]
        if status == "expired":
            kept = {line for line, _ok, _result in results}
            requests, _errors = await self._requests(project, body)
            failures += [_expired(request) for request in requests if request.line not in kept]
        expires = payload.get("output_expires_after")
        files = {
            "output_file_id": await self._file(project, body["id"], "output", outputs, expires),
            "error_file_id": await self._file(project, body["id"], "error", failures, expires),
        }
        body = {**body, **files, "status": status, f"{status}_at": now, "usage": _usage(outputs)}
        await self._batches.replace(project, body)
        await self._announce(project, body)
        return body

    async def _file(
        self, project: str, batch_id: str, kind: str, lines: list[dict[str, Any]], expires: int | None
    ) -> str | None:
        if not lines:
            return None
        staged = self._files.blobs.stage(self._files.max_bytes)
        staged.write("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode())
        file = await self._files.create(project, staged, f"{batch_id}_{kind}.jsonl", "batch_output", expires)
        return file.id

    async def _requests(self, project: str, body: dict[str, Any]) -> tuple[list[Request], list[dict[str, Any]]]:
        """The input file's requests, and every problem with its lines (each naming its line, from 1)."""
        _file, data = await self._files.read(project, body["input_file_id"], param="input_file_id")
        requests: list[Request] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        lines = [line for line in data.decode("utf-8", errors="replace").splitlines()]
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            problem = _check_line(text, body["endpoint"], seen, self._max_request_bytes)
            if isinstance(problem, Request):
                requests.append(Request(number, problem.custom_id, problem.body))
            else:
                errors.append({**problem, "line": number})
        if not requests and not errors:
            errors.append({"code": "empty_file", "message": "The input file has no requests.", "param": None,
                           "line": None})  # fmt: skip
        if len(requests) > MAX_REQUESTS:
            errors.append({"code": "too_many_requests", "message": f"A batch holds at most {MAX_REQUESTS} requests.",
                           "param": None, "line": None})  # fmt: skip
        return requests, errors

    async def _announce(self, project: str, body: dict[str, Any]) -> None:
        if self._webhooks is not None and body["status"] in _FINAL:
            await self._webhooks.notify(project, f"batch.{body['status']}", body["id"])


def _ending(body: dict[str, Any]) -> str:
    """The final status of a batch that was being cancelled or finalized when its run stopped."""
    if body.get("cancelling_at"):
        return "cancelled"
    return "expired" if time.time() >= body["expires_at"] else "completed"


def _check_line(text: str, endpoint: str, seen: set[str], max_bytes: int) -> Request | dict[str, Any]:
    """The line as a request, or what is wrong with it."""
    if len(text.encode()) > max_bytes:
        return _problem("request_too_large", f"The request is larger than the {max_bytes} bytes allowed.", None)
    try:
        entry = json.loads(text)
    except json.JSONDecodeError:
        return _problem("invalid_json_line", "The line is not valid JSON.", None)
    if not isinstance(entry, dict):
        return _problem("invalid_request", "The line is not a JSON object.", None)
    custom_id = entry.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return _problem("missing_required_parameter", "The request has no 'custom_id'.", "custom_id")
    if custom_id in seen:
        return _problem("duplicate_custom_id", f"The custom_id '{custom_id}' appears more than once.", "custom_id")
    seen.add(custom_id)
    if entry.get("method") != "POST":
        return _problem("invalid_method", "The request's 'method' must be 'POST'.", "method")
    if entry.get("url") != endpoint:
        return _problem("mismatched_url", f"The request's 'url' must be the batch's endpoint, '{endpoint}'.", "url")
    if not isinstance(entry.get("body"), dict):
        return _problem("invalid_body", "The request's 'body' must be a JSON object.", "body")
    if unknown := sorted(set(entry) - {"custom_id", "method", "url", "body"}):
        return _problem("unknown_parameter", f"Unknown field '{unknown[0]}'.", unknown[0])
    return Request(0, custom_id, entry["body"])


def _problem(code: str, message: str, param: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param}


def _error(message: str, param: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def _expired(request: Request) -> dict[str, Any]:
    error = {"code": "batch_expired", "message": "This request could not be run before the batch expired."}
    return {"id": new_id("batch_req"), "custom_id": request.custom_id, "response": None, "error": error}


def _usage(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Token totals over the successful requests, from each answer's own usage (Responses or Chat wording)."""
    prompt = completion = cached = 0
    for output in outputs:
        usage = (output["response"]["body"] or {}).get("usage") or {}
        prompt += usage.get("input_tokens", usage.get("prompt_tokens", 0)) or 0
        completion += usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0
        details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
        cached += details.get("cached_tokens", 0) or 0
    return {
        "input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached}, "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": prompt + completion,
    }  # fmt: skip

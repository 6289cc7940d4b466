"""The worker pool: claims jobs from the store's queue and runs each with the handler of its kind.

Any replica's pool may claim any job, so work survives the replica that accepted it. A claim is a lease the pool
renews while the job runs; renewing is also how a pool hears that a job's cancellation was asked for elsewhere. A
running job whose lease ran out was left by a pool that stopped: the handler is told (`abandon`) and the job is done.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Protocol

from homeport.background import BackgroundLoop
from homeport.store.jobs import Job, JobRepository

log = logging.getLogger("homeport.jobs")

POLL_SECONDS = 0.5
"""How often an idle pool looks for work queued by another replica (its own submissions wake it at once)."""


class Handler(Protocol):
    async def run(self, job: Job) -> None:
        """Do the job; cancelled (`asyncio.CancelledError`) when its cancellation is asked for."""

    async def abandon(self, job: Job, reason: str, *, crashed: bool) -> None:
        """The job's worker stopped (`crashed` False: a restart, a shutdown) or the handler raised (`crashed`
        True): leave what it was working on in a final state, or queue it again where it can go on."""


class WorkerPool:
    def __init__(self, jobs: JobRepository, handlers: Mapping[str, Handler], *, size: int, lease: float) -> None:
        self._jobs = jobs
        self._handlers = handlers
        self._size = size
        self._lease = lease
        self._id = "worker_" + secrets.token_hex(8)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        """Jobs whose task was cancelled: once only, so the task's own cleanup is not cut short by another."""
        self._wake = asyncio.Event()
        self._stopping = False
        self.loop = BackgroundLoop("homeport-workers", self._supervise)

    def wake(self) -> None:
        """Look for work now: a job was queued here, or one finished."""
        self._wake.set()

    def cancel(self, job_id: str) -> bool:
        """Stop a job this pool runs; whether it runs here."""
        task = self._running.get(job_id)
        if task is None:
            return False
        if job_id not in self._cancelled:
            self._cancelled.add(job_id)
            task.cancel()
        return True

    async def stop(self) -> None:
        """Claim nothing more, then stop the jobs running here (their handlers leave them to be taken up again)."""
        self._stopping = True
        await self.loop.stop()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _supervise(self) -> None:
        while True:
            try:
                await self._tend()
            except Exception:
                log.exception("the job pool failed to tend its jobs; it tries again in %.1f s", POLL_SECONDS)
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)

    async def _tend(self) -> None:
        for job in await self._jobs.abandoned(time.time()):
            if job.id not in self._running and await self._jobs.finish(job.id):
                log.warning("%s %s was left running by a stopped worker", job.kind, job.id)
                await self._handlers[job.kind].abandon(
                    job, "The server stopped while this was in progress.", crashed=False
                )
        while len(self._running) < self._size and not self._stopping:
            claimed = await self._jobs.claim(self._id, time.time() + self._lease)
            if claimed is None:
                break
            self._running[claimed.id] = asyncio.create_task(self._work(claimed), name=f"homeport-job-{claimed.id}")
        for job_id in await self._jobs.renew(self._id, list(self._running), time.time() + self._lease):
            self.cancel(job_id)

    async def _work(self, job: Job) -> None:
        handler = self._handlers[job.kind]
        try:
            await handler.run(job)
        except asyncio.CancelledError:
            if self._stopping:
                await handler.abandon(job, "The server shut down while this was in progress.", crashed=False)
        except Exception:
            if self._stopping:
                # What the shutdown closed under a run (the engine, the store) can surface as an error of its own.
                await handler.abandon(job, "The server shut down while this was in progress.", crashed=False)
            else:
                log.exception("%s %s failed", job.kind, job.id)
                await handler.abandon(job, "The server had an error while processing this.", crashed=True)
        finally:
            # A job its handler put back in the queue is not this worker's any more, and is not finished here.
            await self._jobs.finish(job.id, claimed_by=self._id)
            if self._running.get(job.id) is asyncio.current_task():
                del self._running[job.id]
                self._cancelled.discard(job.id)
            if not self._stopping:
                self.wake()

"""The expiry sweep: files past their `expires_at`, uploads past their hour and containers past their idle time are
deleted on a timer.

Expired objects are already invisible to every request (their services check `expires_at`), so the sweep only
reclaims disk and rows; its timing is not part of any API promise, and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging

from homeport.background import BackgroundLoop
from homeport.files.service import FileService
from homeport.sandbox.containers import ContainerService

log = logging.getLogger("homeport.jobs")

SWEEP_INTERVAL_SECONDS = 60.0


class Sweeper:
    def __init__(
        self, files: FileService, containers: ContainerService, interval: float = SWEEP_INTERVAL_SECONDS
    ) -> None:
        self._files = files
        self._containers = containers
        self._interval = interval
        self.loop = BackgroundLoop("homeport-sweeper", self._run)

    async def _run(self) -> None:
        while True:
            try:
                files = await self._files.sweep()
                containers = await self._containers.sweep()
            except Exception:
                log.exception("the expiry sweep failed; it runs again in %.0f s", self._interval)
            else:
                if files or containers:
                    log.info("expired %d files and %d containers", files, containers)
            await asyncio.sleep(self._interval)

"""Sandboxes for code_interpreter: one confined, stateful Python process per container.

    Sandbox.start(directory, limits)     bwrap (bubblewrap.py) around the kernel (kernel.py); files at /mnt/data
    Sandbox.execute(code, timeout=...)   one at a time; variables, imports and files persist between calls
    Sandbox.close()                      kills every process of the sandbox

A timeout or a crash kills the whole sandbox (its pid namespace) and starts a fresh process on the same directory:
files persist, variables do not, and the `Execution` says `restarted=True`. Nothing here ever runs user code
without bubblewrap: `probe()` says whether confinement works on this host, and `start` refuses when it does not.

How each limit holds (see `Limits`): address space, CPU time, processes, file size and open files are rlimits the
kernel sets on itself before the first request, so they bind the user's code and everything it spawns; /tmp and
/dev/shm are tmpfs capped at `file_bytes`. There is no cgroup, so the memory of many processes together, or CPU
shared between them, is bounded only by `processes` x these; the kernel runs at nice 10 so the server stays
responsive.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from homeport.sandbox import bubblewrap
from homeport.sandbox.process import NO_BWRAP, START_TIMEOUT, SandboxProcess, SandboxUnavailable

__all__ = ["Execution", "Limits", "Sandbox", "SandboxUnavailable", "probe"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use. Each is a hard rlimit of the kernel process, inherited by all it spawns."""

    memory_bytes: int = 1 << 30  # RLIMIT_AS per process: an allocation past it raises MemoryError
    cpu_seconds: int = 600  # RLIMIT_CPU per process lifetime: past it the process dies, the sandbox restarts
    processes: int = 64  # RLIMIT_NPROC, threads too: counted per sandbox (per user namespace), kernel included
    file_bytes: int = 512 << 20  # RLIMIT_FSIZE per file; also the size of /tmp and of /dev/shm
    open_files: int = 256  # RLIMIT_NOFILE

    def rlimits(self) -> dict[str, tuple[int, int]]:
        """(soft, hard) per rlimit. CPU's hard limit is a second later: at the soft one the kernel sends SIGXCPU,
        which the death report can name; at the hard one, SIGKILL."""
        return {
            "RLIMIT_CORE": (0, 0),
            "RLIMIT_AS": (self.memory_bytes, self.memory_bytes),
            "RLIMIT_CPU": (self.cpu_seconds, self.cpu_seconds + 1),
            "RLIMIT_NPROC": (self.processes, self.processes),
            "RLIMIT_FSIZE": (self.file_bytes, self.file_bytes),
            "RLIMIT_NOFILE": (self.open_files, self.open_files),
        }


@dataclass(frozen=True)
class Execution:
    """What one `execute` produced. `error` is None on success."""

    logs: str  # stdout and stderr in the order written (subprocesses' too), then the traceback if it raised
    images: list[bytes]  # PNGs of the matplotlib figures shown or left open, in order; all are closed after
    error: str | None  # "ZeroDivisionError: division by zero", "TimeoutError: ...", "The sandbox process died ..."
    restarted: bool  # the process was killed and started afresh before this returned: variables are gone


@functools.cache
def probe() -> str | None:
    """None if confined execution works here, else why not. Runs one real sandbox, once per process.

    It runs in a thread of its own with its own event loop, so the server may call it from inside its loop.
    """
    if not sys.platform.startswith("linux"):
        return "code execution needs Linux: sandboxes are made with bubblewrap and Linux namespaces"
    if shutil.which("bwrap") is None:
        return NO_BWRAP
    with ThreadPoolExecutor(1, thread_name_prefix="homeport-sandbox-probe") as pool:
        return pool.submit(asyncio.run, _check()).result()


_CHECK = "import os, socket\nprint(os.getuid(), [name for _, name in socket.if_nameindex()])"


async def _check() -> str | None:
    """Start a sandbox, and check from inside that it is who and where it should be."""
    with tempfile.TemporaryDirectory(prefix="homeport-probe-") as tmp:
        try:
            sandbox = await Sandbox._launch(Path(tmp), Limits())
        except SandboxUnavailable as exc:
            return str(exc)
        try:
            execution = await sandbox.execute(_CHECK, timeout=START_TIMEOUT)
        finally:
            await sandbox.close()
    uid = bubblewrap.drop_to()
    expected = f"{os.getuid() if uid is None else uid} ['lo']\n"
    if execution.error is not None or execution.logs != expected:
        return f"the sandbox is not confined as expected: {execution.error or execution.logs.strip()}"
    return None


class Sandbox:
    """One container's Python process; see the module docstring. Create with `await Sandbox.start(...)`."""

    def __init__(self, directory: Path, limits: Limits, process: SandboxProcess) -> None:
        """Private: use `start`."""
        self.directory = directory
        self.limits = limits
        self._process: SandboxProcess | None = process
        self._lock = asyncio.Lock()
        self._closed = False
        # Variables were lost since the last reply (a cancelled execution killed the process).
        self._lost = False

    @classmethod
    async def start(cls, directory: Path, limits: Limits) -> Sandbox:
        """Start a sandbox whose /mnt/data (and cwd) is `directory`; raises SandboxUnavailable with the reason."""
        reason = await asyncio.to_thread(probe)
        if reason is not None:
            raise SandboxUnavailable(reason)
        return await cls._launch(directory, limits)

    @classmethod
    async def _launch(cls, directory: Path, limits: Limits) -> Sandbox:
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory, limits, await _spawn(directory, limits))

    @property
    def alive(self) -> bool:
        return not self._closed and self._process is not None and self._process.process.returncode is None

    async def execute(self, code: str, *, timeout: float = 60.0) -> Execution:
        """Run `code` in the persistent namespace; one execution at a time per sandbox."""
        async with self._lock:
            if self._closed:
                raise SandboxUnavailable("the sandbox is closed")
            if self._process is None:  # an earlier restart failed, or a cancellation killed the process
                self._process = await _spawn(self.directory, self.limits)
            process = self._process
            try:
                reply = await asyncio.wait_for(process.run(code), timeout)
            except TimeoutError:
                return await self._restart(process, f"TimeoutError: Execution timed out after {timeout:g} s")
            except asyncio.CancelledError:
                # The code may still be running, and its reply would answer the next request: kill it now (all of
                # this is synchronous, so it happens even as the task unwinds). The next reply says restarted.
                process.kill()
                process.close()
                self._process, self._lost = None, True
                raise
            if self._closed:
                raise SandboxUnavailable("the sandbox was closed during the execution")
            if reply is None:
                return await self._restart(process, f"The sandbox process died ({await process.death()})")
            restarted, self._lost = self._lost, False
            return Execution(logs=process.logs(), images=reply[1], error=reply[0], restarted=restarted)

    async def _restart(self, process: SandboxProcess, error: str) -> Execution:
        """Kill `process` (its whole pid namespace) and start a fresh one on the same files."""
        self._process = None
        await process.stop()
        logs = process.logs()
        process.close()
        if self._closed:
            raise SandboxUnavailable("the sandbox was closed during the execution")
        try:
            fresh = await _spawn(self.directory, self.limits)
        except SandboxUnavailable:
            # Report what the user's code did; the next execute retries the start and raises if it still fails.
            logger.warning("sandbox %s did not restart", self.directory, exc_info=True)
        else:
            if self._closed:
                await fresh.stop()
                fresh.close()
                raise SandboxUnavailable("the sandbox was closed during the execution")
            self._process, self._lost = fresh, False
        return Execution(logs=logs, images=[], error=error, restarted=True)

    async def close(self) -> None:
        """Kill every process of the sandbox. The directory and its files stay."""
        self._closed = True
        process, self._process = self._process, None
        if process is not None:
            await process.stop()
            process.close()


async def _spawn(directory: Path, limits: Limits) -> SandboxProcess:
    return await SandboxProcess.spawn(directory, limits.rlimits(), limits.file_bytes)

"""One running sandbox process, seen from the host: spawn it, talk to it, read its output, kill all of it.

The three channels (see kernel.py): requests on the process's stdin, replies on a pipe of their own, and stdout and
stderr into one file that this side reads after each reply, and after a kill, so a timed-out execution still
returns what it printed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import json
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from homeport.sandbox import bubblewrap

logger = logging.getLogger(__name__)

LOG_LIMIT = 1 << 20  # bytes of output kept per execution: the first and last half
REPLY_LIMIT = 256 << 20  # one reply line (base64 PNGs); past it, the sandbox is broken and restarted
START_TIMEOUT = 30.0  # seconds for bwrap + interpreter + kernel to say ready
NO_BWRAP = "bubblewrap (bwrap) is not installed, so code cannot run confined here (apt-get install bubblewrap)"


class SandboxUnavailable(Exception):
    """Code cannot run here, or this sandbox is gone; the message says why, in words fit for the API caller."""


class SandboxProcess:
    """One running sandbox: the bwrap process, its pid namespace's init (as a pidfd), and three channels."""

    def __init__(self, process: asyncio.subprocess.Process, output: IO[bytes]) -> None:
        self.process = process
        self.output = output  # the sandbox's stdout and stderr: a file we read after each reply
        self.pidfd: int | None = None
        self.replies: asyncio.StreamReader | None = None
        self._transports: list[asyncio.BaseTransport] = []

    @classmethod
    async def spawn(cls, directory: Path, rlimits: Mapping[str, tuple[int, int]], tmp_bytes: int) -> SandboxProcess:
        """Start bwrap around the kernel on `directory` and wait for its ready line; SandboxUnavailable if not."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(NO_BWRAP)
        uid = bubblewrap.drop_to()
        try:
            bubblewrap.hand_over(directory, uid)
        except OSError as exc:
            raise SandboxUnavailable(f"the container directory cannot be given to the sandbox user: {exc}") from exc
        output = _output_file()
        info_r, info_w = os.pipe()
        reply_r, reply_w = os.pipe()
        block_r, block_w = os.pipe() if uid is not None else (None, None)
        seccomp_r = _pipe_with(bubblewrap.seccomp_filter())
        config = {"uid": uid, "gid": uid, "limits": dict(rlimits), "reply_fd": reply_w, "cwd": bubblewrap.DATA_DIR}
        argv = bubblewrap.command(
            bwrap, directory, info_fd=info_w, block_fd=block_r, seccomp_fd=seccomp_r, tmp_bytes=tmp_bytes,
            kernel_config=config,
        )  # fmt: skip
        theirs = [info_w, reply_w, block_r, seccomp_r]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=output, stderr=output, pass_fds=_present(theirs)
            )
        except BaseException:
            _close([info_r, reply_r, block_w])
            output.close()
            raise
        finally:
            _close(theirs)
        sandbox = cls(process, output)
        try:
            await asyncio.wait_for(sandbox._boot(info_r, reply_r, block_w), START_TIMEOUT)
        except BaseException:
            await asyncio.shield(sandbox.stop())
            sandbox.close()
            raise
        return sandbox

    async def _boot(self, info_r: int, reply_r: int, block_w: int | None) -> None:
        """Learn the sandbox's pid, write its id maps (root mode), let it run, and wait for the kernel's hello."""
        try:
            self.replies = await self._reader(reply_r, REPLY_LIMIT)
            info = await (await self._reader(info_r, 1 << 16)).read()
            try:
                pid = int(json.loads(info)["child-pid"])
            except (ValueError, KeyError, TypeError):
                raise SandboxUnavailable(f"bubblewrap could not start the sandbox: {await self._failure()}") from None
            # A pidfd, taken while the pid is surely the sandbox's (it waits for us): kill() can never hit a
            # recycled pid, and killing a pid namespace's init kills all of it.
            self.pidfd = os.pidfd_open(pid)
            if block_w is not None:
                bubblewrap.write_id_maps(pid)
                os.write(block_w, b"1")
        finally:
            if block_w is not None:
                os.close(block_w)
        if await self.replies.readline() != b'{"ready": true}\n':
            raise SandboxUnavailable(f"the sandbox did not start: {await self._failure()}")
        self.logs()  # drop anything printed while starting

    async def _reader(self, fd: int, limit: int) -> asyncio.StreamReader:
        reader = asyncio.StreamReader(limit=limit)
        loop = asyncio.get_running_loop()
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        self._transports.append(transport)
        return reader

    async def _failure(self) -> str:
        """Why the start failed: bwrap's or the kernel's last words, else the exit status."""
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            return "it did not answer"
        lines = [line for line in self.logs().splitlines() if line.strip()]
        return lines[-1].strip() if lines else self._status()

    async def run(self, code: str) -> tuple[str | None, list[bytes]] | None:
        """Send one request and wait for its reply: (error, images), or None if the kernel died or broke protocol."""
        assert self.process.stdin is not None and self.replies is not None
        try:
            self.process.stdin.write(json.dumps({"code": code}).encode() + b"\n")
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return None
        # The reply pipe's EOF can lag the kernel's death (forked children hold it), so watch the exit too.
        read = asyncio.ensure_future(self.replies.readline())
        exited = asyncio.ensure_future(self.process.wait())
        try:
            await asyncio.wait({read, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            read.cancel()
            exited.cancel()
        if not read.done() or read.cancelled() or read.exception() is not None:
            return None
        return _parse(read.result())

    def logs(self) -> str:
        """Everything the sandbox wrote since the last call (first and last LOG_LIMIT/2 bytes), then forget it."""
        if self.output.closed:
            return ""
        fd = self.output.fileno()
        size = os.fstat(fd).st_size
        if size <= LOG_LIMIT:
            data = os.pread(fd, size, 0)
        else:
            half = LOG_LIMIT // 2
            omitted = f"\n[... {size - 2 * half} bytes of output omitted ...]\n".encode()
            data = os.pread(fd, half, 0) + omitted + os.pread(fd, half, size - half)
        os.ftruncate(fd, 0)
        return data.decode("utf-8", "replace")

    async def death(self) -> str:
        """Why the kernel stopped answering, in words."""
        try:
            await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            return "it stopped answering correctly"
        return self._status()

    def _status(self) -> str:
        code = self.process.returncode
        if code is None or code <= 128:
            return f"exit status {code}"
        number = code - 128
        if number == signal.SIGXCPU:
            return "CPU time limit reached"
        if number == signal.SIGKILL:
            return "killed by SIGKILL: out of memory?"
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"exit status {code}"

    def kill(self) -> None:
        """SIGKILL the sandbox's init, which takes its whole pid namespace along, and bwrap itself."""
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass

    async def stop(self) -> None:
        """Kill, and return once every process of the sandbox is gone."""
        self.kill()
        await self.process.wait()
        if self.pidfd is not None:
            # bwrap may exit first; the init's pidfd turns readable only once the kernel has reaped the whole
            # namespace, so a close() caller never sees a straggler.
            await _readable(self.pidfd, timeout=5)

    def close(self) -> None:
        """Release our ends of the channels; call after stop()."""
        for transport in self._transports:
            transport.close()
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.output.close()


def _output_file() -> IO[bytes]:
    """An unnamed file for the sandbox's stdout and stderr, in append mode: every process of the sandbox writes
    at its end, and truncating it after a read rewinds them all."""
    output = tempfile.TemporaryFile()
    fcntl.fcntl(output.fileno(), fcntl.F_SETFL, fcntl.fcntl(output.fileno(), fcntl.F_GETFL) | os.O_APPEND)
    return output


def _present(fds: list[int | None]) -> list[int]:
    return [fd for fd in fds if fd is not None]


def _close(fds: list[int | None]) -> None:
    for fd in _present(fds):
        os.close(fd)


def _pipe_with(data: bytes | None) -> int | None:
    """A pipe's read end that yields `data` then EOF (it fits the pipe buffer: a few hundred bytes)."""
    if data is None:
        return None
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


async def _readable(fd: int, *, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout)
    except TimeoutError:
        logger.warning("a sandbox's processes outlived it by %s s", timeout)
    finally:
        loop.remove_reader(fd)


def _parse(line: bytes) -> tuple[str | None, list[bytes]] | None:
    """A reply, checked: the user's code controls the kernel, so anything malformed counts as a broken sandbox."""
    try:
        reply: Any = json.loads(line)
        error, images = reply["error"], reply["images"]
        if (error is not None and not isinstance(error, str)) or not isinstance(images, list):
            return None
        return error, [base64.b64decode(image, validate=True) for image in images]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None

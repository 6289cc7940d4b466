"""Containers: create, read, delete, expire, and the files in their `/mnt/data`.

A container is a directory under the data dir (bound at `/mnt/data` inside the sandbox) plus its metadata in the
store. Expiry is judged when a container is read (so an expired container is never used, whatever the sweep's
timing) and carried out there or by the sweep: its files are deleted, its metadata stays with `status: expired`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from anyio import to_thread

from homeport.errors import InvalidRequest, NotFound
from homeport.files.blobs import StagedBlob
from homeport.files.service import FileService, clean_filename
from homeport.ids import new_id
from homeport.sandbox.bubblewrap import drop_to, hand_over
from homeport.sandbox.runtime import Execution, Limits, Sandbox, SandboxUnavailable, probe
from homeport.store.containers import ContainerRepository, StoredContainer, StoredContainerFile

MEMORY_LIMITS = {"1g": 1 << 30, "4g": 4 << 30, "16g": 16 << 30, "64g": 64 << 30}
DEFAULT_MINUTES = 20
MOUNT = "/mnt/data"


def container_object(container: StoredContainer) -> dict[str, Any]:
    """The wire `Container`."""
    return {
        "id": container.id,
        "object": "container",
        "created_at": container.created_at,
        "name": container.name,
        "status": container.status,
        "expires_after": {"anchor": "last_active_at", "minutes": container.expires_after_minutes},
        "last_active_at": container.last_active_at,
        "memory_limit": container.memory_limit,
    }


def container_file_object(file: StoredContainerFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "object": "container.file",
        "container_id": file.container_id,
        "created_at": file.created_at,
        "bytes": file.bytes,
        "path": file.path,
        "source": file.source,
    }


def open_inside(directory: Path, relative: str) -> BinaryIO:
    """A regular file under `directory`, opened without following any symlink on the way.

    The directory is written by user code, which can plant a symlink (to /etc/shadow, say) or swap a parent
    directory for one between a listing and a read: every component is opened with O_NOFOLLOW from the one before,
    and only a regular file is returned."""
    parts = [part for part in relative.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise NotFound("No such file in the container.", param="file_id")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    current = os.open(directory, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            parent, current = current, os.open(part, flags | os.O_DIRECTORY, dir_fd=current)
            os.close(parent)
        descriptor = os.open(parts[-1], flags, dir_fd=current)
    except OSError as exc:
        raise NotFound("No such file in the container.", param="file_id") from exc
    finally:
        os.close(current)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise NotFound("No such file in the container.", param="file_id")
    return os.fdopen(descriptor, "rb")


def _listing(directory: Path) -> dict[Path, tuple[int, int]]:
    """Every regular file under the directory (symlinks are neither followed nor listed), with what tells a rewrite
    apart: size and modification time."""
    found = {}
    for root, _dirs, names, root_fd in os.fwalk(directory, follow_symlinks=False):
        for name in names:
            info = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode):
                found[Path(root) / name] = (info.st_size, info.st_mtime_ns)
    return found


def _expired(container: StoredContainer, now: float) -> bool:
    return container.status == "running" and container.last_active_at + container.expires_after_minutes * 60 <= now


class ContainerService:
    def __init__(self, repository: ContainerRepository, files: FileService, root: Path) -> None:
        self._containers = repository
        self._files = files
        self._root = root
        root.mkdir(parents=True, exist_ok=True)
        self._sandboxes: dict[str, Sandbox] = {}
        """The running process of each container that has run code: memory only, as a process must be."""

    async def execute(
        self, container: StoredContainer, code: str, timeout: float
    ) -> tuple[Execution, list[StoredContainerFile]]:
        """Run code in the container's process (started on first use), and record the files it wrote or changed."""
        reason = await to_thread.run_sync(probe)
        if reason is not None:
            raise SandboxUnavailable(reason)
        sandbox = self._sandboxes.get(container.id)
        if sandbox is None or not sandbox.alive:
            limits = Limits(memory_bytes=MEMORY_LIMITS[container.memory_limit])
            sandbox = await Sandbox.start(self.directory(container.id), limits)
            self._sandboxes[container.id] = sandbox
        before = _listing(self.directory(container.id))
        execution = await sandbox.execute(code, timeout=timeout)
        after = _listing(self.directory(container.id))
        written = [
            await self._record(container, path, "assistant")
            for path, stamp in after.items()
            if before.get(path) != stamp
        ]
        gone = {
            f"{MOUNT}/{path.relative_to(self.directory(container.id)).as_posix()}"
            for path in before
            if path not in after
        }
        if gone:
            known = await self._containers.files(container.id)
            await self._containers.remove_files(container.id, [file.id for file in known if file.path in gone])
        container.last_active_at = int(time.time())
        await self._containers.touch(container.id, container.last_active_at)
        return execution, written

    async def close(self) -> None:
        """Stop every container process (the server is shutting down; files and metadata stay)."""
        for sandbox in self._sandboxes.values():
            await sandbox.close()
        self._sandboxes.clear()

    async def _stop(self, container_id: str) -> None:
        sandbox = self._sandboxes.pop(container_id, None)
        if sandbox is not None:
            await sandbox.close()

    def directory(self, container_id: str) -> Path:
        """The host directory that the container sees as /mnt/data."""
        return self._root / container_id

    async def check_file_ids(self, project: str, file_ids: list[str], param: str) -> list[str]:
        """The files' names; 404 naming the first of `file_ids` that is not a file of the project."""
        known = await self._files.known(project, file_ids)
        for index, file_id in enumerate(file_ids):
            if file_id not in known:
                raise NotFound(f"No such File object: {file_id}", param=f"{param}[{index}]")
        return [known[file_id].filename for file_id in file_ids]

    async def create(
        self, project: str, name: str, minutes: int, memory_limit: str, file_ids: list[str]
    ) -> StoredContainer:
        await self.check_file_ids(project, file_ids, "file_ids")
        now = int(time.time())
        container = StoredContainer(new_id("cntr"), project, now, name, "running", minutes, now, memory_limit)
        self.directory(container.id).mkdir()
        try:
            await self._containers.add(container)
            for file_id in file_ids:
                await self.copy_file(container, file_id)
        except BaseException:
            await self._containers.delete(container.id)
            shutil.rmtree(self.directory(container.id), ignore_errors=True)
            raise
        return container

    async def get(self, project: str, container_id: str, param: str = "container_id") -> StoredContainer:
        container = await self._containers.get(project, container_id)
        if container is None:
            raise NotFound(f"No container found with id '{container_id}'.", param=param)
        if _expired(container, time.time()):
            await self._expire(container)
            container = replace(container, status="expired")
        return container

    async def usable(self, project: str, container_id: str, param: str = "container_id") -> StoredContainer:
        """A container that can take files and run code; using it counts as activity."""
        container = await self.get(project, container_id, param)
        if container.status != "running":
            raise InvalidRequest(
                f"Container {container_id} has expired; create a new container and upload its files again.",
                param=param,
            )
        container.last_active_at = int(time.time())
        await self._containers.touch(container.id, container.last_active_at)
        return container

    async def in_project(self, project: str) -> list[StoredContainer]:
        now = time.time()
        containers = await self._containers.in_project(project)
        for index, container in enumerate(containers):
            if _expired(container, now):
                await self._expire(container)
                containers[index] = replace(container, status="expired")
        return containers

    async def delete(self, project: str, container_id: str) -> None:
        container = await self.get(project, container_id)
        await self._stop(container.id)
        await self._containers.delete(container.id)
        shutil.rmtree(self.directory(container.id), ignore_errors=True)

    async def sweep(self) -> int:
        """Expire every running container past its time; returns how many."""
        now = time.time()
        expired = [container for container in await self._containers.running() if _expired(container, now)]
        for container in expired:
            await self._expire(container)
        return len(expired)

    async def _expire(self, container: StoredContainer) -> None:
        await self._stop(container.id)
        shutil.rmtree(self.directory(container.id), ignore_errors=True)
        await self._containers.expire(container.id)

    async def add_upload(self, container: StoredContainer, staged: StagedBlob, filename: str) -> StoredContainerFile:
        path = self._host_path(container, filename)
        staged.close()
        # os.replace swaps a planted symlink itself for the file: nothing is written through it.
        os.replace(staged.path, path)
        hand_over(path, drop_to())
        return await self._record(container, path, "user")

    async def copy_file(self, container: StoredContainer, file_id: str, param: str = "file_id") -> StoredContainerFile:
        stored, data = await self._files.read(container.project, file_id, param=param)
        staged = self._files.blobs.stage(self._files.max_bytes)
        staged.write(data)
        return await self.add_upload(container, staged, stored.filename)

    async def files(self, container: StoredContainer) -> list[StoredContainerFile]:
        return await self._containers.files(container.id)

    async def file(self, container: StoredContainer, file_id: str) -> StoredContainerFile:
        for file in await self._containers.files(container.id):
            if file.id == file_id:
                return file
        raise NotFound(f"No file found with id '{file_id}' in container '{container.id}'.", param="file_id")

    def open(self, file: StoredContainerFile) -> BinaryIO:
        """The file's bytes, read without following a symlink the container's code may have planted."""
        return open_inside(self.directory(file.container_id), file.path.removeprefix(MOUNT + "/"))

    async def delete_file(self, container: StoredContainer, file_id: str) -> None:
        file = await self.file(container, file_id)
        # unlink removes a symlink itself, never its target.
        (self.directory(container.id) / file.path.removeprefix(MOUNT + "/")).unlink(missing_ok=True)
        await self._containers.remove_files(container.id, [file.id])

    def _host_path(self, container: StoredContainer, filename: str) -> Path:
        return self.directory(container.id) / clean_filename(filename)

    async def _record(self, container: StoredContainer, path: Path, source: str) -> StoredContainerFile:
        relative = path.relative_to(self.directory(container.id)).as_posix()
        with open_inside(self.directory(container.id), relative) as opened:
            size = os.fstat(opened.fileno()).st_size
        file = StoredContainerFile(
            id="cfile_" + secrets.token_hex(16),
            container_id=container.id,
            created_at=int(time.time()),
            path=f"{MOUNT}/{relative}",
            bytes=size,
            source=source,
        )
        await self._containers.put_files([file])
        return file

"""Files and multi-part uploads: create, read, delete, expire; bytes through `BlobStore`, metadata in the store.

Every create writes the bytes first and the row second, and removes the bytes if the row cannot be written, so
the store never names a file whose bytes are missing and a failure leaves nothing behind.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from homeport.errors import InvalidRequest, NotFound
from homeport.files.blobs import BlobStore, StagedBlob
from homeport.files.remote import FetchPolicy
from homeport.ids import new_id
from homeport.outbound import OutboundPolicy
from homeport.store.files import FileRepository, StoredFile, StoredPart, StoredUpload

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_EXPIRY_SECONDS = 30 * 86400
UPLOAD_LIFETIME_SECONDS = 3600
MAX_PART_BYTES = 64 * 2**20
_ALPHANUMERIC = string.ascii_letters + string.digits

FileHook = Callable[[str, str], Awaitable[None]]
"""Called with (project, file_id) before a file is deleted, so whatever uses it can let go first."""


def new_file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(22))


def file_object(file: StoredFile) -> dict[str, Any]:
    """The wire `FileObject`."""
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": file.created_at,
        "expires_at": file.expires_at,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "status_details": None,
    }


def check_purpose(purpose: str | None) -> str:
    if purpose not in PURPOSES:
        raise InvalidRequest(
            f"Invalid value for 'purpose': {purpose!r}. Supported values are: {', '.join(PURPOSES)}.", param="purpose"
        )
    return purpose


def expiry_seconds(anchor: str | None, seconds: str | int | None, purpose: str, param: str) -> int | None:
    """A file's lifetime from its `expires_after`, or the default (30 days for batch files, else forever)."""
    if anchor is None and seconds is None:
        return BATCH_EXPIRY_SECONDS if purpose == "batch" else None
    if anchor != "created_at":
        raise InvalidRequest("expires_after.anchor must be 'created_at'.", param=f"{param}.anchor")
    try:
        value = int(seconds)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidRequest("expires_after.seconds must be an integer.", param=f"{param}.seconds") from None
    if not 3600 <= value <= 2592000:
        raise InvalidRequest(
            "expires_after.seconds must be between 3600 (1 hour) and 2592000 (30 days).", param=f"{param}.seconds"
        )
    return value


def clean_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise InvalidRequest("The uploaded file needs a filename.", param="file")
    return name[:512]


class FileService:
    def __init__(
        self, repository: FileRepository, blobs: BlobStore, *, max_bytes: int, remote: FetchPolicy | None = None
    ) -> None:
        self._files = repository
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.remote = remote or FetchPolicy(enabled=False, outbound=OutboundPolicy(), max_bytes=max_bytes)
        self.before_delete: list[FileHook] = []

    async def create(
        self, project: str, staged: StagedBlob, filename: str, purpose: str, expires_after: int | None
    ) -> StoredFile:
        now = int(time.time())
        file = StoredFile(
            id=new_file_id(),
            project=project,
            created_at=now,
            filename=clean_filename(filename),
            purpose=purpose,
            bytes=staged.size,
            expires_at=None if expires_after is None else now + expires_after,
        )
        self.blobs.keep(staged, file.id)
        try:
            await self._files.add(file)
        except BaseException:
            self.blobs.remove(file.id)
            raise
        return file

    async def get(self, project: str, file_id: str, param: str = "file_id") -> StoredFile:
        file = await self._files.get(project, file_id)
        if file is None or _expired(file):
            raise NotFound(f"No such File object: {file_id}", param=param)
        return file

    async def in_project(self, project: str, purpose: str | None) -> list[StoredFile]:
        return [file for file in await self._files.in_project(project, purpose) if not _expired(file)]

    async def known(self, project: str, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        """The files among `file_ids` that exist (and have not expired) in the project."""
        found = await self._files.get_many(project, file_ids)
        return {file_id: file for file_id, file in found.items() if not _expired(file)}

    async def content(self, project: str, file_id: str) -> tuple[StoredFile, Iterator[bytes]]:
        file = await self.get(project, file_id)
        return file, self.blobs.chunks(file.id)

    async def read(self, project: str, file_id: str, param: str = "file_id") -> tuple[StoredFile, bytes]:
        file = await self.get(project, file_id, param)
        return file, self.blobs.read(file.id)

    async def delete(self, project: str, file_id: str) -> None:
        await self._remove(await self.get(project, file_id))

    async def _remove(self, file: StoredFile) -> None:
        for hook in self.before_delete:
            await hook(file.project, file.id)
        await self._files.delete(file.project, file.id)
        self.blobs.remove(file.id)

    async def sweep(self) -> int:
        """Delete expired files and abandoned uploads; returns how many files went."""
        now = int(time.time())
        expired = await self._files.expired(now)
        for file in expired:
            await self._remove(file)
        for upload in await self._files.stale_uploads(now):
            await self._drop_parts(upload)
            await self._files.finish_upload(replace(upload, status="expired"), None)
        return len(expired)

    async def create_upload(
        self, project: str, filename: str, purpose: str, mime_type: str, size: int, expires_after: int | None
    ) -> StoredUpload:
        if size > self.max_bytes:
            raise InvalidRequest(f"An upload can hold at most {self.max_bytes} bytes.", param="bytes")
        now = int(time.time())
        upload = StoredUpload(
            id=new_id("upload"),
            project=project,
            created_at=now,
            expires_at=now + UPLOAD_LIFETIME_SECONDS,
            filename=clean_filename(filename),
            purpose=purpose,
            mime_type=mime_type,
            bytes=size,
            status="pending",
            file_expires_after=expires_after,
            file_id=None,
        )
        await self._files.add_upload(upload)
        return upload

    async def upload(self, project: str, upload_id: str) -> tuple[StoredUpload, StoredFile | None]:
        upload = await self._files.get_upload(project, upload_id)
        if upload is None:
            raise NotFound(f"No such Upload object: {upload_id}", param="upload_id")
        if upload.status == "pending" and upload.expires_at <= time.time():
            upload = replace(upload, status="expired")
        file = None if upload.file_id is None else await self._files.get(project, upload.file_id)
        return upload, file

    async def pending_upload(self, project: str, upload_id: str) -> StoredUpload:
        upload, _ = await self.upload(project, upload_id)
        if upload.status != "pending":
            raise InvalidRequest(f"Upload {upload_id} is {upload.status}; it takes no more changes.", param="upload_id")
        return upload

    async def add_part(self, upload: StoredUpload, staged: StagedBlob) -> StoredPart:
        part = StoredPart(new_id("part"), upload.id, int(time.time()), staged.size)
        self.blobs.keep(staged, part.id)
        try:
            await self._files.add_part(part)
        except BaseException:
            self.blobs.remove(part.id)
            raise
        return part

    async def complete_upload(
        self, upload: StoredUpload, part_ids: list[str], md5: str | None
    ) -> tuple[StoredUpload, StoredFile]:
        parts = await self._files.parts(upload.id)
        for index, part_id in enumerate(part_ids):
            if part_id not in parts:
                raise InvalidRequest(f"No part {part_id} in upload {upload.id}.", param=f"part_ids[{index}]")
        if len(set(part_ids)) != len(part_ids):
            raise InvalidRequest("part_ids lists a part more than once.", param="part_ids")
        total = sum(parts[part_id].bytes for part_id in part_ids)
        if total != upload.bytes:
            raise InvalidRequest(
                f"The parts hold {total} bytes but the upload was created for {upload.bytes}.", param="part_ids"
            )
        staged = self.blobs.join(part_ids, self.max_bytes)
        if md5 is not None and staged.md5 != md5.lower():
            staged.discard()
            raise InvalidRequest("The md5 checksum does not match the uploaded bytes.", param="md5")
        now = int(time.time())
        expires = upload.file_expires_after
        file = StoredFile(
            new_file_id(),
            upload.project,
            now,
            upload.filename,
            upload.purpose,
            total,
            None if expires is None else now + expires,
        )
        self.blobs.keep(staged, file.id)
        completed = replace(upload, status="completed", file_id=file.id)
        try:
            await self._files.finish_upload(completed, file)
        except BaseException:
            self.blobs.remove(file.id)
            raise
        for part_id in parts:
            self.blobs.remove(part_id)
        return completed, file

    async def cancel_upload(self, upload: StoredUpload) -> StoredUpload:
        cancelled = replace(upload, status="cancelled")
        await self._drop_parts(upload)
        await self._files.finish_upload(cancelled, None)
        return cancelled

    async def _drop_parts(self, upload: StoredUpload) -> None:
        for part_id in await self._files.parts(upload.id):
            self.blobs.remove(part_id)


def upload_object(upload: StoredUpload, file: StoredFile | None) -> dict[str, Any]:
    return {
        "id": upload.id,
        "object": "upload",
        "bytes": upload.bytes,
        "created_at": upload.created_at,
        "expires_at": upload.expires_at,
        "filename": upload.filename,
        "purpose": upload.purpose,
        "status": upload.status,
        "file": None if file is None else file_object(file),
    }


def _expired(file: StoredFile) -> bool:
    return file.expires_at is not None and file.expires_at <= time.time()

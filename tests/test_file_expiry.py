"""Expiry: an expired file is gone for every request at once, and the sweep reclaims its bytes and its row."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from homeport.errors import NotFound
from homeport.files.blobs import BlobStore
from homeport.files.service import FileService
from homeport.store import Database, FileRepository


async def test_sweep_removes_expired_files_and_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'homeport.db'}")
    try:
        files = FileService(FileRepository(database), BlobStore(tmp_path / "files"), max_bytes=1024)
        forgotten: list[str] = []

        async def remember(project: str, file_id: str) -> None:
            forgotten.append(file_id)

        files.before_delete.append(remember)
        staged = files.blobs.stage(1024)
        staged.write(b"short-lived")
        short = await files.create("p", staged, "a.txt", "user_data", expires_after=3600)
        staged = files.blobs.stage(1024)
        staged.write(b"kept")
        kept = await files.create("p", staged, "b.txt", "user_data", expires_after=None)
        upload = await files.create_upload("p", "c.bin", "user_data", "text/plain", 10, None)
        staged = files.blobs.stage(1024)
        staged.write(b"12345")
        part = await files.add_part(upload, staged)

        later = time.time() + 3601
        monkeypatch.setattr("homeport.files.service.time.time", lambda: later)
        with pytest.raises(NotFound):
            await files.get("p", short.id)
        assert [file.id for file in await files.in_project("p", None)] == [kept.id]
        assert await files.sweep() == 1
        assert forgotten == [short.id]
        assert not files.blobs.path(short.id).exists() and files.blobs.path(kept.id).exists()
        assert not files.blobs.path(part.id).exists()
        assert (await files.upload("p", upload.id))[0].status == "expired"
    finally:
        await database.close()

"""File bytes on disk, one file per id, written through a temporary name so a crash never leaves half a file
under a real id. The store holds the metadata; nothing here knows about projects or purposes."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from homeport.errors import PayloadTooLarge

_COPY_CHUNK = 1 << 20


class StagedBlob:
    """Bytes being received: counted against a limit as they arrive, then kept under an id or thrown away."""

    def __init__(self, path: Path, limit: int, param: str) -> None:
        self.path = path
        self.size = 0
        self._limit = limit
        self._param = param
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._out: BinaryIO | None = path.open("wb")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            self.discard()
            raise PayloadTooLarge(
                f"The file is larger than the {self._limit} bytes allowed.", param=self._param, code="file_too_large"
            )
        self._md5.update(data)
        assert self._out is not None
        self._out.write(data)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def close(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = root / ".staging"
        self._staging.mkdir(parents=True, exist_ok=True)

    def stage(self, limit: int, param: str = "file") -> StagedBlob:
        return StagedBlob(self._staging / secrets.token_hex(16), limit, param)

    def keep(self, staged: StagedBlob, name: str) -> None:
        """Give staged bytes their name; atomic on one filesystem."""
        staged.close()
        os.replace(staged.path, self.path(name))

    def join(self, names: Sequence[str], limit: int) -> StagedBlob:
        """Concatenate stored blobs, in order, into a new staged blob (for multi-part uploads)."""
        staged = self.stage(limit)
        try:
            for name in names:
                with self.path(name).open("rb") as part:
                    while data := part.read(_COPY_CHUNK):
                        staged.write(data)
        except BaseException:
            staged.discard()
            raise
        staged.close()
        return staged

    def path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a blob name: {name!r}")
        return self.root / name

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def chunks(self, name: str) -> Iterator[bytes]:
        with self.path(name).open("rb") as blob:
            while data := blob.read(_COPY_CHUNK):
                yield data

    def remove(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

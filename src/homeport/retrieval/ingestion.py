"""The ingestion worker: turns attached files into searchable chunks, in the background, one file at a time.

Work is found in the store (every vector-store file still `in_progress`), not in a memory queue, so a restart
picks up exactly where the last process stopped. Parsing, chunking and embedding are CPU work and run in a worker
thread; the event loop only waits. A file's chunks reach the index before its status says `completed`, and a file
cancelled or removed while it was being embedded has its chunks taken back out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from anyio import to_thread

from homeport.background import BackgroundLoop
from homeport.files.blobs import BlobStore
from homeport.retrieval.chunking import chunk_document
from homeport.retrieval.embedder import Embedder
from homeport.retrieval.index import VectorIndex
from homeport.retrieval.parsing import UnreadableFile, parse_document
from homeport.store.vector_stores import PendingFile, StoredVectorStoreFile, VectorStoreRepository

log = logging.getLogger("homeport.ingestion")


class Ingestor:
    def __init__(
        self, repository: VectorStoreRepository, blobs: BlobStore, index: VectorIndex, embedder: Embedder
    ) -> None:
        self._stores = repository
        self._blobs = blobs
        self._index = index
        self._embedder = embedder
        self._wake = asyncio.Event()
        self.loop = BackgroundLoop("homeport-ingestion", self._run)

    def wake(self) -> None:
        """New work was recorded in the store."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            for pending in await self._stores.pending():
                await self._ingest(pending)
            await self._wake.wait()

    async def _ingest(self, pending: PendingFile) -> None:
        file = pending.file
        try:
            usage = await to_thread.run_sync(self._index_file, file, pending.filename)
        except UnreadableFile as exc:
            finished = replace(file, status="failed", last_error={"code": exc.code, "message": str(exc)})
        except FileNotFoundError:
            message = "The file was deleted before it could be processed."
            finished = replace(file, status="failed", last_error={"code": "invalid_file", "message": message})
        except Exception:
            log.exception("ingesting %s into %s failed", file.file_id, file.vector_store_id)
            message = "The file could not be processed."
            finished = replace(file, status="failed", last_error={"code": "server_error", "message": message})
        else:
            finished = replace(file, status="completed", usage_bytes=usage)
        if not await self._stores.finish_file(finished) or finished.status != "completed":
            await to_thread.run_sync(self._index.remove_file, file.vector_store_id, file.file_id)

    def _index_file(self, file: StoredVectorStoreFile, filename: str) -> int:
        """Parse, chunk, embed and index one file; returns the bytes it now uses in the index."""
        document = parse_document(self._blobs.read(file.file_id), filename)
        chunks = chunk_document(
            document,
            self._embedder.tokenizer,
            max_tokens=file.max_chunk_size_tokens,
            overlap_tokens=file.chunk_overlap_tokens,
        )
        if not chunks:
            raise UnreadableFile("No text could be extracted from the file.")
        texts = [chunk.text for chunk in chunks]
        vectors = self._embedder.embed(texts)
        self._index.add_file(file.vector_store_id, file.file_id, texts, vectors)
        return sum(len(text.encode()) for text in texts) + int(vectors.nbytes)

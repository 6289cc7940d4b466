"""Reading a multipart/form-data upload as it streams in.

Starlette's form parser spools a file whole before the endpoint sees it, so a 10 GB body would be written out
before its size could be refused. Here the one file part goes straight into a `StagedBlob`, which counts bytes
and stops at the limit; the small text fields are kept in memory, each capped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from homeport.errors import InvalidRequest, PayloadTooLarge
from homeport.files.blobs import BlobStore, StagedBlob

_FIELD_LIMIT = 64 * 1024


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    text: bytearray = field(default_factory=bytearray)
    blob: StagedBlob | None = None


@dataclass
class Form:
    """The text fields of a form and its one file, staged on disk."""

    fields: dict[str, str]
    file: StagedBlob | None
    filename: str | None
    content_type: str | None

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()

    def only_fields(self, allowed: set[str]) -> None:
        """A 400 naming the first text field not in `allowed` (the staged file is thrown away with it)."""
        for name in self.fields:
            if name not in allowed:
                self.discard()
                raise InvalidRequest(f"Unrecognized request argument supplied: {name}", param=name)


class _Collector:
    """The parser's callbacks: routes each part's bytes to memory (fields) or to the staged blob (the file)."""

    def __init__(self, blobs: BlobStore, file_field: str, limit: int) -> None:
        self._blobs = blobs
        self._file_field = file_field
        self._limit = limit
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self.part = _Part()
        self.parts: list[_Part] = []

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": lambda: self.parts.append(self.part),
        }

    def _begin(self) -> None:
        self.part = _Part()
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = self._header_value.decode("utf-8", "replace")
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
            self.part.content_type = self._headers.get("content-type", self.part.content_type)
        if self.part.name == self._file_field and self.part.filename is not None:
            if any(part.blob is not None for part in self.parts):
                raise InvalidRequest(f"Send one '{self._file_field}' part.", param=self._file_field)
            self.part.blob = self._blobs.stage(self._limit, param=self._file_field)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.part.blob is not None:
            self.part.blob.write(data[start:end])
            return
        self.part.text.extend(data[start:end])
        if len(self.part.text) > _FIELD_LIMIT:
            raise PayloadTooLarge(f"The form field '{self.part.name}' is too long.", param=self.part.name)


async def read_form(request: Request, *, blobs: BlobStore, file_field: str, limit: int) -> Form:
    """Parse the request's multipart body; the caller owns (and must keep or discard) the staged file."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise InvalidRequest("Send this request as multipart/form-data.", code="invalid_content_type")
    collector = _Collector(blobs, file_field, limit)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        for part in [*collector.parts, collector.part]:
            if part.blob is not None:
                part.blob.discard()
        raise
    fields: dict[str, str] = {}
    upload: _Part | None = None
    for part in collector.parts:
        if part.blob is not None:
            upload = part
        elif part.name:
            fields[part.name] = part.text.decode("utf-8", "replace")
    if upload is None or upload.blob is None:
        return Form(fields, None, None, None)
    upload.blob.close()
    return Form(fields, upload.blob, upload.filename, upload.content_type)

"""`input_file` content: the whole document, as text, in the model's input (file search is the other way in).

The stored item keeps what the client sent (`file_id`, or `file_data` with its `filename`); the text is extracted
when a turn is assembled, so a chained request reads the document again rather than a copy frozen in the item.
Extraction is CPU work on the client's bytes and runs in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

from anyio import to_thread

from homeport.errors import HomeportError, InvalidRequest
from homeport.files.remote import fetch
from homeport.files.service import FileService
from homeport.retrieval.parsing import UnreadableFile, model_text, parse_document

Documents = dict[str, str]
"""Extracted text by `document_key`."""


def document_key(part: dict[str, Any]) -> str:
    if part.get("file_id"):
        return str(part["file_id"])
    if part.get("file_url"):
        return "url:" + str(part["file_url"])
    return "data:" + hashlib.sha256(str(part.get("file_data", "")).encode()).hexdigest()


def check_file_part(part: dict[str, Any], where: str) -> None:
    """An `input_file` names its document exactly one way; inline data needs a filename (it says the type)."""
    given = [key for key in ("file_id", "file_data", "file_url") if part.get(key)]
    if len(given) != 1:
        raise InvalidRequest("An 'input_file' needs exactly one of 'file_id', 'file_data' and 'file_url'.", param=where)
    if given[0] == "file_data" and not part.get("filename"):
        raise InvalidRequest("An 'input_file' with 'file_data' needs a 'filename'.", param=f"{where}.filename")


def item_file_parts(items: Sequence[dict[str, Any]], param: str) -> list[tuple[str, dict[str, Any]]]:
    """The `input_file` parts of Responses items, each with where it is (`input[2].content[0]`)."""
    found = []
    for index, item in enumerate(items):
        for position, part in enumerate(item.get("content", []) if item.get("type") == "message" else []):
            if isinstance(part, dict) and part.get("type") == "input_file":
                found.append((f"{param}[{index}].content[{position}]", part))
    return found


async def read_documents(
    files: FileService, project: str, parts: Sequence[tuple[str, dict[str, Any]]], *, strict: bool
) -> Documents:
    """The text of every document named by `parts` ((where, part) pairs). With `strict`, an unreadable one is a
    400 at its place; otherwise (history: a file since deleted, say) the model is told it is unavailable."""
    documents: Documents = {}
    for where, part in parts:
        key = document_key(part)
        if key in documents:
            continue
        try:
            documents[key] = await _read(files, project, part, where)
        except HomeportError:
            if strict:
                raise
            documents[key] = f"[The file {part.get('filename') or key} is no longer available.]"
    return documents


async def _read(files: FileService, project: str, part: dict[str, Any], where: str) -> str:
    if part.get("file_id"):
        stored, data = await files.read(project, part["file_id"], param=f"{where}.file_id")
        filename = stored.filename
    elif part.get("file_url"):
        fetched = await fetch(str(part["file_url"]), files.remote, f"{where}.file_url")
        filename, data = str(part.get("filename") or fetched.filename), fetched.data
    else:
        filename = str(part.get("filename"))
        data = _inline_bytes(str(part["file_data"]), f"{where}.file_data")
    try:
        document = await to_thread.run_sync(parse_document, data, filename)
    except UnreadableFile as exc:
        raise InvalidRequest(f"The file {filename} could not be read: {exc}", param=where) from exc
    return model_text(document, filename)


def _inline_bytes(file_data: str, where: str) -> bytes:
    """`file_data` is base64, bare or as a data URL (`data:application/pdf;base64,…`)."""
    encoded = file_data.split(",", 1)[1] if file_data.startswith("data:") else file_data
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("'file_data' is not valid base64.", param=where) from exc

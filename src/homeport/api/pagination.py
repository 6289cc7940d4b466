"""Cursor pagination (`after`, `before`, `limit`, `order`) and the list envelope OpenAI returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi import Query

from homeport.errors import NotFound


class Page:
    """Query parameters of a list endpoint, validated by FastAPI (limit 1–100)."""

    def __init__(
        self,
        after: str | None = Query(None),
        before: str | None = Query(None),
        limit: int = Query(20, ge=1, le=100),
        order: Literal["asc", "desc"] = Query("desc"),
    ) -> None:
        self.after = after
        self.before = before
        self.limit = limit
        self.order = order

    def envelope(self, items: Sequence[dict[str, Any]], *, oldest_first: bool = True) -> dict[str, Any]:
        """One page of `items` (given oldest first), cut at the cursors."""
        ordered = list(items) if (self.order == "asc") == oldest_first else list(reversed(items))
        ids = [item["id"] for item in ordered]
        start, end = 0, len(ordered)
        if self.after is not None:
            start = self._position(ids, self.after, "after") + 1
        if self.before is not None:
            end = self._position(ids, self.before, "before")
        window = ordered[start:end]
        data = window[: self.limit] if self.before is None or self.after is not None else window[-self.limit :]
        # The SDK's list types declare first_id and last_id as strings, so an empty page carries "" rather than null.
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else "",
            "last_id": data[-1]["id"] if data else "",
            "has_more": len(window) > len(data),
        }

    @staticmethod
    def _position(ids: list[str], cursor: str, param: str) -> int:
        try:
            return ids.index(cursor)
        except ValueError:
            raise NotFound(f"No item with id '{cursor}' in this list.", param=param) from None


class AscendingPage(Page):
    """The query of lists whose `order` defaults to `asc` and that take no `before` (chat completions and their
    messages), as OpenAI's do."""

    def __init__(
        self,
        after: str | None = Query(None),
        limit: int = Query(20, ge=1, le=100),
        order: Literal["asc", "desc"] = Query("asc"),
    ) -> None:
        super().__init__(after=after, before=None, limit=limit, order=order)


class FilePage(Page):
    """The query of `GET /v1/files`: up to 10,000 per page (the default), newest first, no `before`."""

    def __init__(
        self,
        after: str | None = Query(None),
        limit: int = Query(10000, ge=1, le=10000),
        order: Literal["asc", "desc"] = Query("desc"),
    ) -> None:
        super().__init__(after=after, before=None, limit=limit, order=order)

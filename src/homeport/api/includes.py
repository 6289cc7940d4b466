"""The `include[]` query parameter of GET and item endpoints: parsed, checked, and handed over as a list."""

from __future__ import annotations

from fastapi import Query

from homeport.responses.params import Include, check_includes


def includes(include: list[Include] = Query(default_factory=list, alias="include[]")) -> list[str]:
    """FastAPI dependency: the values asked for, each one this server can honour (else 400 naming `include`)."""
    check_includes(include)
    return list(include)

"""Persistence: every object a client can retrieve lives here, never only in memory."""

from homeport.store.database import Database
from homeport.store.responses import ResponseRepository, StoredResponse

__all__ = ["Database", "ResponseRepository", "StoredResponse"]

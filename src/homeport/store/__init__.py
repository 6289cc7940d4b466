"""Persistence: every object a client can retrieve lives here, never only in memory."""

from homeport.store.conversations import ConversationRepository, StoredConversation
from homeport.store.database import Database
from homeport.store.responses import ResponseRepository, StoredResponse

__all__ = ["ConversationRepository", "Database", "ResponseRepository", "StoredConversation", "StoredResponse"]

"""Persistence: every object a client can retrieve lives here, never only in memory."""

from homeport.store.chat_completions import ChatCompletionPage, ChatCompletionRepository, StoredChatCompletion
from homeport.store.containers import ContainerRepository, StoredContainer, StoredContainerFile
from homeport.store.conversations import ConversationRepository, StoredConversation
from homeport.store.database import Database
from homeport.store.files import FileRepository, StoredFile, StoredPart, StoredUpload
from homeport.store.responses import ResponseRepository, StoredResponse
from homeport.store.vector_stores import VectorStoreRepository

__all__ = [
    "ChatCompletionPage",
    "ChatCompletionRepository",
    "ContainerRepository",
    "ConversationRepository",
    "Database",
    "FileRepository",
    "ResponseRepository",
    "StoredChatCompletion",
    "StoredContainer",
    "StoredContainerFile",
    "StoredConversation",
    "StoredFile",
    "StoredPart",
    "StoredResponse",
    "StoredUpload",
    "VectorStoreRepository",
]

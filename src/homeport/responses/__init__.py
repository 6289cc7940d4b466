"""The Responses API's behaviour: context assembly, the turn loop, the event emitter, the service."""

from homeport.responses.conversations import (
    AddItemsParams,
    ConversationService,
    CreateConversationParams,
    UpdateConversationParams,
    conversation_object,
)
from homeport.responses.events import wire
from homeport.responses.params import CreateResponseParams
from homeport.responses.prompts import PromptLibrary
from homeport.responses.service import PreparedResponse, ResponseService

__all__ = [
    "AddItemsParams",
    "ConversationService",
    "CreateConversationParams",
    "CreateResponseParams",
    "PreparedResponse",
    "PromptLibrary",
    "ResponseService",
    "UpdateConversationParams",
    "conversation_object",
    "wire",
]

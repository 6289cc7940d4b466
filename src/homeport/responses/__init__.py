"""The Responses API's behaviour: context assembly, the turn loop, the event emitter, the service.

Chat Completions and legacy completions live here too: they run through the same turn loop.
"""

from homeport.responses.chat import ChatCompletionService, PreparedChatCompletion
from homeport.responses.chat_params import CreateChatCompletionParams, UpdateChatCompletionParams
from homeport.responses.completions import CompletionService, CreateCompletionParams, PreparedCompletion
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
    "ChatCompletionService",
    "CompletionService",
    "ConversationService",
    "CreateChatCompletionParams",
    "CreateCompletionParams",
    "CreateConversationParams",
    "CreateResponseParams",
    "PreparedChatCompletion",
    "PreparedCompletion",
    "PreparedResponse",
    "PromptLibrary",
    "ResponseService",
    "UpdateChatCompletionParams",
    "UpdateConversationParams",
    "conversation_object",
    "wire",
]

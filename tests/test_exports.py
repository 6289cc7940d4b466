"""Each package's public surface is stated in `__all__`; this pins it, so a change to it is a decision."""

from __future__ import annotations

import importlib

import pytest

SURFACES = {
    "homeport.api": ["KeyRing", "install_errors", "router"],
    "homeport.responses": [
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
    ],
    "homeport.retrieval": ["Embedder"],
    "homeport.store": [
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
    ],
    "homeport.engines": [
        "DEFAULT_MODEL",
        "SMALL_MODEL",
        "ChatMessage",
        "Engine",
        "EngineDelta",
        "Finished",
        "GenerateRequest",
        "JsonObject",
        "JsonSchema",
        "LlamaCppEngine",
        "ModelCatalog",
        "ModelFile",
        "Progress",
        "Sampling",
        "TextDelta",
        "TokenLogprob",
        "Usage",
        "resolve_model",
    ],
}


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(SURFACES[package])
    for name in module.__all__:
        assert hasattr(module, name)

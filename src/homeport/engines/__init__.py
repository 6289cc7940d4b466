"""Engines run models; everything above this package sees only `Engine` and its delta types."""

from homeport.engines.base import (
    ChatMessage,
    Engine,
    EngineDelta,
    Finished,
    GenerateRequest,
    Sampling,
    TextDelta,
    TokenLogprob,
    Usage,
)
from homeport.engines.catalog import ModelCatalog
from homeport.engines.constraints import JsonObject, JsonSchema
from homeport.engines.llama_cpp import LlamaCppEngine
from homeport.engines.packaged import DEFAULT_MODEL, SMALL_MODEL, ModelFile, Progress, resolve_model

__all__ = [
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
]

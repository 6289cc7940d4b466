"""What the vector-store endpoints accept, validated field by field (an unknown key is a 400 naming it)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from homeport.errors import InvalidRequest
from homeport.metadata import Metadata

_STRICT = ConfigDict(extra="forbid", strict=True)

DEFAULT_MAX_CHUNK_TOKENS = 800
DEFAULT_CHUNK_OVERLAP = 400


class _StaticSizes(BaseModel):
    model_config = _STRICT
    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> _StaticSizes:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise InvalidRequest(
                "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens.",
                param="chunking_strategy.static.chunk_overlap_tokens",
            )
        return self


class StaticChunking(BaseModel):
    model_config = _STRICT
    type: Literal["static"]
    static: _StaticSizes


class AutoChunking(BaseModel):
    model_config = _STRICT
    type: Literal["auto"]


def _strategy_type(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


ChunkingStrategy = Annotated[
    Annotated[AutoChunking, Tag("auto")] | Annotated[StaticChunking, Tag("static")], Discriminator(_strategy_type)
]


def chunk_sizes(strategy: AutoChunking | StaticChunking | None) -> tuple[int, int]:
    """(max tokens, overlap) of a strategy; `auto` is OpenAI's documented default, 800 and 400."""
    if isinstance(strategy, StaticChunking):
        return strategy.static.max_chunk_size_tokens, strategy.static.chunk_overlap_tokens
    return DEFAULT_MAX_CHUNK_TOKENS, DEFAULT_CHUNK_OVERLAP


class ExpiresAfter(BaseModel):
    model_config = _STRICT
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


Attributes = dict[str, str | float | bool]


class CreateVectorStoreParams(BaseModel):
    model_config = _STRICT
    name: str = Field("", max_length=512)
    description: str | None = Field(None, max_length=512)
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    chunking_strategy: ChunkingStrategy | None = None

    @model_validator(mode="after")
    def _chunking_needs_files(self) -> CreateVectorStoreParams:
        if self.chunking_strategy is not None and not self.file_ids:
            raise InvalidRequest(
                "'chunking_strategy' applies to the files in 'file_ids'; give both or neither.",
                param="chunking_strategy",
            )
        return self


class UpdateVectorStoreParams(BaseModel):
    model_config = _STRICT
    name: str | None = Field(None, max_length=512)
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = None


class CreateVectorStoreFileParams(BaseModel):
    model_config = _STRICT
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateVectorStoreFileParams(BaseModel):
    model_config = _STRICT
    attributes: Attributes | None


class BatchFile(BaseModel):
    model_config = _STRICT
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class CreateFileBatchParams(BaseModel):
    model_config = _STRICT
    file_ids: list[str] | None = Field(None, min_length=1, max_length=500)
    files: list[BatchFile] | None = Field(None, min_length=1, max_length=500)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None

    @model_validator(mode="after")
    def _one_way_to_name_files(self) -> CreateFileBatchParams:
        if (self.file_ids is None) == (self.files is None):
            raise InvalidRequest("Give either 'file_ids' or 'files', not both or neither.", param="file_ids")
        return self


class RankingOptions(BaseModel):
    model_config = _STRICT
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(0.0, ge=0.0, le=1.0)


class SearchParams(BaseModel):
    model_config = _STRICT
    query: str | list[str]
    filters: dict[str, Any] | None = None
    max_num_results: int = Field(10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False

    @model_validator(mode="after")
    def _some_query(self) -> SearchParams:
        queries = [self.query] if isinstance(self.query, str) else self.query
        if not queries or not any(query.strip() for query in queries):
            raise InvalidRequest("'query' must not be empty.", param="query")
        return self

"""Settings: one declarative table, read from `HOMEPORT_*` environment variables and the command line.

Every setting carries its unit and help text in `description`; `tests/test_config.py` checks that each one is
documented in README.md, so the table and the docs cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_ALIASES = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o4-mini",
    # Dated snapshots that the documentation's examples name.
    "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.1-2025-04-14",
    "o3-2025-04-16",
    "o4-mini-2025-04-16",
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """What an operator can change. Secrets are `SecretStr`, so they never appear in a `repr` or a log."""

    model_config = SettingsConfigDict(env_prefix="HOMEPORT_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to")
    port: int = Field(8000, ge=0, le=65535, description="TCP port of the HTTP server (0 picks a free one)")
    model: str = Field(
        "qwen2.5-coder-0.5b-instruct",
        description="Model served: a packaged model name (qwen2.5-coder-0.5b-instruct, smollm2-135m-instruct) "
        "or the path of a GGUF file",
    )
    data_dir: Path = Field(
        Path.home() / ".homeport", description="Directory holding the SQLite database and assembled model files"
    )
    prompts_dir: Path | None = Field(
        None, description="Directory of reusable prompt files (*.json); default: prompts/ in data_dir"
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite file homeport.db in data_dir"
    )
    aliases: Annotated[list[str], NoDecode] = Field(
        list(DEFAULT_ALIASES),
        description="Comma-separated model names (OpenAI's) answered by the served model",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Bearer keys, each `project:key` or a bare `key` (its own project); "
        "empty means no authentication",
    )
    context_size: int = Field(8192, ge=512, description="Context window of the engine, in tokens")
    threads: int | None = Field(None, ge=1, description="CPU threads for generation and embedding; default: all cores")
    max_request_bytes: int = Field(32 * 2**20, ge=1024, description="Largest JSON request body accepted, in bytes")
    max_file_bytes: int = Field(
        512 * 2**20, ge=1, description="Largest file accepted by /v1/files and /v1/uploads, in bytes"
    )
    fetch_file_urls: bool = Field(
        False, description="Let `input_file.file_url` fetch documents over HTTP(S); off: such a request is a 400"
    )
    outbound_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host names and CIDRs of this server's own network (loopback, private, reserved "
        "addresses) that requests may make it reach: file_url fetches, MCP servers; e.g. `127.0.0.1/32,localhost`",
    )
    mcp_connectors: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Comma-separated `connector_id=URL` pairs: the MCP server behind each connector, e.g. "
        "`connector_gmail=https://mcp.example.com/gmail`",
    )
    searxng_url: str | None = Field(
        None, description="Base URL of the SearXNG instance (JSON format enabled) that the web_search tool asks"
    )
    mcp_timeout: float = Field(60.0, gt=0, description="Seconds an MCP server has to answer one call")
    background_workers: int = Field(
        1, ge=1, le=64, description="Background responses this replica runs at once (they share the engine)"
    )
    webhook_retry_base_seconds: float = Field(
        10.0, gt=0, description="Seconds before a failed webhook delivery is tried again; doubled after each failure"
    )
    webhook_retry_hours: float = Field(72.0, gt=0, description="Hours a webhook delivery is retried before it fails")
    job_lease_seconds: float = Field(
        30.0, gt=0, description="Seconds a replica holds a job without renewing it; after that, a run it left is failed"
    )
    log_level: str = Field("info", description="Log level of the server (debug, info, warning, error)")

    @field_validator("aliases", "api_keys", "outbound_allow", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("mcp_connectors", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [entry.split("=", 1) for entry in value.split(",") if entry.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected comma-separated connector_id=URL pairs")
        return {key.strip(): url.strip() for key, url in pairs}

    @property
    def resolved_prompts_dir(self) -> Path:
        return self.prompts_dir or self.data_dir / "prompts"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'homeport.db'}"

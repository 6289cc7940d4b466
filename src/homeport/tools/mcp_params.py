"""The `mcp` tool entry: which server, which of its tools the model may use, and which need the user's approval.

`authorization` and `headers` are secrets: they are used for the request's calls and never stored or echoed; the
echoed `server_url` keeps only its scheme, host and port, as OpenAI's does.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid", strict=True)

ConnectorId = Literal[
    "connector_dropbox",
    "connector_gmail",
    "connector_googlecalendar",
    "connector_googledrive",
    "connector_microsoftteams",
    "connector_outlookcalendar",
    "connector_outlookemail",
    "connector_sharepoint",
]


class ToolFilter(BaseModel):
    """Tools by name, by whether they only read (the server's `readOnlyHint`), or both (a tool must match all)."""

    model_config = _STRICT
    tool_names: list[str] | None = None
    read_only: bool | None = None

    def matches(self, name: str, read_only: bool) -> bool:
        named = self.tool_names is None or name in self.tool_names
        return named and (self.read_only is None or self.read_only == read_only)


class ApprovalFilter(BaseModel):
    model_config = _STRICT
    always: ToolFilter | None = None
    never: ToolFilter | None = None


class McpParam(BaseModel):
    model_config = _STRICT
    type: Literal["mcp"]
    server_label: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    server_url: str | None = None
    connector_id: ConnectorId | None = None
    authorization: str | None = None
    headers: dict[str, str] | None = None
    server_description: str | None = None
    allowed_tools: list[str] | ToolFilter | None = None
    require_approval: Literal["always", "never"] | ApprovalFilter | None = None
    defer_loading: Literal[False] | None = None
    """Loading tools on demand through tool search is not offered: `true` is refused."""

    @model_validator(mode="after")
    def _one_server(self) -> McpParam:
        if (self.server_url is None) == (self.connector_id is None):
            raise ValueError("Exactly one of 'server_url' and 'connector_id' must be given.")
        return self

    def allows(self, name: str, read_only: bool) -> bool:
        """Is this server tool imported (`allowed_tools`)?"""
        if self.allowed_tools is None:
            return True
        if isinstance(self.allowed_tools, list):
            return name in self.allowed_tools
        return self.allowed_tools.matches(name, read_only)

    def needs_approval(self, name: str, read_only: bool) -> bool:
        """Does a call of this tool wait for the user (`require_approval`, by default always)?"""
        policy = self.require_approval
        if policy is None or policy == "always":
            return True
        if policy == "never":
            return False
        if policy.never is not None and policy.never.matches(name, read_only):
            return False
        if policy.always is not None and policy.always.matches(name, read_only):
            return True
        # Only exceptions to "never" were listed: the rest need approval; only those that need it: the rest do not.
        return policy.always is None

    def echo(self) -> dict[str, Any]:
        """The entry as `response.tools` shows it: no secrets, and the URL without its path."""
        shown = self.model_dump(exclude_none=True, exclude={"authorization", "headers"})
        if self.server_url is not None:
            parts = urlsplit(self.server_url)
            shown["server_url"] = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        shown.setdefault("require_approval", "always")
        return shown

"""The `metadata` map that many OpenAI objects carry, with OpenAI's limits, for every params model that takes one."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from homeport.errors import InvalidRequest


def _checked_metadata(metadata: dict[str, str]) -> dict[str, str]:
    check_metadata(metadata)
    return metadata


Metadata = Annotated[dict[str, str], AfterValidator(_checked_metadata)]
"""A `metadata` field with OpenAI's limits, for every params model that takes one."""


def check_metadata(metadata: dict[str, str] | None, param: str = "metadata") -> None:
    """OpenAI's limits: at most 16 pairs, keys up to 64 characters, values up to 512."""
    if metadata is None:
        return
    if len(metadata) > 16:
        raise InvalidRequest(f"Invalid '{param}': too many pairs ({len(metadata)}); at most 16.", param=param)
    for key, value in metadata.items():
        if len(key) > 64:
            raise InvalidRequest(f"Invalid '{param}': key {key[:70]!r} is longer than 64 characters.", param=param)
        if len(value) > 512:
            raise InvalidRequest(
                f"Invalid '{param}': the value of {key!r} is longer than 512 characters.", param=f"{param}.{key}"
            )

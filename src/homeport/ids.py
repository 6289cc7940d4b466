"""Ids shaped like OpenAI's, so that clients which pattern-match them keep working.

`prefix_` + 48 lowercase hex: 8 hex of Unix seconds (ids sort by creation), 24 random hex, and a 16-hex
*thread suffix* that a response shares with its output items and with the responses chained to it.
"""

from __future__ import annotations

import secrets
import string
import time

_ALPHANUMERIC = string.ascii_letters + string.digits


def thread_suffix() -> str:
    return secrets.token_hex(8)


def suffix_of(object_id: str) -> str:
    """The thread suffix of an id minted here (its last 16 hex)."""
    return object_id[-16:]


def new_id(prefix: str, suffix: str | None = None) -> str:
    """`resp_`, `msg_`, `conv_`… id; pass the suffix of a related object to keep the thread visible."""
    return f"{prefix}_{int(time.time()):08x}{secrets.token_hex(12)}{suffix or thread_suffix()}"


def new_call_id() -> str:
    return "call_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))


def new_completion_id(prefix: str) -> str:
    """`chatcmpl-…` or `cmpl-…`: 29 letters and digits, as OpenAI's. They do not sort by time; the store keeps the
    order of stored completions."""
    return f"{prefix}-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(29))

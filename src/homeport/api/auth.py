"""Bearer keys and the project each one opens. Without configured keys every caller is project `default`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from fastapi import Request
from pydantic import SecretStr

from homeport.api.internal import TRUSTED_PROJECT
from homeport.errors import AuthenticationFailed

OPEN_PROJECT = "default"


class KeyRing:
    def __init__(self, keys: Sequence[SecretStr]) -> None:
        self._projects: dict[str, str] = {}
        for entry in keys:
            project, _, key = entry.get_secret_value().rpartition(":")
            self._projects[key] = project or "proj_" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def project_for(self, authorization: str | None) -> str:
        if not self._projects:
            return OPEN_PROJECT
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed(
                "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."
            )
        for key, project in self._projects.items():
            if hmac.compare_digest(key.encode(), token.strip().encode()):
                return project
        raise AuthenticationFailed("Incorrect API key provided.")


def project(request: Request) -> str:
    """FastAPI dependency: the caller's project, or 401."""
    trusted = request.scope.get(TRUSTED_PROJECT)
    if trusted is not None:
        return str(trusted)
    keys: KeyRing = request.app.state.keys
    return keys.project_for(request.headers.get("authorization"))

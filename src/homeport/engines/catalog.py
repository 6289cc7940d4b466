"""Which model names this server answers to: the served model's own id and its configured aliases.

The aliases let the documentation's code (`model="gpt-4o"`) run unchanged; a response always reports the model
that really ran.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from homeport.engines.base import Engine
from homeport.errors import ModelNotFound


class ModelCatalog:
    def __init__(self, engine: Engine, aliases: Sequence[str]) -> None:
        self.engine = engine
        self.created = int(time.time())
        self._names = [engine.model_id, *(alias for alias in aliases if alias != engine.model_id)]

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def resolve(self, name: str) -> Engine:
        if name not in self._names:
            raise ModelNotFound(name)
        return self.engine

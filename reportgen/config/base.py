"""The base of every config model: unknown keys are errors (a misspelt key must not be ignored) and a
loaded config is never changed in place."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

"""Common base of the config models: unknown keys and wrong types are rejected, `$schema` is allowed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=True)


class ConfigFile(ConfigModel):
    # Lets each JSON file point at its schema in configs/schemas/ so editors validate it.
    schema_ref: str | None = Field(default=None, alias="$schema")

"""`configs/mapping_config.json`: column mappings of the standard flow and of each evaluation flow."""

from __future__ import annotations

import re

from pydantic import Field

from llmops.config.base import ConfigFile

DATA_REF = re.compile(r"^\$\{data\.([A-Za-z0-9_\-]+)\}$")
RUN_OUTPUT_REF = re.compile(r"^\$\{run\.outputs\.([A-Za-z0-9_\-]+)\}$")


class MappingConfig(ConfigFile):
    experiment: dict[str, str] = Field(default_factory=dict)
    # evaluation.<evaluation flow folder name> -> {flow input: "${data.col}" | "${run.outputs.x}"}
    evaluation: dict[str, dict[str, str]] = Field(default_factory=dict)

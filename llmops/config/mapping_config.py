"""`configs/mapping_config.json`: column mappings of the standard flow and of each evaluation flow."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from llmops.config.base import ConfigFile

DATA_REF = re.compile(r"^\$\{data\.([A-Za-z0-9_\-]+)\}$")
RUN_OUTPUT_REF = re.compile(r"^\$\{run\.outputs\.([A-Za-z0-9_\-]+)\}$")


class MappingConfig(ConfigFile):
    experiment: dict[str, str] = Field(default_factory=dict)
    # evaluation.<evaluation flow folder name> -> {flow input: "${data.col}" | "${run.outputs.x}"}
    evaluation: dict[str, dict[str, str]] = Field(default_factory=dict)


def map_inputs(mapping: dict[str, str], row: dict[str, Any],
               run_outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply a column mapping: ${data.col} from the data row, ${run.outputs.x} from the run's line, else literal."""
    inputs: dict[str, Any] = {}
    for name, ref in mapping.items():
        data_ref, run_ref = DATA_REF.match(ref), RUN_OUTPUT_REF.match(ref)
        if data_ref:
            inputs[name] = row.get(data_ref.group(1))
        elif run_ref:
            inputs[name] = (run_outputs or {}).get(run_ref.group(1))
        else:
            inputs[name] = ref
    return inputs

"""JSON Schemas of the four use-case config files, generated from the models.

`python -m llmops.config.schemas` rewrites configs/schemas/; a test fails when the files are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from llmops.config.data_config import DataConfig
from llmops.config.deployment_config import DeploymentConfig
from llmops.config.llmops_config import LlmopsConfig
from llmops.config.mapping_config import MappingConfig

SCHEMAS: dict[str, type[BaseModel]] = {
    "llmops_config.schema.json": LlmopsConfig,
    "mapping_config.schema.json": MappingConfig,
    "data_config.schema.json": DataConfig,
    "deployment_config.schema.json": DeploymentConfig,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = folder / name
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("configs/schemas")
    for path in write(target):
        sys.stderr.write(f"wrote {path}\n")

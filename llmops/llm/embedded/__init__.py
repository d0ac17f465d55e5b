"""The embedded model: a small instruct model served on 127.0.0.1 with an OpenAI-compatible API.

Used when no API key is configured. Everything here is standard library plus xllamacpp (imported
only by the server process), so importing this package is cheap.
"""

from llmops.llm.embedded.catalog import CATALOG, DEFAULT_MODEL, ModelPart, ModelSpec, get_model, model_names
from llmops.llm.embedded.installer import InstallResult, install
from llmops.llm.embedded.llama_server import (
    ServerRecord,
    check_startable,
    embedded_server,
    ensure_running,
    find_running,
    stop,
)
from llmops.llm.embedded.speed import SpeedMeasurement, measure_speed
from llmops.llm.embedded.status import ModelStatus, status

__all__ = [
    "check_startable",
    "CATALOG",
    "DEFAULT_MODEL",
    "InstallResult",
    "ModelPart",
    "ModelSpec",
    "ModelStatus",
    "ServerRecord",
    "SpeedMeasurement",
    "embedded_server",
    "ensure_running",
    "find_running",
    "get_model",
    "install",
    "measure_speed",
    "model_names",
    "status",
    "stop",
]

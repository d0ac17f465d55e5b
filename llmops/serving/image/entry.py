"""`llmops-image.json`: what an image (or its build context run as a process) serves.

Written by `llmops image build` from the model version's record and the env's configs; read by the server at
start. It names things and never holds a secret: connections and the endpoint's key come from the
environment of the running server. Keys are sorted and nothing time-dependent is written, so the same model
version gives the same file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmops.errors import LlmopsError

ENTRY_FILE = "llmops-image.json"
FLOW_DIR = "flow"  # the model version's snapshot
CASSETTES_DIR = "cassettes"
FORMAT = 1


@dataclass(frozen=True)
class ImageEntry:
    use_case: str
    env: str
    endpoint: str  # the names the server answers with (/health, the azureml-model-deployment header, the log);
    deployment: str  # a platform that runs the image as another deployment overrides them (LLMOPS_DEPLOYMENT)
    model_name: str
    model_version: int
    sha256: str  # of the snapshot in flow/ (content_hash.flow_hash): checked when the server starts
    flow: str  # the flow folder's name the model was registered from (cassettes are named after it)
    flow_file: str  # the file in flow/ that defines the flow (flow.dag.yaml, flow.flex.yaml, <name>.prompty)
    flow_variants: tuple[str, ...] = ()  # a prompty's variant files
    variant: dict[str, str] = field(default_factory=dict)  # node -> variant id, as registered with the model
    variant_label: str = "defaults"
    provider: str = "auto"  # the env's PROVIDER, or the one `image build --provider` named
    max_concurrency: int = 8  # LLM calls in flight per upstream (the env's CONCURRENCY)
    llmops_version: str = ""
    git_commit: str = ""  # of the registered flow, from the model's lineage

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flow_variants"] = list(self.flow_variants)
        return {"format": FORMAT, **data}

    def lineage(self) -> dict[str, Any]:
        """What model_flow() needs of a model version's lineage to load the flow in flow/."""
        return {"flow": self.flow, "flow_file": self.flow_file, "flow_variants": list(self.flow_variants),
                "variant": self.variant, "variant_label": self.variant_label}


def write_entry(context_dir: Path, entry: ImageEntry) -> Path:
    path = context_dir / ENTRY_FILE
    path.write_text(json.dumps(entry.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_entry(context_dir: Path) -> ImageEntry:
    path = context_dir / ENTRY_FILE
    if not path.is_file():
        raise LlmopsError(f"'{context_dir}' is not an llmops image build context: it has no {ENTRY_FILE}; write one "
                          "with: llmops image build --use-case <name> --env <env> --context-dir <dir>")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("format", None) != FORMAT:
            raise ValueError(f"format is not {FORMAT}; build the context again with this llmops")
        data["flow_variants"] = tuple(data.get("flow_variants") or ())
        return ImageEntry(**data)
    except (ValueError, TypeError) as error:
        raise LlmopsError(f"{path}: not an entry this llmops reads ({error}); build the context again with: llmops "
                          "image build") from None

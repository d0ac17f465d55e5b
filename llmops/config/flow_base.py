"""What every flow is, whatever its format: its files, inputs, outputs, variants and the connections it calls.

Three formats implement it: a prompt flow DAG folder (flow_dag.py), a `.prompty` file (flow_prompty.py) and a
flex flow folder (flow_flex.py). Steps, the report, serving and the engine's choice of runner see this face only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Flow:
    folder: Path  # every file in it is the flow's content: hashed, snapshotted, registered as the model
    file: Path  # the file that defines the flow: flow.dag.yaml, <name>.prompty or flow.flex.yaml
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict)  # the defining file's YAML (a prompty's front matter)
    # False when the outputs cannot be known before the flow runs (a flex entry returning a plain dict).
    outputs_known: bool = True
    # True when the flow takes inputs it does not declare (a flex entry with **kwargs).
    open_inputs: bool = False

    kind: ClassVar[str] = ""

    @property
    def name(self) -> str:
        """How configs name the flow (mapping_config.json's evaluation keys) and how cassettes are found."""
        return self.folder.name

    @property
    def path(self) -> Path:
        """What STANDARD_FLOW_PATH (or EVALUATION_FLOW_PATH) names: the folder, or a prompty's file."""
        return self.folder

    @property
    def relative_file(self) -> str:
        """The defining file inside `folder` (and so inside a snapshot of it): flow.dag.yaml, chat.prompty..."""
        return self.file.relative_to(self.folder).as_posix()

    @property
    def required_inputs(self) -> list[str]:
        return [name for name, spec in self.inputs.items() if "default" not in (spec or {})]

    def variants(self) -> dict[str, list[str]]:
        """node -> variant ids, the default first, for every node that has variants."""
        return {}

    def default_variants(self) -> dict[str, str]:
        return {}

    def variant_file_names(self) -> list[str]:
        """Files beside the flow's own that are its variants (a prompty's PROMPTY_VARIANTS)."""
        return []

    def connections(self) -> list[tuple[str, str]]:
        """(node, connection name) for every place the flow calls an LLM through a connection."""
        return []

    def code_files(self) -> list[str]:
        """The Python files (relative to `folder`) the flow loads first; the modules they import follow."""
        return []

    def tool_packages(self) -> list[str]:
        """Packages the flow names for its tools outside its Python files (a DAG's `source: {type: package}`)."""
        return []

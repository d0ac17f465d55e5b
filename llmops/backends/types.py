"""The records the registry keeps and the executor hands back, shared by every backend.

Steps, the report and the gates read these and nothing backend-specific, so a run executed on Azure ML
and one executed on this machine are reported by the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the annotation only: importing the records must not load the config models
    from llmops.config.flow_base import Flow


@dataclass(frozen=True)
class DataVersion:
    name: str
    version: int
    sha256: str
    path: str
    description: str
    rows: int
    registered_at: str
    changed: bool  # True when this call registered a new version


@dataclass(frozen=True)
class ModelVersion:
    """A registered flow snapshot: `snapshot` is a folder on this machine holding the flow's files."""

    name: str
    version: int
    sha256: str
    snapshot: Path
    lineage: dict[str, Any] = field(default_factory=dict)
    registered_at: str = ""
    changed: bool = False  # True when this call registered a new version

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "changed": self.changed, "sha256": self.sha256,
                "snapshot": str(self.snapshot), "registered_at": self.registered_at, "lineage": self.lineage}


# A run's status: `running` while (or if interrupted while) it runs; `completed` when every line
# succeeded, a final result to reuse; `incomplete` when it ended with failed lines, which the next
# execution of the same run retries (its succeeded lines are kept).
RUNNING = "running"
COMPLETED = "completed"
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    name: str
    use_case: str
    env: str
    kind: str  # experiment | evaluation | post_prod
    flow: str
    variant: dict[str, str]
    variant_label: str
    dataset: str
    dataset_version: int
    parent_run_id: str | None
    status: str  # RUNNING | COMPLETED | INCOMPLETE
    lines_total: int
    lines_failed: int
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    finished_at: str | None = None
    trial: int = 0  # which repeated trial of its variant and dataset the run is (TRIALS in llmops_config.json)
    data_sha256: str = ""  # the bytes it ran over: runs are shared by the envs whose data is the same


@dataclass(frozen=True)
class LineOutcome:
    index: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    error: str | None
    seconds: float
    # Node outputs that aggregation nodes read; kept so metrics can be computed over resumed lines too.
    aggregation_inputs: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunSpec:
    """One run a step asks for; its content (flow, variant, data, mapping, LLM) decides its run id."""

    use_case: str
    env: str
    kind: str  # experiment | evaluation | post_prod
    flow: Flow
    flow_path: str  # the flow's folder relative to the repository (Workspace.shown)
    variant: dict[str, str]
    variant_label: str
    dataset: str
    dataset_version: int
    data_sha256: str
    mapping: dict[str, str]
    rows: list[tuple[int, dict[str, Any]]]  # (line index, flow inputs) after mapping
    parent_run_id: str | None = None
    skipped: dict[int, str] | None = None  # lines not run (index -> reason), recorded as failed
    # The repeated trial (0 .. TRIALS-1): each trial is a run of its own, with its own LLM answers. Trial 0 is
    # the run a single-trial experiment makes, same content key and all.
    trial: int = 0


@dataclass(frozen=True)
class RunResult:
    record: RunRecord
    lines: list[LineOutcome]
    reused: bool
    executed_lines: int


# (what the run is, e.g. "node.variant_1 (dataset)", its line count, lines already done) -> a tick per finished line
ProgressFactory = Callable[[str, int, int], Callable[[LineOutcome], None]]

"""The two seams of a backend: a registry (where state lives) and an executor (where a step's lines run).

`local` implements both on this machine: a SQLite registry under the state directory and prompt flow
in process. An Azure ML backend implements them on a workspace: data assets, jobs, models, online
endpoints. Steps, the report and the gates see only these protocols and the records they speak
(types.py, endpoints.py), so whatever the backend, a step's results come out of the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from llmops.backends.canary import CanaryDecision
from llmops.backends.endpoints import Deployment, Endpoint, TrafficMap
from llmops.backends.traffic import Split
from llmops.backends.types import DataVersion, LineOutcome, ModelVersion, ProgressFactory, RunRecord, RunResult, RunSpec

if TYPE_CHECKING:  # for annotations only: the protocols load neither the config models nor the LLM layer
    from llmops.config.flow_base import Flow
    from llmops.llm.connections import Connection
    from llmops.llm.providers import Choice
    from llmops.llm.session import LlmSettings


class DataRegistry(Protocol):
    """Dataset versions, each keyed by the sha256 of the file's bytes."""

    def register(self, name: str, path: Path, description: str, shown_path: str) -> DataVersion:
        """Register the file at `path` as a version of dataset `name`, a new one only when the file's sha256 is
        new (`changed` tells which). `shown_path` is the path the version keeps, relative to the repository. A
        file with a line no step could read is refused, naming the line.

        "New" differs by backend when a file goes back to bytes registered before: the local registry returns
        that earlier version (any version with the hash counts); Azure ML compares with the latest version only,
        so it registers a new version, and its latest version is always the data last registered."""
        ...

    def current_version(self, name: str, path: Path) -> DataVersion | None:
        """The (highest) version of `name` registered for the file's current bytes; None when they never were."""
        ...

    def list_versions(self, name: str | None = None) -> list[DataVersion]:
        """Every version of `name` (of every dataset when None), by name then version."""
        ...


class LineSink(Protocol):
    """Takes the finished lines of a run being executed, saving them a few at a time."""

    def add(self, outcome: LineOutcome) -> None:
        """Keep the line (replacing an earlier outcome of the same index); a kill loses at most a moment's lines."""
        ...

    def close(self) -> None:
        """Save every line still pending; called on Ctrl-C too, so an interrupted run resumes from there."""
        ...


class RunRegistry(Protocol):
    """Runs, keyed by the hash of what they depend on, their lines, and the sets of runs a step made."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run's record; None when no run has that id."""
        ...

    def start_run(self, record: RunRecord, key: dict[str, Any]) -> RunRecord:
        """Mark the run RUNNING. A new run is created from `record` (kept with its content `key`) and
        `record` is returned; an existing run keeps its lines and its stored record is returned."""
        ...

    def line_states(self, run_id: str) -> tuple[set[int], set[int]]:
        """(indexes of the lines that succeeded, of those that failed); lines never run are in neither."""
        ...

    def save_lines(self, run_id: str, outcomes: list[LineOutcome]) -> None:
        """Keep these outcomes at once, each replacing an earlier outcome of the same index."""
        ...

    def line_writer(self, run_id: str) -> LineSink:
        """A sink for the lines of the run while it executes; the caller closes it."""
        ...

    def lines(self, run_id: str) -> list[LineOutcome]:
        """Every line kept for the run, by index."""
        ...

    def finish_run(self, run_id: str, metrics: dict[str, Any]) -> RunRecord:
        """Record the run's metrics and end it: COMPLETED when every line succeeded, else INCOMPLETE (its
        failed lines run again the next time it is executed)."""
        ...

    def record_run_set(self, kind: str, use_case: str, env: str, run_ids: list[str]) -> str:
        """Remember `run_ids` as the latest set of `kind` (experiment, evaluation, post_prod) of the use case
        and env; returns the set's id."""
        ...

    def latest_run_set(self, kind: str, use_case: str, env: str) -> list[str] | None:
        """The run ids of the latest set of `kind`; None when there is none yet."""
        ...

    def child_runs(self, parent_run_id: str, kind: str) -> list[RunRecord]:
        """The ended (completed or incomplete) runs of `kind` over the parent run's lines, oldest first."""
        ...


class ModelRegistry(Protocol):
    """Model versions: a model version is a flow snapshot, keyed by the flow's content hash."""

    def register(self, name: str, flow_folder: Path, lineage: dict[str, Any]) -> ModelVersion:
        """Register the flow folder as a version of `name` with its lineage (commit, data versions, runs,
        variant, metrics), a new one only when no version of `name` has the flow's hash (`changed` tells
        which; an unchanged flow keeps the lineage it was first registered with)."""
        ...

    def get(self, name: str, version: int) -> ModelVersion:
        """That version of the model; NotFoundError naming the models or versions that exist."""
        ...

    def latest(self, name: str) -> ModelVersion:
        """The model's highest version; NotFoundError naming the models that exist."""
        ...

    def list_versions(self, use_case: str | None = None) -> list[ModelVersion]:
        """Every version by name then version; with `use_case`, those whose lineage names that use case."""
        ...


class EndpointRegistry(Protocol):
    """Endpoints, their deployments and the history of their traffic maps.

    Every change moves the endpoint's `version`; rollback marks the current map rolled back, so the one
    before it applies again. A traffic map is validated as a whole against the deployments before it is
    stored; nothing changes when it is not valid.
    """

    def ensure_endpoint(self, name: str, use_case: str, env: str, provider: str) -> Endpoint:
        """Create the endpoint, or record the provider its new server runs with; refuses an endpoint name
        another use case or env owns."""
        ...

    def get_endpoint(self, name: str) -> Endpoint:
        """The endpoint as one consistent state; an unknown name is refused, listing the known ones."""
        ...

    def put_deployment(self, deployment: Deployment) -> Deployment:
        """Create the deployment, or replace one that takes no traffic; it takes no traffic until a map
        gives it some. Another release for a deployment that takes traffic raises DeploymentInUse."""
        ...

    def remove_deployment(self, endpoint: str, name: str) -> None:
        """Remove a deployment that takes no traffic (one that does is refused)."""
        ...

    def set_split(self, endpoint: str, split: Split, reason: str) -> TrafficMap:
        """Make `split` the endpoint's current traffic map (a map equal to the current one changes nothing)."""
        ...

    def rollback(self, endpoint: str) -> tuple[TrafficMap, TrafficMap]:
        """Make the previous traffic map current again; returns (the map rolled back, the map restored)."""
        ...

    def history(self, endpoint: str) -> list[TrafficMap]:
        """Every traffic map the endpoint has had, oldest first, rolled back ones marked."""
        ...

    def record_decision(self, decision: CanaryDecision) -> CanaryDecision:
        """Keep a canary watch's decision with its evidence; returns it with its sequence number and time."""
        ...

    def decisions(self, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
        """The endpoint's canary decisions, oldest first (the newest `limit` of them when given)."""
        ...


class Registry(Protocol):
    """Where a backend keeps its state, in four parts."""

    @property
    def data(self) -> DataRegistry: ...

    @property
    def runs(self) -> RunRegistry: ...

    @property
    def models(self) -> ModelRegistry: ...

    @property
    def endpoints(self) -> EndpointRegistry: ...


class FlowSession(Protocol):
    """What an executor needs of the LLM session its lines call through (llmops.llm.session.LlmSession).

    An executor that runs lines elsewhere opens the same session there: from its `settings` (the provider,
    the limits) and its `choices` (the profile each connection uses), keys aside.
    """

    @property
    def settings(self) -> LlmSettings: ...

    @property
    def choices(self) -> dict[str, Choice]: ...

    def identity(self) -> dict[str, str]:
        """What the LLM answers depend on, per connection: part of every run's content key."""
        ...

    def count_remote_calls(self, outcomes: Mapping[str, int]) -> None:
        """Adds calls the lines made elsewhere, through gateways of their own, to the session's count."""
        ...

    def pf_connections(self, flow: str, run: str, variant: str, node_connections: list[Any],
                       trial: int = 0) -> dict[str, Any]:
        """Prompt flow connections for a prepared flow's connection aliases (a DAG's LLM nodes, a prompty's model, a
        flex flow's model configurations and standard variables: engine/prepared_flow.py), each routed through the
        session's gateway and tagged with the run, variant, flow, node and repeated trial (TRIALS)."""
        ...


class Executor(Protocol):
    """Where a step's lines run. The executor records its runs in its backend's registry."""

    def execute(self, specs: list[RunSpec], session: FlowSession, concurrency: int,
                progress: ProgressFactory | None = None, cancel: bool = False) -> list[RunResult]:
        """Execute the runs, their lines sharing one budget; the results come in `specs` order.

        A run whose lines all succeeded before is reused, not run again. A run that ended with failed lines,
        or was cut short, runs only its failed and missing lines (the succeeded ones are kept). A run that
        another process is executing is waited for, then reused or resumed. `concurrency` is the env's
        CONCURRENCY (LLM calls in flight per service); `progress` starts a bar per run that is executed.
        `cancel` (--cancel): an executor whose work outlives the command (a cloud job) stops the work still
        running for these runs and starts none; one that has none refuses it.
        """
        ...

    def try_line(self, flow: Flow, variant: dict[str, str], variant_label: str, inputs: dict[str, Any],
                 session: FlowSession) -> LineOutcome:
        """Run one line of `flow` with `variant` applied, a quick check: nothing is recorded."""
        ...

    def connections(self, names: list[str], provider: str, local: Mapping[str, Connection]) -> dict[str, Connection]:
        """The connections (of those `names` the flows use) that this executor's lines run with, for the
        session's choice of provider (`provider`: --provider or PROVIDER) and its run keys. `local` holds the
        .env ones, which lines on this machine use; lines elsewhere may take theirs from elsewhere."""
        ...

    def publish_connections(self, connections: Mapping[str, Connection]) -> str:
        """Make the .env connections known to the tools flows are written with where this executor runs
        them; returns where they went, to tell the user."""
        ...


class Backend(Protocol):
    """A registry and an executor that work together; `open_backend` picks one by the env's BACKEND."""

    @property
    def name(self) -> str: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def executor(self) -> Executor: ...

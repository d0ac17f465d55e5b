"""Step: run the env's post-production evaluation flow over the endpoint's production log (or a dataset),
report it as an experiment is reported, one column per deployment, and compare current against prior.

The log of a local endpoint is read from its file. A cloud endpoint's servers ship theirs to blob storage in
segments (llmops/serving/log_shipping.py); the segments not evaluated before are read (and kept under the state
directory), and once evaluated, their names are recorded beside them, so a second run finds nothing new.
`LogWindow` narrows either log to a time span. Probes (requests llmops sent to test the endpoint: smoke tests,
test-endpoint, canary shadows; production_log.is_probe) are never evaluated, only counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops.backends import open_backend, open_production_log_store
from llmops.backends.production_logs import ProductionLogStore
from llmops.backends.protocols import Backend, DataRegistry
from llmops.backends.targets import LOCAL, WEBAPP
from llmops.backends.types import COMPLETED, DataVersion, ProgressFactory, RunResult, RunSpec
from llmops.config.data_config import PRODUCTION_LOG_PURPOSES
from llmops.config.flow_base import Flow
from llmops.config.flow_modules import require_flow_modules
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import map_inputs
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, NothingNew, unknown_name
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.production_log import flatten, log_path, read_entries, without_probes
from llmops.serving.shipped_segments import segment_entries

if TYPE_CHECKING:
    from llmops.llm.session import LlmSession
    from llmops.report.deployment_comparison import DeploymentComparison
    from llmops.report.writer import ReportResult

logger = logging.getLogger(__name__)

FROM_LOG = "log"
UNKNOWN_DEPLOYMENT = "unknown"
PROBES = "smoke tests, test-endpoint, canary shadows"


@dataclass(frozen=True)
class LogWindow:
    """Which entries of a production log to evaluate: those stamped in [since, until] (UTC); and for a shipped log,
    only segments not evaluated before, unless `again`."""

    since: datetime | None = None
    until: datetime | None = None
    again: bool = False

    def holds(self, entry: dict[str, Any]) -> bool:
        if self.since is None and self.until is None:
            return True
        try:
            stamp = datetime.fromisoformat(str(entry.get("timestamp"))).astimezone(UTC)
        except ValueError:
            return False
        return (self.since is None or stamp >= self.since) and (self.until is None or stamp <= self.until)

    def described(self) -> str:
        parts = [f"since {self.since.isoformat()}" if self.since else "", f"until {self.until.isoformat()}"
                 if self.until else ""]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class PostProdSource:
    dataset: DataVersion
    rows: list[dict[str, Any]]
    description: str  # said to the user: which log or dataset was read
    evaluated: Callable[[], None] | None = None  # records what was read as evaluated, once the run succeeded
    target: str = LOCAL  # whose deployment_config.json block names the current and prior deployments


@dataclass(frozen=True)
class PostProdResult:
    source: PostProdSource
    run: RunResult
    report: ReportResult
    comparison: list[DeploymentComparison]
    comparison_file: Path | None

    def to_dict(self) -> dict[str, Any]:
        from llmops.report.deployment_comparison import to_json

        return {"source": self.source.description, "run_id": self.run.record.run_id,
                "metrics": self.run.record.metrics, "report": str(self.report.folder),
                "deployments": [f.label for m in self.report.comparison.metrics[:1] for f in m.variants],
                "comparison": to_json(self.comparison)}


def _register_rows(workspace: Workspace, data: DataRegistry, endpoint: str, rows: list[dict[str, Any]]) -> DataVersion:
    """The rows as a content-addressed dataset file, registered as a version of `<endpoint>_production_log`."""
    text = "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    file = log_path(workspace.state_dir, endpoint).parent / "post_prod" / f"{digest}.jsonl"
    file.parent.mkdir(parents=True, exist_ok=True)
    if not file.is_file():
        file.write_text(text, encoding="utf-8")
    return data.register(f"{endpoint}_production_log", file, f"answered requests of endpoint {endpoint}",
                         workspace.shown(file))


def _skipped(probes: int) -> str:
    return f"; {probes} probe{'' if probes == 1 else 's'} skipped: {PROBES}" if probes else ""


def _send_traffic(use_case: UseCase, env: str, kind: str) -> str:
    """How to give the log what post-prod-eval reads: requests as users send them (test-endpoint's are probes)."""
    target = f" --target {kind}" if kind != LOCAL else ""
    return ("send the endpoint real requests first, e.g. curl -s -H 'Content-Type: application/json' -d '<flow "
            f"inputs as JSON>' <scoring url> (llmops endpoint status -u {use_case.name} -e {env}{target} shows the "
            "URL)")


def _only_probes(probes: int, use_case: UseCase, env: str, kind: str) -> str:
    """Why a log of probes alone has nothing to evaluate, and how to send it what it lacks."""
    return (f"only probe requests were logged ({probes}: {PROBES}), and post-prod-eval evaluates users' requests "
            f"alone; {_send_traffic(use_case, env, kind)}")


def _from_log(workspace: Workspace, data: DataRegistry, endpoint: str,
              window: LogWindow) -> tuple[PostProdSource | None, int]:
    """The production log's user traffic flattened into a content-addressed dataset file (None when it has none),
    and how many probes were skipped."""
    entries, probes = without_probes(e for e in read_entries(log_path(workspace.state_dir, endpoint))
                                     if window.holds(e))
    rows = flatten(entries)
    if not rows:
        return None, probes
    return PostProdSource(_register_rows(workspace, data, endpoint, rows), rows,
                          f"production log of endpoint {endpoint} ({len(rows)} answered requests"
                          f"{_skipped(probes)})"), probes


def _from_shipped_log(workspace: Workspace, data: DataRegistry, store: ProductionLogStore, use_case: UseCase,
                      endpoint: str, env: str, window: LogWindow, kind: str) -> PostProdSource | None:
    """The segments of a cloud endpoint's log not evaluated yet (in the window); None when it has none at all."""
    segments = store.segments(endpoint)
    if not segments:
        return None
    done = set() if window.again else store.evaluated(endpoint, env)
    fresh = [s for s in segments if s.name not in done and (window.until is None or s.start <= window.until)]
    entries, read = [], set()
    for segment in fresh:
        kept = [e for e in segment_entries(workspace.state_dir, store, segment) if window.holds(e)]
        if kept:
            entries += kept
            read.add(segment.name)
    users, probes = without_probes(entries)
    rows = flatten(sorted(users, key=lambda e: str(e.get("timestamp", ""))))
    span = f" {window.described()}" if window.described() else ""
    if not rows:
        left = f"; {_only_probes(probes, use_case, env, kind)}" if probes else ""
        raise NothingNew(f"the production log of endpoint '{endpoint}' ({store.location}) has no answered request "
                         f"left to evaluate{span}: {len(segments)} segment{'' if len(segments) == 1 else 's'}, "
                         f"{len(done & {s.name for s in segments})} evaluated before by env '{env}' (evaluate them "
                         f"again with --again){left}")
    return PostProdSource(
        _register_rows(workspace, data, endpoint, rows), rows,
        f"production log of endpoint {endpoint} in {store.location} ({len(rows)} answered requests in "
        f"{len(read)} new segment{'' if len(read) == 1 else 's'}{span}{_skipped(probes)})",
        lambda: store.record_evaluated(endpoint, env, read), kind)


def _cloud_endpoint(use_case: UseCase, env: str, kind: str) -> str | None:
    """The endpoint name a cloud target's servers log under; None for the local target."""
    if kind == LOCAL:
        return None
    block: Any = use_case.deployment.for_env(kind, env)
    if block is None:
        raise LlmopsError(f"use_cases/{use_case.name}/configs/deployment_config.json has no {kind}_endpoint entry for "
                          f"env '{env}'")
    return str(block.WEB_APP_NAME if kind == WEBAPP else block.ENDPOINT_NAME)


def _from_dataset(workspace: Workspace, data: DataRegistry, use_case: UseCase, env: str,
                  name: str | None, probes_only: str = "") -> PostProdSource:
    """`probes_only`: why the endpoint's log, which holds only probes, was not read (_only_probes)."""
    if name:
        dataset = use_case.data.named(name)
        if dataset is None:
            raise unknown_name("dataset", name, [d.DATASET_NAME for d in use_case.data.datasets])
    else:
        logs = use_case.data.for_env(env, *PRODUCTION_LOG_PURPOSES)
        if not logs and probes_only:
            raise LlmopsError(f"the production log of env '{env}' of use case '{use_case.name}' has no request to "
                              f"evaluate: {probes_only}; or pass --dataset")
        if not logs:
            raise LlmopsError(f"env '{env}' of use case '{use_case.name}' has no production log yet and no dataset "
                              "with DATA_PURPOSE production_log in configs/data_config.json; send requests to the "
                              "endpoint first, or pass --dataset")
        if probes_only:  # as for an empty log, the dataset stands in; say why the log did not
            logger.warning("the production log has no request to evaluate: %s; reading dataset %s instead",
                           probes_only, logs[0].DATASET_NAME)
        dataset = logs[0]
    path = use_case.path(dataset.DATA_PATH)
    version = data.register(dataset.DATASET_NAME, path, dataset.DATASET_DESC, workspace.shown(path))
    rows = read_objects(path, workspace.root)
    if not rows:
        raise LlmopsError(f"dataset {dataset.DATASET_NAME} ({dataset.DATA_PATH}) has no lines; nothing to evaluate")
    return PostProdSource(version, rows, f"dataset {dataset.DATASET_NAME} version {version.version}")


def choose_source(workspace: Workspace, use_case: UseCase, env: str, source: str | None,
                  backend: Backend | None = None, kind: str = LOCAL, window: LogWindow | None = None,
                  store: ProductionLogStore | None = None) -> PostProdSource:
    """`log`: the production log of the env's endpoint on target `kind` (local: its file; a cloud target: the
    segments its servers shipped, read from `store`, which the CLI opens with the Azure variables it read); a
    dataset name; None: the log when it has lines, else the env's production_log dataset. The source is registered
    as a dataset version."""
    backend = backend or open_backend(workspace, use_case, env)
    window = window or LogWindow()
    if source in (None, FROM_LOG):
        cloud = _cloud_endpoint(use_case, env, kind)
        endpoint = cloud or local_endpoint(use_case, env).ENDPOINT_NAME
        probes = 0
        if cloud is None:
            found, probes = _from_log(workspace, backend.registry.data, endpoint, window)
        else:
            store = store or open_production_log_store(use_case, env)
            found = _from_shipped_log(workspace, backend.registry.data, store, use_case, endpoint, env, window, kind)
        if found is not None:
            return found
        probes_only = _only_probes(probes, use_case, env, kind) if probes else ""
        if source == FROM_LOG:
            raise LlmopsError(f"the production log of endpoint '{endpoint}' has no request to evaluate yet: "
                              + (probes_only or f"no answered request; {_send_traffic(use_case, env, kind)}"))
        return _from_dataset(workspace, backend.registry.data, use_case, env, source, probes_only)
    return _from_dataset(workspace, backend.registry.data, use_case, env, source)


def post_prod_flow(use_case: UseCase, env: str) -> tuple[Flow, dict[str, str]]:
    """The env's post-production flow and its column mapping; raises when either is missing."""
    flow = use_case.post_prod_flow(env)
    if flow is None and use_case.judges_production_log(env):
        raise LlmopsError(f"env '{env}' of use case '{use_case.name}' judges its production log with its standard "
                          f"flow, as the original template's postprodeval env does; run: llmops run --use-case "
                          f"{use_case.name} --env {env}")
    if flow is None:
        raise LlmopsError(f"env '{env}' of use case '{use_case.name}' has no POST_PROD_EVALUATION_FLOW_PATH in "
                          "llmops_config.json; add the post-production evaluation flow there")
    mapping = use_case.mapping.evaluation.get(flow.name)
    if mapping is None:
        raise LlmopsError(f"configs/mapping_config.json has no evaluation.{flow.name} mapping for the "
                          "post-production flow; map its inputs to the log's columns (${{data.<column>}})")
    return flow, mapping


def post_prod_eval(workspace: Workspace, use_case: UseCase, env: str, session: LlmSession, source: PostProdSource,
                   progress: ProgressFactory | None = None, backend: Backend | None = None) -> PostProdResult:
    """Run the post-production flow over `source` (from choose_source, found before an LLM session opens)."""
    backend = backend or open_backend(workspace, use_case, env)
    flow, mapping = post_prod_flow(use_case, env)
    require_flow_modules(use_case, env, [flow])
    if not source.rows:
        raise LlmopsError(f"the {source.description} has no lines; nothing to evaluate")
    logger.info("post-production evaluation of %s over the %s", use_case.name, source.description)
    spec = RunSpec(
        use_case=use_case.name, env=env, kind="post_prod", flow=flow, flow_path=workspace.shown(flow.path),
        variant=flow.default_variants(),
        variant_label="post_prod", dataset=source.dataset.name, dataset_version=source.dataset.version,
        data_sha256=source.dataset.sha256, mapping=mapping,
        rows=[(i, map_inputs(mapping, row)) for i, row in enumerate(source.rows)],
    )
    result = backend.executor.execute([spec], session, use_case.env(env).CONCURRENCY, progress)[0]
    backend.registry.runs.record_run_set("post_prod", use_case.name, env, [result.record.run_id])
    if source.evaluated is not None and result.record.status == COMPLETED:  # failed lines: the next run retries them
        source.evaluated()
    report, comparison, comparison_file = _report(workspace, use_case, env, source, result)
    return PostProdResult(source, result, report, comparison, comparison_file)


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) else None


def _mean(values: tuple[float | None, ...]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else float("nan")  # NaN reads as "no value" in the report


def _report(workspace: Workspace, use_case: UseCase, env: str, source: PostProdSource,
            result: RunResult) -> tuple[Any, list[Any], Path | None]:
    """One report 'run' per deployment (the lines it answered) with its evaluation, then current vs prior."""
    from llmops.config.judge_flow import judge_flows
    from llmops.report.deployment_comparison import compare_deployments, write_deployment_comparison
    from llmops.report.judge_section import current_records
    from llmops.report.model import EvaluationRun, ExperimentRun, LineResult
    from llmops.report.writer import write_report

    record = result.record
    by_deployment: dict[str, list[Any]] = {}
    for line in result.lines:
        row = source.rows[line.index] if line.index < len(source.rows) else {}
        by_deployment.setdefault(str(row.get("deployment") or UNKNOWN_DEPLOYMENT), []).append(line)
    metric_names = sorted({k for line in result.lines for k, v in line.outputs.items() if _numeric(v) is not None})
    runs, evaluations = [], []
    values: dict[str, dict[str, list[float | None]]] = {name: {} for name in metric_names}
    for deployment, lines in by_deployment.items():
        run_id = f"{record.run_id}:{deployment}"
        runs.append(ExperimentRun(
            run_id=run_id, name=f"{record.name}:{deployment}", variant={}, variant_label=deployment,
            is_baseline=False, dataset=record.dataset, dataset_version=record.dataset_version,
            lines=tuple(LineResult(o.index, o.inputs, o.outputs, o.error) for o in lines), usage=None,
        ))
        line_values = {name: tuple(_numeric(o.outputs.get(name)) for o in lines) for name in metric_names}
        for name in metric_names:
            values[name][deployment] = list(line_values[name])
        means = {name: _mean(vals) for name, vals in line_values.items()}
        evaluations.append(EvaluationRun(
            eval_flow=record.flow, run_id=run_id, experiment_run_id=run_id, dataset=record.dataset,
            metrics=means, line_values=line_values, line_errors=tuple(o.error for o in lines),
        ))
    judges = current_records(workspace.state_dir, use_case.name, env, judge_flows(use_case, env, "post_prod"),
                             rerun=f"llmops post-prod-eval --use-case {use_case.name} --env {env}")
    report = write_report(use_case.name, env, runs, evaluations, {}, workspace.reports_dir / "post_prod",
                          judges=judges)
    block = use_case.deployment.for_env(source.target, env)
    current = getattr(block, "CURRENT_DEPLOYMENT_NAME", "")
    prior = getattr(block, "PRIOR_DEPLOYMENT_NAME", "")
    if not (current and prior and (current in by_deployment or prior in by_deployment)):
        return report, [], None
    comparison = compare_deployments(values, current, prior)
    return report, comparison, write_deployment_comparison(report.folder, comparison)

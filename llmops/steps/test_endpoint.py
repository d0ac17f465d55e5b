"""Step: send the sample request (and optionally N dataset lines) to the running endpoint and check each answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.targets import DeploymentTarget
from llmops.config.jsonl import read_objects
from llmops.config.mapping_config import map_inputs
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, StepFailed, unknown_name
from llmops.serving import process
from llmops.serving.endpoint_config import local_endpoint
from llmops.serving.endpoint_key import EndpointKey, resolve_key
from llmops.serving.smoke import RequestCheck, check_reply, check_request, sample_requests
from llmops.serving.targets import target_block


@dataclass(frozen=True)
class EndpointTestResult:
    scoring_url: str
    checks: list[RequestCheck]

    @property
    def failed(self) -> list[RequestCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def failure(self) -> StepFailed | None:
        if not self.failed:
            return None
        return StepFailed(f"{len(self.failed)} of {len(self.checks)} endpoint requests failed: "
                          + "; ".join(c.describe() for c in self.failed))

    def to_dict(self) -> dict[str, Any]:
        return {"scoring_url": self.scoring_url, "checks": [
            {"name": c.name, "status": c.status, "deployment": c.deployment, "ok": c.ok,
             "milliseconds": round(c.seconds * 1000, 1), "problems": list(c.problems)} for c in self.checks]}


def _requests(use_case: UseCase, env: str, test_file: str, lines: int, dataset: str | None) -> list[tuple[str, Any]]:
    found = sample_requests(use_case.path(test_file), test_file)
    if lines <= 0:
        return found
    candidates = use_case.experiment_datasets(env)
    chosen = use_case.data.named(dataset) if dataset else (candidates[0] if candidates else None)
    if chosen is None:
        valid = [d.DATASET_NAME for d in use_case.data.for_env(env)]
        raise unknown_name(f"dataset of env '{env}'", dataset or "(experiment dataset)", valid)
    rows = read_objects(use_case.path(chosen.DATA_PATH), use_case.root)[:lines]
    return found + [(f"{chosen.DATASET_NAME} line {i}", map_inputs(use_case.mapping.experiment, row))
                    for i, row in enumerate(rows)]


def test_endpoint(workspace: Workspace, use_case: UseCase, env: str, lines: int = 0, dataset: str | None = None,
                  deployment: str | None = None, raise_on_failure: bool = True,
                  key: EndpointKey | None = None, environ: Mapping[str, str] | None = None,
                  target: DeploymentTarget | None = None) -> EndpointTestResult:
    """Every request must answer 200 with every output of the standard flow; `deployment` forces one; `key` is
    the endpoint's key, else read as the env's AUTH_KEY_VARIABLE from `environ` or the .env file. `target`: a
    deployed endpoint (serving/targets.open_target) to send the requests through, with its own key, instead of the
    env's running local endpoint."""
    outputs = list(use_case.standard_flow(env).outputs)
    if target is not None:
        test_file = target_block(use_case, env, target.kind).TEST_FILE_PATH
        checks = []
        for name, inputs in _requests(use_case, env, test_file, lines, dataset):
            reply = target.score(deployment, inputs)
            detail = target.failure_detail(reply) if reply.status not in (0, 200) else None
            checks.append(check_reply(name, reply, outputs, deployment, detail))
        result = EndpointTestResult(target.scoring_url(), checks)
    else:
        if key is None and environ is not None:
            key = resolve_key(use_case, env, workspace.root / ".env", environ)
        block = local_endpoint(use_case, env)
        info = process.running(workspace.state_dir, block.ENDPOINT_NAME)
        if info is None:
            raise LlmopsError(f"endpoint '{block.ENDPOINT_NAME}' is not running; start it with: llmops endpoint up "
                              f"--use-case {use_case.name} --env {env}")
        result = EndpointTestResult(info.scoring_url, [
            check_request(info.scoring_url, name, inputs, outputs, deployment, key, Path(info.server_log))
            for name, inputs in _requests(use_case, env, block.TEST_FILE_PATH, lines, dataset)])
    if raise_on_failure and result.failure is not None:
        raise result.failure
    return result


test_endpoint.__test__ = False  # type: ignore[attr-defined]  # a step, not a pytest test

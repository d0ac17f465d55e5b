"""Run the web_classification PR pipeline through the Python API (what `llmops run` does).

    python local_execution/web_classification_local_experiment.py [--provider replay|embedded|auto]

Connections come from `.env` at the repository root (see .env.sample); with no key the embedded
model answers, and `--provider replay` answers from the recorded cassettes with no model at all.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.llm.connections import read_connections
from llmops.llm.providers import Use
from llmops.llm.session import LlmSession, LlmSettings
from llmops.pipelines import experiment_pipeline

USE_CASE, ENV = "web_classification", "pr"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()

    workspace = Workspace.find(Path(args.root))
    use_case = load_use_case(workspace, USE_CASE)
    flows = [use_case.standard_flow(ENV), *use_case.evaluation_flows(ENV)]
    settings = LlmSettings(
        state_dir=workspace.state_dir, cassette_dir=use_case.folder / "cassettes", provider=args.provider,
        connections=read_connections(workspace.root / ".env", os.environ),
    )
    uses = [Use(f.name, node, conn) for f in flows for node, conn in f.connections()]
    with LlmSession(settings, uses) as session:
        result = experiment_pipeline(workspace, use_case, ENV, session)
    for run in result.experiment.runs:
        print(f"{run.record.variant_label}: {run.record.lines_total} lines, {run.record.lines_failed} failed")
    for gate in result.report.report.gate_results:
        print(f"gate {gate.metric} on {gate.variant_label}: {gate.value} ({'pass' if gate.passed else 'fail'})")
    print(f"report: {result.report.report.folder}")
    return 0 if result.failure is None else result.failure.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

"""Run the web_classification PR pipeline through the Python API (what `llmops run` does).

    python local_execution/web_classification_local_experiment.py [--provider replay|embedded|auto]

Connections come from `.env` at the repository root (see .env.sample); with no key the embedded
model answers, and `--provider replay` answers from the recorded cassettes with no model at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from llmops import Workspace, experiment_pipeline, load_use_case, open_session

USE_CASE, ENV = "web_classification", "pr"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", help="default: the env's PROVIDER (auto: a .env key, else the embedded model)")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()

    workspace = Workspace.find(Path(args.root))
    use_case = load_use_case(workspace, USE_CASE)
    flows = [use_case.standard_flow(ENV), *use_case.evaluation_flows(ENV)]
    with open_session(workspace, use_case, ENV, flows, provider=args.provider) as session:
        result = experiment_pipeline(workspace, use_case, ENV, session)
    for run in result.experiment.runs:
        print(f"{run.record.variant_label}: {run.record.lines_total} lines, {run.record.lines_failed} failed")
    for gate in result.report.report.gate_results:
        print(f"gate {gate.metric} on {gate.variant_label}: {gate.value} ({'pass' if gate.passed else 'fail'})")
    print(f"report: {result.report.report.folder}")
    return 0 if result.failure is None else result.failure.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

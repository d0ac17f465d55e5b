"""Experiment reports: per-line and per-metric CSVs, an HTML report, a Markdown and JSON summary,
paired statistics against the baseline variant and quality gates.

Pure library: it reads result objects (llmops.report.model) and writes files; it runs nothing.
"""

from llmops.report.gates import Gate, GateResult, evaluate_gates, failure_message, parse_gates
from llmops.report.model import BASELINE_LABEL, EvaluationRun, ExperimentRun, LineResult, UsageTotals
from llmops.report.writer import ReportResult, write_report

__all__ = [
    "BASELINE_LABEL",
    "EvaluationRun",
    "ExperimentRun",
    "Gate",
    "GateResult",
    "LineResult",
    "ReportResult",
    "UsageTotals",
    "evaluate_gates",
    "failure_message",
    "parse_gates",
    "write_report",
]

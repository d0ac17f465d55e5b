"""The run's judgements: the mean score (1-5) over the answers the judge scored, and the share of answers
judged acceptable (an unclear judgement counts as not acceptable)."""

from __future__ import annotations

from promptflow.core import log_metric, tool


def aggregate(judgements: list[dict]) -> dict[str, float]:
    scored = [j["score"] for j in judgements if j["score"] is not None]
    return {
        "score": round(sum(scored) / len(scored), 4) if scored else 0.0,
        "acceptable": round(sum(j["acceptable"] for j in judgements) / len(judgements), 4) if judgements else 0.0,
    }


@tool
def aggregate_scores(judgements: list) -> dict[str, float]:
    metrics = aggregate(judgements)
    for name, value in metrics.items():
        log_metric(name, value)
    return metrics

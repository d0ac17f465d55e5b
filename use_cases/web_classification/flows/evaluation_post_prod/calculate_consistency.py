"""Aggregate the per-line judgements into the share of production answers the judge found consistent."""

from __future__ import annotations

from promptflow.core import log_metric, tool


@tool
def calculate_consistency(consistent: list[float]) -> dict[str, float]:
    consistency = round(sum(consistent) / len(consistent), 4) if consistent else 0.0
    log_metric("consistency", consistency)
    return {"consistency": consistency}

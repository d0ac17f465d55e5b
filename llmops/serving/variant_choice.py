"""Which variant a model is registered with and a deployment serves: the best of the latest report, else defaults.

The latest report is `reports/<use_case>/<env>/LATEST` -> `summary.json`; its `best_variants` name the
variant with the highest primary metric, and its `runs` give that variant's node -> variant id map.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.backends.types import ModelVersion
from llmops.config.flow_base import Flow
from llmops.config.variants import label

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VariantChoice:
    variant: dict[str, str]
    label: str
    source: str  # where the choice came from, said to the user
    metrics: dict[str, float] = field(default_factory=dict)  # "<eval flow>/<metric>" -> value of the variant
    report_folder: str | None = None


def latest_summary(reports_dir: Path, use_case: str, env: str) -> tuple[Path, dict[str, Any]] | None:
    env_folder = reports_dir / use_case / env
    pointer = env_folder / "LATEST"
    if not pointer.is_file():
        return None
    folder = env_folder / pointer.read_text(encoding="utf-8").strip()
    summary = folder / "summary.json"
    if not summary.is_file():
        return None
    return folder, json.loads(summary.read_text(encoding="utf-8"))


def choose_variant(reports_dir: Path, use_case: str, env: str, flow: Flow) -> VariantChoice:
    defaults = flow.default_variants()
    found = latest_summary(reports_dir, use_case, env)
    if found is None:
        return VariantChoice(defaults, "defaults", "defaults: no report yet")
    folder, summary = found
    best = (summary.get("best_variants") or [{}])[0].get("variant_label")
    run = next((r for r in summary.get("runs", []) if r.get("variant_label") == best), None)
    if not best or run is None:
        return VariantChoice(defaults, "defaults", f"defaults: report {folder.name} names no best variant",
                             report_folder=str(folder))
    variant = {**defaults, **run.get("variant", {})}
    options = flow.variants()
    unknown = [f"{node}.{vid}" for node, vid in variant.items() if vid not in options.get(node, [])]
    if unknown:
        logger.warning("the best variant of report %s (%s) is no longer in flow %s; using the defaults",
                       folder.name, ", ".join(unknown), flow.name)
        return VariantChoice(defaults, "defaults", f"defaults: report {folder.name}'s best variant {best} is no "
                             "longer in the flow", report_folder=str(folder))
    metrics = {f"{m['eval_flow']}/{m['metric']}": v["value"]
               for m in summary.get("metrics", []) for v in m.get("variants", [])
               if v.get("variant_label") == best and v.get("value") is not None
               and m.get("dataset") == (summary.get("best_variants") or [{}])[0].get("dataset")}
    return VariantChoice(variant, label(variant, defaults), f"best variant of report {folder.name}", metrics,
                         str(folder))


def registered_variant(model: ModelVersion, flow: Flow) -> VariantChoice:
    """The variant `model` was registered with (its lineage), which its serving image serves; the flow's defaults for
    a version registered without one."""
    lineage = model.lineage
    variant = lineage.get("variant")
    if not isinstance(variant, dict):
        return VariantChoice(flow.default_variants(), "defaults",
                             f"defaults: model {model.name} version {model.version} was registered without a variant")
    return VariantChoice({str(k): str(v) for k, v in variant.items()}, str(lineage.get("variant_label") or "defaults"),
                         str(lineage.get("variant_source") or f"registered with model version {model.version}"))

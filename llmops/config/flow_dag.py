"""A light reading of a prompt flow `flow.dag.yaml`: inputs, outputs, nodes and node variants.

Parsed with PyYAML so validation never imports prompt flow (slow to import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmops.config.flow_base import Flow
from llmops.config.problems import Problem, display_path

DAG_FILES = ("flow.dag.yaml", "flow.dag.yml")


@dataclass(frozen=True)
class FlowDag(Flow):
    nodes: list[dict[str, Any]] = field(default_factory=list)
    node_variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    kind = "dag"

    def variants(self) -> dict[str, list[str]]:
        """node -> variant ids, the default first, for every node that uses variants."""
        out: dict[str, list[str]] = {}
        for node, spec in self.node_variants.items():
            ids = list((spec.get("variants") or {}).keys())
            default = spec.get("default_variant_id")
            if default in ids:
                ids.remove(default)
                ids.insert(0, default)
            out[node] = ids
        return out

    def default_variants(self) -> dict[str, str]:
        return {node: spec.get("default_variant_id", "") for node, spec in self.node_variants.items()}

    def connections(self) -> list[tuple[str, str]]:
        """(node, connection name) for every node and variant that names a connection."""
        found: list[tuple[str, str]] = []
        for node in self.nodes:
            if node.get("connection"):
                found.append((node["name"], str(node["connection"])))
        for node_name, spec in self.node_variants.items():
            for variant in (spec.get("variants") or {}).values():
                conn = ((variant or {}).get("node") or {}).get("connection")
                if conn and (node_name, str(conn)) not in found:
                    found.append((node_name, str(conn)))
        return found


    def code_files(self) -> list[str]:
        return [path for node in self._all_nodes() for path in _code_path(node)]

    def tool_packages(self) -> list[str]:
        """`source: {type: package, tool: pkg.tools.x}` and `module: pkg.x` of every node and variant."""
        found = []
        for node in self._all_nodes():
            source = node.get("source") or {}
            for name in (source.get("tool") if source.get("type") == "package" else None, node.get("module")):
                if isinstance(name, str) and name.strip():
                    found.append(name.strip().split(".")[0])
        return found

    def _all_nodes(self) -> list[dict[str, Any]]:
        """The dag's nodes and every variant's node."""
        variants = [variant for spec in self.node_variants.values()
                    for variant in ((spec or {}).get("variants") or {}).values()]
        return [*self.nodes, *((variant or {}).get("node") or {} for variant in variants)]


def _code_path(node: dict[str, Any]) -> list[str]:
    source = node.get("source") or {}
    path = str(source.get("path") or "")
    return [path] if source.get("type", "code") == "code" and path.endswith(".py") else []


def find_dag_file(folder: Path) -> Path | None:
    for name in DAG_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def load_dag(dag_file: Path, root: Path | None, problems: list[Problem]) -> FlowDag | None:
    """The DAG flow `dag_file` defines (its folder is the flow's)."""
    folder = dag_file.parent
    shown = display_path(dag_file, root)
    try:
        raw = yaml.safe_load(dag_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problems.append(Problem(shown, where, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        problems.append(Problem(shown, "nodes", "a flow needs a list of nodes"))
        return None
    flow = FlowDag(
        folder=folder,
        file=dag_file,
        inputs={k: (v or {}) for k, v in (raw.get("inputs") or {}).items()},
        outputs={k: (v or {}) for k, v in (raw.get("outputs") or {}).items()},
        nodes=[n for n in raw["nodes"] if isinstance(n, dict)],
        node_variants=raw.get("node_variants") or {},
        raw=raw,
    )
    _check_variants(flow, shown, problems)
    return flow


def _check_variants(flow: FlowDag, shown: str, problems: list[Problem]) -> None:
    for node in flow.nodes:
        if node.get("use_variants") and node.get("name") not in flow.node_variants:
            problems.append(Problem(shown, f"nodes.{node.get('name')}",
                                    "use_variants is true but node_variants has no entry for this node"))
    for node_name, spec in flow.node_variants.items():
        variants = (spec or {}).get("variants") or {}
        default = (spec or {}).get("default_variant_id")
        if not default:
            problems.append(Problem(shown, f"node_variants.{node_name}.default_variant_id", "missing"))
        elif default not in variants:
            valid = ", ".join(variants) or "(none)"
            problems.append(Problem(shown, f"node_variants.{node_name}.default_variant_id",
                                    f"'{default}' is not one of its variants: {valid}"))

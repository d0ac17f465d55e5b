"""Write a flow.dag.yaml with chosen variants applied and one connection per LLM node.

Prompt flow applies a variant by replacing a `use_variants` node with the variant's node. We do the
same in the snapshot copy, and rename each node's connection to `<connection>__<node>` so the gateway
route given to that connection tells the gateway which node (and run, and variant) a call is for.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops.backends.local.engine.atomic_file import write_atomically


@dataclass(frozen=True)
class NodeConnection:
    node: str
    connection: str  # the name the flow uses (aoai)
    alias: str  # the per-node name written into the materialized dag (aoai__classify)
    kind: str  # "azure" when the node passes deployment_name, else "openai"


def apply_variants(raw: dict[str, Any], variant: dict[str, str]) -> dict[str, Any]:
    dag = copy.deepcopy(raw)
    node_variants = dag.pop("node_variants", {}) or {}
    nodes = []
    for node in dag.get("nodes", []):
        if not node.get("use_variants"):
            nodes.append(node)
            continue
        spec = node_variants[node["name"]]
        chosen = variant.get(node["name"]) or spec["default_variant_id"]
        nodes.append({"name": node["name"], **copy.deepcopy(spec["variants"][chosen]["node"])})
    dag["nodes"] = nodes
    return dag


def split_connections(dag: dict[str, Any]) -> list[NodeConnection]:
    found = []
    for node in dag.get("nodes", []):
        name = node.get("connection")
        if not name:
            continue
        alias = f"{name}__{node['name']}"
        inputs = node.get("inputs") or {}
        kind = "azure" if "deployment_name" in inputs else "openai"
        node["connection"] = alias
        found.append(NodeConnection(node=node["name"], connection=str(name), alias=alias, kind=kind))
    return found


def write_variant_dag(snapshot: Path, dag_file: Path, variant: dict[str, str]) -> tuple[str, list[NodeConnection]]:
    """Returns the materialized dag's file name (inside `snapshot`) and its per-node connections."""
    raw = yaml.safe_load(dag_file.read_text(encoding="utf-8"))
    dag = apply_variants(raw, variant)
    connections = split_connections(dag)
    key = hashlib.sha256(json.dumps(variant, sort_keys=True).encode()).hexdigest()[:10]
    name = f"flow.variant-{key}.dag.yaml"
    target = snapshot / name
    if not target.is_file():  # another command may be reading it: never let it see the file half written
        write_atomically(target, yaml.safe_dump(dag, sort_keys=False))
    return name, connections

"""LLM judges: the evaluation flows that call an LLM, what their verdicts depend on, and which of an env's flows
they are.

A judge's verdicts change when its model, its provider or its prompt changes. The prompt is pinned by a hash of
its prompt files: a DAG's LLM and prompt nodes' templates (each node's default variant), a prompty's file, and a
flex flow's entry file with any .prompty or .jinja2 file beside it (its prompt lives in its code). The model is
what the flow declares (a DAG node's `deployment_name` or `model`, a configuration's deployment or model); the
provider that answered is known only to the LLM session (llmops/llm/judge_identity.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.flow_base import Flow
from llmops.config.flow_dag import FlowDag
from llmops.config.flow_flex import FlexFlow
from llmops.config.flow_prompty import PromptyFlow
from llmops.config.use_case import UseCase

_PROMPT_NODE_TYPES = ("llm", "prompt")
_FLEX_PROMPT_SUFFIXES = (".prompty", ".jinja2")


@dataclass(frozen=True)
class JudgeCall:
    """One place a judge calls an LLM: the node, the connection it names and the model it asks for."""

    node: str
    connection: str
    model: str  # "" when the flow names none (the connection's own model answers)


def is_judge(flow: Flow) -> bool:
    """A flow that calls an LLM through a connection."""
    return bool(flow.connections())


def judge_flows(use_case: UseCase, env: str, kind: str) -> list[Flow]:
    """The judges among the flows a step evaluates with: `evaluation` (the env's evaluation flows and, in an env
    that judges a production log, its standard flow) or `post_prod` (its post-production flow)."""
    if kind == "post_prod":
        flow = use_case.post_prod_flow(env)
        flows = [flow] if flow is not None else []
    else:
        flows = list(use_case.evaluation_flows(env))
        if use_case.judges_production_log(env):
            flows.append(use_case.standard_flow(env))
    return [flow for flow in flows if is_judge(flow)]


def judge_calls(flow: Flow) -> list[JudgeCall]:
    if isinstance(flow, FlowDag):
        return [JudgeCall(str(node.get("name")), str(node["connection"]), _dag_model(node))
                for node in _default_nodes(flow) if node.get("type") == "llm" and node.get("connection")]
    if isinstance(flow, PromptyFlow) and flow.target is not None:
        return [JudgeCall(flow.name, flow.target.connection, flow.target.model)]
    if isinstance(flow, FlexFlow):
        return [JudgeCall(model.param, model.target.connection, model.target.model) for model in flow.models]
    return [JudgeCall(node, connection, "") for node, connection in flow.connections()]


def prompt_files(flow: Flow) -> list[Path]:
    """The files a judge's prompt is written in, sorted by path."""
    if isinstance(flow, FlowDag):
        found = [flow.folder / str((node.get("source") or {}).get("path")) for node in _default_nodes(flow)
                 if node.get("type") in _PROMPT_NODE_TYPES and (node.get("source") or {}).get("path")]
    elif isinstance(flow, PromptyFlow):
        found = [flow.file]
    elif isinstance(flow, FlexFlow):
        found = [flow.entry_file, *(p for p in flow.folder.rglob("*") if p.suffix in _FLEX_PROMPT_SUFFIXES)]
    else:
        found = [flow.file]
    return sorted({p for p in found if p.is_file()}, key=lambda p: p.relative_to(flow.folder).as_posix())


def prompt_sha256(flow: Flow) -> str:
    """A hash of the judge's prompt files, their paths in the flow folder and their bytes."""
    digest = hashlib.sha256()
    for path in prompt_files(flow):
        digest.update(path.relative_to(flow.folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _default_nodes(flow: FlowDag) -> list[dict[str, Any]]:
    """The DAG's nodes as they run with every default variant."""
    nodes = []
    for node in flow.nodes:
        spec = flow.node_variants.get(str(node.get("name"))) if node.get("use_variants") else None
        if spec:
            variant = ((spec.get("variants") or {}).get(spec.get("default_variant_id")) or {}).get("node") or {}
            node = {**variant, "name": node.get("name"), "type": variant.get("type", node.get("type"))}
        nodes.append(node)
    return nodes


def _dag_model(node: dict[str, Any]) -> str:
    inputs = node.get("inputs") or {}
    for key in ("deployment_name", "model"):
        if isinstance(inputs.get(key), str) and inputs[key].strip():
            return str(inputs[key]).strip()
    return ""

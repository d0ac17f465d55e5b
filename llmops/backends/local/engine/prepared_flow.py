"""A flow in its snapshot with a variant applied, whatever its format: the connections it calls and its runner.

Every caller (a step's runs, a quick flow test, an endpoint's deployments, an Azure ML node) does the same three
things: prepare the flow, have the session route its connections through the gateway (each tagged with the run,
variant, flow and node: FlowSession.pf_connections), and make the runner with them:

    prepared = prepare(snapshot, "flow.dag.yaml", variant)
    runner = prepared.runner(session.pf_connections(flow_name, run_id, variant_label, prepared.connections))

- a DAG: its variant applied in a materialized dag, one connection per LLM node (variants_dag.py), run by prompt
  flow's executor (flow_runner.FlowRunner);
- a prompty: the variant's file (a sibling .prompty), its model configuration replaced by the gateway's;
- a flex flow: its entry, its init's model configurations and connections replaced by the gateway's, and its
  lines run inside the standard variables at the gateway when its code reads them (line_environment.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.local.engine.callable_runner import CallableRunner, Entry
from llmops.backends.local.engine.flow_runner import FlowRunner
from llmops.backends.local.engine.gateway_models import (
    connection_object,
    model_configuration,
    standard_variables,
)
from llmops.backends.local.engine.line_runner import LineRunner
from llmops.backends.local.engine.variants_dag import NodeConnection, write_variant_dag
from llmops.config.flow_flex import ENVIRONMENT_NODE, FLEX_FILES, FlexFlow, load_flex
from llmops.config.flow_prompty import PROMPTY_SUFFIX, PromptyFile, read_prompty, variant_file_name
from llmops.config.model_config import AZURE, OPENAI
from llmops.config.problems import Problem
from llmops.errors import ConfigError

RoutedConnections = dict[str, dict[str, Any]]  # alias -> a prompt flow connection dict at the gateway


@dataclass(frozen=True)
class PreparedFlow:
    connections: list[NodeConnection]  # what the flow calls, each under its own alias
    make: Callable[[RoutedConnections], LineRunner]

    def runner(self, routed: RoutedConnections) -> LineRunner:
        return self.make(routed)


def prepare(snapshot: Path, flow_file: str, variant: dict[str, str], *, records: bool = True) -> PreparedFlow:
    """`flow_file` is the flow's file inside `snapshot` (flow.dag.yaml, flow.flex.yaml or <name>.prompty);
    `records=False` for a server, which keeps no run records of a DAG's lines (flow_runner.FlowRunner)."""
    if flow_file.endswith(PROMPTY_SUFFIX):
        return _prompty(snapshot, flow_file, variant)
    if Path(flow_file).name in FLEX_FILES:
        return _flex(snapshot, flow_file)
    dag_name, node_connections = write_variant_dag(snapshot, snapshot / flow_file, variant)
    return PreparedFlow(node_connections, lambda routed: FlowRunner(snapshot, dag_name, routed, records=records))


def _loaded(problems: list[Problem]) -> ConfigError:
    return ConfigError(problems or [Problem("", "", "the flow could not be loaded")])


def _prompty(snapshot: Path, flow_file: str, variant: dict[str, str]) -> PreparedFlow:
    file = (snapshot / flow_file).parent / variant_file_name(flow_file, variant)
    problems: list[Problem] = []
    prompty = read_prompty(file, None, problems)
    if prompty is None:
        raise _loaded(problems)
    target = prompty.target
    node = NodeConnection(node=prompty.stem, connection=target.connection, alias=f"{target.connection}__{prompty.stem}",
                          kind=target.kind)

    def make(routed: RoutedConnections) -> LineRunner:
        configuration = model_configuration(routed[node.alias], target)
        # Its configuration is the gateway's, so the standard variables are hidden from it: no real key is read.
        return CallableRunner(lambda: _prompty_entry(prompty, configuration), standard_variables(None, None),
                              f"prompty {file.name}")

    return PreparedFlow([node], make)


def _prompty_entry(prompty: PromptyFile, configuration: Any) -> Entry:
    from promptflow.core import Prompty

    loaded = Prompty.load(source=prompty.file, model={"configuration": configuration})
    return Entry(prompty.file.name, loaded, None)


def _flex(snapshot: Path, flow_file: str) -> PreparedFlow:
    problems: list[Problem] = []
    flow = load_flex(snapshot / flow_file, None, problems)
    if flow is None or problems:
        raise _loaded(problems)
    nodes = [NodeConnection(model.param, model.target.connection, f"{model.target.connection}__{model.param}",
                            model.target.kind) for model in flow.models]
    environment: dict[str, NodeConnection] = {}
    if flow.environment_connection:
        for kind in (AZURE, OPENAI):  # the code may build either client: both reach the one connection
            environment[kind] = NodeConnection(ENVIRONMENT_NODE, flow.environment_connection,
                                               f"{flow.environment_connection}__{ENVIRONMENT_NODE}_{kind}", kind)

    def make(routed: RoutedConnections) -> LineRunner:
        from llmops.backends.local.engine.flex_entry import flex_entry

        models = {model.param: connection_object(routed[node.alias]) if model.is_connection
                  else model_configuration(routed[node.alias], model.target)
                  for model, node in zip(flow.models, nodes, strict=True)}
        azure, openai = (routed[environment[kind].alias] if kind in environment else None for kind in (AZURE, OPENAI))
        variables = {**standard_variables(azure, openai), **_declared_variables(flow, routed, environment)}
        return CallableRunner(lambda: flex_entry(flow, snapshot, models), variables, f"flex flow {flow.entry}")

    return PreparedFlow([*nodes, *environment.values()], make)


def _declared_variables(flow: FlexFlow, routed: RoutedConnections,
                        environment: dict[str, NodeConnection]) -> dict[str, str | None]:
    """`environment_variables` of flow.flex.yaml: plain values as given, `${env:NAME}` from this process, and a
    connection's fields (`${<connection>.api_key}`...) as the gateway's (its key, its routes)."""
    declared = flow.raw.get("environment_variables")
    values: dict[str, str | None] = {}
    for name, value in (declared.items() if isinstance(declared, dict) else []):
        text = str(value).strip()
        if text.startswith("${env:") and text.endswith("}"):
            values[str(name)] = os.environ.get(text[6:-1].strip())
        elif text.startswith("${") and text.endswith("}") and "." in text:
            field = text[2:-1].split(".", 1)[1].strip()
            azure = routed[environment[AZURE].alias]["value"] if AZURE in environment else {}
            openai = routed[environment[OPENAI].alias]["value"] if OPENAI in environment else {}
            gateway = {"api_key": azure.get("api_key") or openai.get("api_key"), "api_base": azure.get("api_base"),
                       "api_version": azure.get("api_version"), "base_url": openai.get("base_url"), "api_type": "azure"}
            values[str(name)] = gateway.get(field)  # any other field of the connection is not the flow's to read
        else:
            values[str(name)] = text
    return values

"""Pipeline jobs: nodes run in the order their bindings demand, each in its own folder.

A node's inputs bind to the pipeline's inputs (`${{parent.inputs.x}}`), to another node's outputs
(`${{parent.jobs.a.outputs.y}}`) or to literals; a node's output may be bound to a pipeline output
(`${{parent.outputs.z}}`). Command nodes run as one process; parallel nodes as a ParallelRun.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .bindings import reference, substitute
from .command import run_command
from .inputs import JobFailure, LocalInput, fetch, fetch_code
from .mini_batches import split
from .parallel import ParallelReport, ParallelRun, ParallelSettings, environment

# node name -> {output name -> local folder}
NodeOutputs = dict[str, dict[str, Path]]


def _node_order(nodes: dict[str, Any]) -> list[str]:
    """The nodes, each after every node whose outputs it reads."""
    needs = {
        name: set(re.findall(r"parent\.jobs\.([^.]+)\.outputs", str(node.get("inputs", {}))))
        for name, node in nodes.items()
    }
    order: list[str] = []
    while len(order) < len(nodes):
        ready = [n for n in nodes if n not in order and needs[n] <= set(order)]
        if not ready:
            raise JobFailure(f"The pipeline's nodes depend on each other in a cycle: {sorted(set(nodes) - set(order))}")
        order.extend(sorted(ready))
    return order


class PipelineRun:
    def __init__(
        self, runner: Any, job_name: str, properties: dict[str, Any], folder: Path, env: Callable[[str], dict[str, str]]
    ) -> None:
        self.runner = runner
        self.context = runner.context
        self.job_name = job_name
        self.properties = properties
        self.folder = folder
        self.env = env  # node run id -> the environment its processes see
        self.node_outputs: NodeOutputs = {}
        self.reports: dict[str, ParallelReport] = {}

    def run(self) -> dict[str, Path]:
        """Runs every node; returns the pipeline's outputs as local folders."""
        nodes: dict[str, Any] = self.properties.get("jobs") or {}
        pipeline_outputs: dict[str, Path] = {}
        for name in _node_order(nodes):
            node = nodes[name]
            spec = self._component(node)
            folder = self.folder / name
            inputs = self._inputs(node, folder)
            outputs = {out: folder / "outputs" / out for out in {**spec.get("outputs", {}), **node.get("outputs", {})}}
            kind = node.get("type") or spec.get("type")
            if kind == "command":
                self._command(name, node, spec, folder, inputs, outputs)
            elif kind == "parallel":
                self._parallel(name, node, spec, folder, inputs, outputs)
            else:
                raise JobFailure(f"Node {name}: node type '{kind}' is not emulated (command and parallel are).")
            self.node_outputs[name] = outputs
            for out, binding in (node.get("outputs") or {}).items():
                target = reference(binding.get("value") if isinstance(binding, dict) else binding)
                if target and target.startswith("parent.outputs."):
                    pipeline_outputs[target.removeprefix("parent.outputs.")] = outputs[out]
        return pipeline_outputs

    def _component(self, node: dict[str, Any]) -> dict[str, Any]:
        found = re.search(r"/components/([^/]+)/versions/([^/]+)$", str(node.get("componentId", "")))
        component = self.context.store.get("components", found[1], "versions", found[2]) if found else None
        if component is None:
            raise JobFailure(f"Component '{node.get('componentId')}' was not found.")
        return dict(component.properties["componentSpec"])

    def _inputs(self, node: dict[str, Any], folder: Path) -> dict[str, LocalInput]:
        parent_inputs = self.properties.get("inputs") or {}
        local: dict[str, LocalInput] = {}
        for name, value in (node.get("inputs") or {}).items():
            bound = reference(value.get("value")) if isinstance(value, dict) else None
            if bound and bound.startswith("parent.inputs."):
                local[name] = fetch(
                    self.context, dict(parent_inputs[bound.removeprefix("parent.inputs.")]), folder / "inputs" / name
                )
            elif bound and bound.startswith("parent.jobs."):
                _, _, source, _, output = bound.split(".", 4)
                local[name] = LocalInput("uri_folder", str(self.node_outputs[source][output]))
            else:
                local[name] = fetch(self.context, value, folder / "inputs" / name)
        return local

    def _command(
        self,
        name: str,
        node: dict[str, Any],
        spec: dict[str, Any],
        folder: Path,
        inputs: dict[str, LocalInput],
        outputs: dict[str, Path],
    ) -> None:
        code = fetch_code(self.context, spec["code"], folder / "code") if spec.get("code") else folder / "code"
        code.mkdir(parents=True, exist_ok=True)
        env = {
            **self.env(f"{self.job_name}.{name}"),
            **(spec.get("environment_variables") or {}),
            **(node.get("environment_variables") or {}),
        }
        run_command(
            spec["command"],
            code,
            inputs,
            outputs,
            env,
            folder / "logs" / "user_logs" / "std_log.txt",
            self.runner.cancel_event(self.job_name),
        )

    def _parallel(
        self,
        name: str,
        node: dict[str, Any],
        spec: dict[str, Any],
        folder: Path,
        inputs: dict[str, LocalInput],
        outputs: dict[str, Path],
    ) -> None:
        merged = {**spec, **{k: v for k, v in node.items() if v is not None}}
        task = {**(spec.get("task") or {}), **(node.get("task") or {})}
        code = fetch_code(self.context, task["code"], folder / "code")
        values = {f"inputs.{n}": i.value for n, i in inputs.items()} | {
            f"outputs.{n}": str(p) for n, p in outputs.items()
        }
        for path in outputs.values():
            path.mkdir(parents=True, exist_ok=True)
        data_input = reference(merged.get("input_data"))
        if not data_input or data_input.removeprefix("inputs.") not in inputs:
            raise JobFailure(f"Node {name}: input_data '{merged.get('input_data')}' names none of its inputs.")
        append_row = reference(task.get("append_row_to"))
        retry = merged.get("retry_settings") or {}
        settings = ParallelSettings(
            entry_script=code / task["entry_script"],
            program_arguments=shlex.split(substitute(task.get("program_arguments") or "", values)),
            instance_count=int((merged.get("resources") or {}).get("instance_count", 1)),
            max_concurrency_per_instance=int(merged.get("max_concurrency_per_instance") or 1),
            error_threshold=int(merged.get("error_threshold", -1) if merged.get("error_threshold") is not None else -1),
            mini_batch_error_threshold=int(
                merged.get("mini_batch_error_threshold") if merged.get("mini_batch_error_threshold") is not None else -1
            ),
            max_retries=int(retry.get("max_retries", 3)),
            timeout=float(retry.get("timeout", 60)),
            append_row_to=outputs[append_row.removeprefix("outputs.")] if append_row else None,
        )
        batches = split(Path(inputs[data_input.removeprefix("inputs.")].value), merged.get("mini_batch_size"))
        env = environment(
            {**self.env(f"{self.job_name}.{name}"), **(task.get("environment_variables") or {})}, settings
        )
        run = ParallelRun(
            settings,
            batches,
            env,
            folder / "logs",
            self.context.faults.node_kill(self.job_name),
            self.runner.cancel_event(self.job_name),
        )
        self.reports[name] = run.report
        run.run()

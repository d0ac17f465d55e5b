"""The contract with prompt flow's private API (engine/promptflow_private.py), checked against the installed
prompt flow with inspect: an upgrade that changes one of these names fails here, naming it. Then: the runtime
check sees a change and falls back, saying so once; and no other module of the package reaches past the fence."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops.backends.local.engine import promptflow_private
from llmops.backends.local.engine.promptflow_env import configure_promptflow
from llmops.backends.local.engine.promptflow_private import CONTRACT, EXECUTOR_ATTRIBUTES, contract_problem

PACKAGE = Path(__file__).resolve().parents[2] / "llmops"
FENCE = PACKAGE / "backends/local/engine/promptflow_private.py"
SCHEDULER = "promptflow.executor._async_nodes_scheduler"
CONTEXT = "promptflow._core.flow_execution_context"
EXECUTOR = "promptflow.executor"

# What the fence relies on, written out as promptflow 1.18.5 has it: (module, name, coroutine?, parameters).
EXPECTED = [
    (SCHEDULER, "PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME", None, None),
    (SCHEDULER, "AsyncNodesScheduler.__init__", False, ["self", "tools_manager", "node_concurrency"]),
    (SCHEDULER, "AsyncNodesScheduler._execute_with_thread_pool", True,
     ["self", "executor", "nodes", "inputs", "context", "timeout_seconds"]),
    (SCHEDULER, "AsyncNodesScheduler._create_node_task", False, ["self", "node", "dag_manager", "context", "executor"]),
    (SCHEDULER, "AsyncNodesScheduler._sync_function_to_async_task", True,
     ["executor", "context", "node", "f", "kwargs"]),
    (SCHEDULER, "AsyncNodesScheduler.run_task_with_semaphore", True, ["self", "coroutine"]),
    (SCHEDULER, "AsyncNodesScheduler.cancel_tasks", True, ["self", "tasks"]),
    (CONTEXT, "FlowExecutionContext.invoke_tool", False, ["self", "node", "f", "kwargs"]),
    (EXECUTOR, "FlowExecutor._traverse_nodes_async", True, ["self", "inputs", "context"]),
    (EXECUTOR, "FlowExecutor._extract_outputs", False, ["self", "nodes_outputs", "bypassed_nodes", "flow_inputs"]),
]

# What the fence's code assumes of upstream's code, beyond signatures: (function, what its source must contain).
SOURCE_FACTS = [
    # our execute makes the per-line semaphore under this name, as upstream's execute does
    ("AsyncNodesScheduler.run_task_with_semaphore", "self._semaphore"),
    # node tasks are made by _create_node_task (which we extend to keep them) from the DAG walk we call
    ("AsyncNodesScheduler._execute_with_thread_pool", "self._execute_nodes("),
    ("AsyncNodesScheduler._execute_nodes", "self._create_node_task("),
    # a sync node goes through _sync_function_to_async_task (which we replace), bounded by the semaphore
    ("AsyncNodesScheduler._create_node_task", "self._sync_function_to_async_task("),
    ("AsyncNodesScheduler._create_node_task", "self.run_task_with_semaphore("),
    # a line timeout is upstream's: it cancels the node tasks and raises
    ("AsyncNodesScheduler._execute_with_thread_pool", "await self.cancel_tasks("),
    # the scheduler task's name, which upstream's execute sets as ours does
    ("AsyncNodesScheduler.execute", "task.set_name(PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME)"),
    # our _traverse_nodes_async reads what upstream's reads
    ("FlowExecutor._traverse_nodes_async", "self._flow.nodes if not node.aggregation"),
    ("FlowExecutor._traverse_nodes_async", "AsyncNodesScheduler(self._tools_manager, self._node_concurrency)"),
    ("FlowExecutor._traverse_nodes_async",
     "await scheduler.execute(batch_nodes, inputs, context, self._line_timeout_sec)"),
    ("FlowExecutor._traverse_nodes_async", "self._extract_outputs(nodes_outputs, bypassed_nodes, inputs)"),
]

DAG = """\
inputs:
  n:
    type: int
outputs:
  doubled:
    type: int
    reference: ${double.output}
nodes:
- name: double
  type: python
  source: {type: code, path: double.py}
  inputs: {n: "${inputs.n}"}
"""
DOUBLE_PY = "from promptflow.core import tool\n\n\n@tool\ndef double(n: int) -> int:\n    return 2 * n\n"


@pytest.fixture(autouse=True, scope="module")
def _promptflow_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Before a test here imports prompt flow: its home in a temporary folder, no telemetry, no trace service."""
    configure_promptflow(tmp_path_factory.mktemp("state"))


def _resolve(module: str, name: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


@pytest.mark.parametrize(("module", "name", "coroutine", "parameters"), EXPECTED, ids=[e[1] for e in EXPECTED])
def test_the_installed_prompt_flow_has_what_the_fence_relies_on(module: str, name: str, coroutine: bool | None,
                                                                parameters: list[str] | None) -> None:
    try:
        target = _resolve(module, name)
    except AttributeError:
        pytest.fail(f"{module}.{name} is gone: update engine/promptflow_private.py (its fallback runs meanwhile)")
    if parameters is None:
        return
    found = list(inspect.signature(target).parameters)
    assert found == parameters, f"{module}.{name} now takes {found}"
    assert inspect.iscoroutinefunction(target) is coroutine, f"{module}.{name}: coroutine function is {not coroutine}"


@pytest.mark.parametrize(("name", "text"), SOURCE_FACTS, ids=[f"{n}: {t}" for n, t in SOURCE_FACTS])
def test_upstream_code_does_what_the_fence_assumes(name: str, text: str) -> None:
    module = EXECUTOR if name.startswith("FlowExecutor") else SCHEDULER
    source = inspect.getsource(_resolve(module, name))
    assert text in source, f"{module}.{name} no longer contains {text!r}"


def test_the_runtime_check_covers_the_contract() -> None:
    assert [(r.module, r.name) for r in CONTRACT] == [(m, n) for m, n, _, _ in EXPECTED]
    assert [r.parameters or None for r in CONTRACT] == [tuple(p) if p else None for _, _, _, p in EXPECTED]
    assert all(contract_problem(r) is None for r in CONTRACT)


@pytest.fixture()
def executor(tmp_path: Path) -> Any:
    from promptflow.executor import FlowExecutor

    (tmp_path / "flow.dag.yaml").write_text(DAG)
    (tmp_path / "double.py").write_text(DOUBLE_PY)
    return FlowExecutor.create(tmp_path / "flow.dag.yaml", {}, working_dir=tmp_path, raise_ex=False)


def test_a_flow_executor_has_the_attributes_the_fence_reads(executor: Any) -> None:
    for name in EXECUTOR_ATTRIBUTES:
        assert hasattr(executor, name), f"FlowExecutor instances no longer have {name}"
    assert all(hasattr(node, "aggregation") for node in executor._flow.nodes)


@pytest.fixture()
def rechecked() -> Iterator[None]:
    promptflow_private.recheck()
    yield
    promptflow_private.recheck()  # what the test changed is undone by monkeypatch first (fixtures unwind in order)


def _other_signature(self: Any, tasks: Any, extra: Any) -> None: ...


async def _other_async(self: Any, tasks: Any, extra: Any) -> None: ...


async def _as_coroutine(self: Any, node: Any, dag_manager: Any, context: Any, executor: Any) -> None: ...


CHANGES = [
    ("AsyncNodesScheduler", None, f"{SCHEDULER}.AsyncNodesScheduler.__init__ is missing"),
    ("AsyncNodesScheduler.cancel_tasks", _other_async,
     f"{SCHEDULER}.AsyncNodesScheduler.cancel_tasks takes (self, tasks, extra), not (self, tasks)"),
    ("AsyncNodesScheduler.cancel_tasks", _other_signature,
     f"{SCHEDULER}.AsyncNodesScheduler.cancel_tasks is not a coroutine function"),
    ("AsyncNodesScheduler._create_node_task", _as_coroutine,
     f"{SCHEDULER}.AsyncNodesScheduler._create_node_task is a coroutine function"),
    ("PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME", None,
     f"{SCHEDULER}.PF_ASYNC_NODE_SCHEDULER_EXECUTE_TASK_NAME is missing"),
]


@pytest.mark.parametrize(("name", "replacement", "problem"), CHANGES, ids=[c[2].split(".")[-1] for c in CHANGES])
def test_a_changed_private_name_makes_the_engine_fall_back_and_say_it_once(
        rechecked: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, executor: Any,
        name: str, replacement: Any, problem: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    module = importlib.import_module(SCHEDULER)
    owner_name, _, attribute = name.rpartition(".")
    owner = getattr(module, owner_name) if owner_name else module
    if replacement is None:
        monkeypatch.delattr(owner, attribute)
    else:
        monkeypatch.setattr(owner, attribute, replacement)
    pool = ThreadPoolExecutor(1)
    with caplog.at_level(logging.WARNING, logger=promptflow_private.__name__):
        assert promptflow_private.share_node_pool(executor, pool) is False
        assert promptflow_private.share_node_pool(executor, pool) is False
        assert promptflow_private.pool_size(executor, 5) == 5
    pool.shutdown()

    assert "_llmops_node_pool" not in vars(executor)  # left as it was: the public line API alone
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert f"({problem}; written for promptflow {promptflow_private.TESTED_WITH}, installed " in warnings[0]
    assert "lines run on prompt flow's public line API" in warnings[0] and "results are the same" in warnings[0]


def test_a_flow_executor_without_an_attribute_the_fence_reads_falls_back(
        rechecked: None, caplog: pytest.LogCaptureFixture, executor: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    del executor._tools_manager
    with caplog.at_level(logging.WARNING, logger=promptflow_private.__name__):
        assert promptflow_private.share_node_pool(executor, ThreadPoolExecutor(1)) is False
    assert "(a FlowExecutor has no _tools_manager;" in caplog.text


def _private_names() -> set[str]:
    """The underscored members of the prompt flow classes the fence touches, and the private names it lists."""
    names = {r.name.rsplit(".", 1)[-1] for r in CONTRACT} | set(EXECUTOR_ATTRIBUTES)
    for relied in CONTRACT:
        if "." in relied.name:
            owner = _resolve(relied.module, relied.name.rsplit(".", 1)[0])
            names |= {n for n in vars(owner) if n.startswith("_") and not n.startswith("__")}
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _reaches_past_the_fence(tree: ast.AST, private: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "promptflow" and any(p.startswith("_") for p in parts[1:]):
                found.append(f"line {node.lineno}: imports {module}")
        if (isinstance(node, ast.Attribute) and node.attr in private
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_other_module_uses_prompt_flow_private_api() -> None:
    private = _private_names()
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == FENCE:
            continue
        for where in _reaches_past_the_fence(ast.parse(path.read_text(encoding="utf-8")), private):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {where}")
    assert not offenders, "prompt flow's private API outside engine/promptflow_private.py:\n" + "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for() -> None:
    planted = ("from promptflow.executor._async_nodes_scheduler import AsyncNodesScheduler\n"
               "import promptflow._core.tools_manager\n"
               "def f(executor):\n    return executor._tools_manager, self._tools_manager\n")
    found = _reaches_past_the_fence(ast.parse(planted), _private_names())
    assert found == ["line 1: imports promptflow.executor._async_nodes_scheduler",
                     "line 1: imports promptflow.executor._async_nodes_scheduler.AsyncNodesScheduler",
                     "line 2: imports promptflow._core.tools_manager",
                     "line 4: ._tools_manager"]


def test_every_relied_name_is_listed_in_the_docstring() -> None:
    doc = promptflow_private.__doc__ or ""
    missing = [r.qualified for r in CONTRACT if r.name.rsplit(".", 1)[-1] not in doc]
    missing += [name for name in EXECUTOR_ATTRIBUTES if name not in doc]
    assert not missing, missing



# pyproject.toml's filterwarnings, as pytest applies them: (the module a warning names, its message, raised?)
DEPRECATIONS = [
    ("promptflow.executor.flow_executor", "anything new", True),
    ("promptflow.tools.aoai", "anything new", True),
    ("llmops.backends.local.engine.flow_runner", "anything new", True),
    ("marshmallow.fields", "anything new", False),  # shown: azure-ai-ml's schemas make marshmallow say things too
    ("marshmallow.schema", "The `ordered` `class Meta` option is deprecated. Field order is already preserved", False),
    ("marshmallow.fields", "Passing field metadata as keyword arguments is deprecated. Use the explicit", False),
    ("azure.ai.ml._schema.monitoring.thresholds", "`Number` field should not be instantiated.", False),
    ("some_other_library", "anything", False),
]


@pytest.mark.parametrize(("module", "message", "raised"), DEPRECATIONS, ids=[f"{m}: {t}" for m, t, _ in DEPRECATIONS])
def test_deprecation_warnings_from_prompt_flow_fail_the_tests_unless_listed(module: str, message: str,
                                                                            raised: bool) -> None:
    def warn() -> None:
        warnings.warn_explicit(message, DeprecationWarning, "planted.py", 1, module=module)

    if raised:
        with pytest.raises(DeprecationWarning, match=message):
            warn()
    else:
        with warnings.catch_warnings(record=True):  # shown, not raised (the filters stay as pytest set them)
            warn()

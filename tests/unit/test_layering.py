"""The package's layering (../shared/DESIGN.md: cli -> steps -> (backends, llm, report) -> config), read from
the import statements of every module under llmops/, those inside functions and TYPE_CHECKING blocks too."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "llmops"
IMPLEMENTATIONS = ("llmops.backends.local", "llmops.backends.azureml")


@dataclass(frozen=True)
class Rule:
    importer: str  # a package (or module); the rule holds for every module in it
    forbidden: tuple[str, ...] = ()  # packages it must not import
    only: tuple[str, ...] | None = None  # when set, the only llmops packages it may import
    why: str = ""
    exempt: tuple[str, ...] = ()  # modules inside `importer` the rule does not hold for

    def breaks(self, imported: str) -> bool:
        if not within(imported, ("llmops",)):
            return False
        if self.only is not None and not within(imported, self.only):
            return True
        return within(imported, self.forbidden)


RULES = [
    Rule("llmops.backends", forbidden=("llmops.steps", "llmops.cli", "llmops.serving", "llmops.report"),
         why="backends sit below the steps, the CLI, serving and the report"),
    # `llmops azure check` diagnoses the azureml backend's own workspace, login and roles: the one step and
    # command that exist for that backend alone, so they may reach into it.
    Rule("llmops.steps", forbidden=IMPLEMENTATIONS, exempt=("llmops.steps.azure_check",),
         why="steps see a backend only through llmops.backends (open_backend), its protocols and records"),
    Rule("llmops.pipelines", forbidden=IMPLEMENTATIONS, why="pipelines are steps; see llmops.steps"),
    Rule("llmops.cli", forbidden=IMPLEMENTATIONS, exempt=("llmops.cli.commands.azure",),
         why="the CLI calls steps or a backend's protocols, never a backend's implementation"),
    Rule("llmops.report", forbidden=IMPLEMENTATIONS,
         why="a report is made by the same code whichever backend ran the lines"),
    Rule("llmops.config", only=("llmops.config", "llmops.errors"),
         why="config is the bottom layer: it imports nothing of llmops but itself and llmops.errors"),
    Rule("llmops.backends.local.registry", forbidden=("llmops.backends.local.engine",),
         why="the registry half stands alone: the engine records its runs through it, not the other way"),
    # The executor runs each line on Azure ML nodes with the same engine as a laptop (and the aggregation nodes here,
    # over the merged lines): it, its jobs and the node's entry script import the engine; the registry half does not.
    Rule("llmops.backends.azureml", forbidden=("llmops.backends.local.engine",),
         exempt=("llmops.backends.azureml.executor", "llmops.backends.azureml.jobs", "llmops.backends.azureml.node"),
         why="the Azure ML registries (data, models) share only the local registry half (runs, endpoints); only "
             "the executor, its jobs and its nodes run flows, with the local engine"),
    *(Rule(f"llmops.backends.{shared}", forbidden=IMPLEMENTATIONS,
           why="every backend imports the protocols and the records they speak, so they import no backend")
      for shared in ("protocols", "types", "endpoints", "traffic", "content_hash", "promptflow_switches")),
]


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(the module each import statement imports from, the submodules it may name): `from a import b` imports
    from a, and b may be a module a.b."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            found.append((base, [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]))
    return found


def violations(rules: list[Rule], modules: dict[str, tuple[str, bool]]) -> list[str]:
    """One line per import that breaks a rule; `modules`: module name -> (its source, whether it is a package)."""
    found = []
    for module, (source, is_package) in sorted(modules.items()):
        for rule in rules:
            if not within(module, (rule.importer,)) or within(module, rule.exempt):
                continue
            for base, names in imports(source, module, is_package):
                broken = [base] if rule.breaks(base) else [name for name in names if rule.breaks(name)]
                found += [f"{module} imports {name}: {rule.why}" for name in broken]
    return found


def package_modules() -> dict[str, tuple[str, bool]]:
    return {module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for path in PACKAGE.rglob("*.py")}


def test_the_package_keeps_its_layers() -> None:
    found = violations(RULES, package_modules())
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_every_rule_names_a_package_that_exists() -> None:
    modules = package_modules()
    for rule in RULES:
        assert any(within(m, (rule.importer,)) for m in modules), rule.importer


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("llmops.steps.x", "from llmops.backends.local.registry import runs",
     ["llmops.steps.x imports llmops.backends.local.registry: steps see a backend only through llmops.backends "
      "(open_backend), its protocols and records"]),
    ("llmops.steps.x", "from llmops.backends import local", ["llmops.steps.x imports llmops.backends.local: "
                                                             "steps see a backend only through llmops.backends "
                                                             "(open_backend), its protocols and records"]),
    ("llmops.steps.x", "from llmops.backends import open_backend\nfrom llmops.backends.types import RunSpec", []),
    ("llmops.backends.local.x", "def f():\n    import llmops.serving.traffic",
     ["llmops.backends.local.x imports llmops.serving.traffic: backends sit below the steps, the CLI, serving "
      "and the report"]),
    ("llmops.backends.local.x", "from ..traffic import Split", []),  # llmops.backends.traffic
    ("llmops.backends.local.x", "from ...serving import traffic",
     ["llmops.backends.local.x imports llmops.serving: backends sit below the steps, the CLI, serving and the "
      "report"]),
    ("llmops.backends.azureml.x", "from llmops.backends.local.registry.runs import LocalRunRegistry", []),
    ("llmops.backends.azureml.x", "from llmops.backends.local.engine import executor",
     ["llmops.backends.azureml.x imports llmops.backends.local.engine: the Azure ML registries (data, models) share "
      "only the local registry half (runs, endpoints); only the executor, its jobs and its nodes run flows, with the "
      "local engine"]),
    ("llmops.backends.azureml.node.worker", "from llmops.backends.local.engine.flow_runner import FlowRunner", []),
    ("llmops.steps.azure_check", "from llmops.backends.azureml.roles import role_for", []),
    ("llmops.steps.azure_checks", "from llmops.backends.azureml.roles import role_for",
     ["llmops.steps.azure_checks imports llmops.backends.azureml.roles: steps see a backend only through "
      "llmops.backends (open_backend), its protocols and records"]),
    ("llmops.config.x", "from llmops.llm.connections import Connection",
     ["llmops.config.x imports llmops.llm.connections: config is the bottom layer: it imports nothing of llmops "
      "but itself and llmops.errors"]),
    ("llmops.config.x", "import json\nfrom llmops.errors import LlmopsError\nfrom llmops.config.base import X", []),
    ("llmops.report.x", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from llmops.backends.local import x",
     ["llmops.report.x imports llmops.backends.local: a report is made by the same code whichever backend ran "
      "the lines"]),
])
def test_a_broken_layer_is_named_with_the_import(module: str, source: str, expected: list[str]) -> None:
    assert violations(RULES, {module: (source, False)}) == expected

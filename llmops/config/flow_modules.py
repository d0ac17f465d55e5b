"""Modules a flow imports that are not installed: found before any line runs, and said with the fix.

Left to prompt flow, a missing module fails the flow as it loads its tools (`ResolveToolError ... No module
named 'bs4'`), or every line when the import is inside a function. Reading the imports with `ast`
(flow_imports.py) and looking each up with `importlib.util.find_spec` imports nothing and costs milliseconds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmops.config.flow_base import Flow
from llmops.config.flow_imports import ImportSite, flow_imports
from llmops.config.flow_requirements import (
    Requirement,
    distribution_of,
    is_installed,
    provides,
    read_requirements,
    requirements_file,
)
from llmops.config.problems import Problem, display_path
from llmops.config.use_case import UseCase
from llmops.errors import LlmopsError


@dataclass(frozen=True)
class MissingModule:
    module: str  # the part of the imported name that cannot be found: "bs4" of "bs4.element"
    flow: Flow
    site: ImportSite  # the first place the flow imports it
    requirements: Path | None  # the flow's requirements.txt
    listed: Requirement | None  # its line naming the module's distribution

    def message(self, root: Path) -> str:
        where = display_path(self.site.file, root)
        imported = f"{where} imports it (line {self.site.line})" if self.site.line else \
            f"{where} names it as a tool package"
        install = f"pip install {distribution_of(self.module)}"
        if self.requirements is None:
            fix = (f"the flow has no requirements.txt; install it: {install}, and list it in "
                   f"{display_path(self.flow.folder / 'requirements.txt', root)}")
        elif self.listed is None:
            shown = display_path(self.requirements, root)
            fix = f"{shown} does not list it; install it: {install}, and add it to {shown}"
        else:
            shown = display_path(self.requirements, root)
            fix = f"{shown} lists it; install the flow's requirements: pip install -r {shown}"
        return f"module '{self.module}' is not installed: {imported}; {fix}"


def missing_modules(flow: Flow) -> list[MissingModule]:
    """One entry per module the flow imports that cannot be found, at the first place it is imported."""
    requirements = requirements_file(flow)
    listed = read_requirements(requirements) if requirements else []
    missing: dict[str, MissingModule] = {}
    looked_up: dict[str, str | None] = {}
    for site in flow_imports(flow):
        if site.module not in looked_up:
            looked_up[site.module] = _missing_part(site.module)
        module = looked_up[site.module]
        if module is not None and module not in missing:
            requirement = next((r for r in listed if provides(r, module)), None)
            missing[module] = MissingModule(module, flow, site, requirements, requirement)
    return list(missing.values())


def require_flow_modules(use_case: UseCase, env: str, flows: Iterable[Flow]) -> None:
    """Raise before any line runs when a flow imports a module that is not installed. Only where lines run on
    this machine: an azureml env's lines run in its job's environment, whose packages are not these."""
    if use_case.env(env).BACKEND != "local":
        return
    unique = {flow.folder: flow for flow in flows}
    missing = [module for flow in unique.values() for module in missing_modules(flow)]
    if missing:
        raise LlmopsError("\n".join(module.message(use_case.root) for module in missing))


def requirement_warnings(use_case: UseCase) -> list[Problem]:
    """For `validate`: modules the flows import that are not installed, and requirements not installed (a name
    only listed, which no flow file imports, does not stop a run: the original template lists some)."""
    flows = {flow.folder: flow for env in use_case.llmops.env_names
             for flow in (use_case.standard_flow(env), *use_case.evaluation_flows(env), use_case.post_prod_flow(env))
             if flow is not None}
    warnings = []
    for flow in flows.values():
        warnings += [Problem(display_path(flow.folder, use_case.root), "", module.message(use_case.root))
                     for module in missing_modules(flow)]
        requirements = requirements_file(flow)
        if requirements is None:
            continue
        imported = [site.module for site in flow_imports(flow)]
        for requirement in read_requirements(requirements):
            if is_installed(requirement.name) or any(provides(requirement, module) for module in imported):
                continue  # a listed module that is missing is said above, with its fix
            warnings.append(Problem(
                display_path(requirements, use_case.root), f"line {requirement.line}",
                f"'{requirement.text}' is not installed; no file of flow '{flow.name}' imports it, so its runs do "
                "not need it"))
    return warnings


def _missing_part(module: str) -> str | None:
    """The first part of a dotted name that cannot be found, or None. Below a namespace package (azure.ai.ml)
    each part is looked up; below a regular package it is not, since that would run the package's __init__."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        name = ".".join(parts[:end])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None  # a parent that cannot be imported for another reason: prompt flow will say which
        if spec is None:
            return name
        if spec.origin is not None or spec.submodule_search_locations is None:
            return None  # a module, or a regular package
    return None

"""Pinned package versions: what `pip install -c constraints.txt` gives a laptop, for places that install llmops
elsewhere (an Azure ML job's environment, the serving image).

`read_pins` reads the project's constraints.txt; `runtime_closure` walks the installed distributions' metadata
from some roots to everything they need at run time on Linux (markers are evaluated for a Linux x86_64 host,
whatever this machine is); `llmops_dependencies` are llmops' own base dependencies (not its extras).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import cast

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from llmops.errors import LlmopsError
from llmops.version import PACKAGE_DIR

# Nodes and containers are Linux: markers are evaluated for them, whatever this machine is.
LINUX_PLATFORM = {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}


def read_pins(constraints: Path) -> dict[str, str]:
    """name (canonical) -> version, from `name==version` lines."""
    pins: dict[str, str] = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if found:
            pins[canonicalize_name(found[1])] = found[2]
    return pins


def marker_environment() -> dict[str, str]:
    return {**cast(dict[str, str], default_environment()), **LINUX_PLATFORM, "extra": ""}


def runtime_closure(roots: list[str], needed_by: str = "llmops on Azure ML nodes",
                    install_hint: str = "install llmops with its azure extra: pip install -e '.[azure]' -c "
                                        "constraints.txt") -> list[str]:
    """The installed distributions `roots` need at run time, transitively: canonical names, sorted."""
    environment = marker_environment()
    seen: set[str] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker is not None and not requirement.marker.evaluate(environment)):
            continue
        seen.add(name)
        try:
            todo += [Requirement(text) for text in metadata.requires(requirement.name) or []]
        except metadata.PackageNotFoundError:
            raise LlmopsError(f"package '{requirement.name}' (needed by {needed_by}) is not installed here; "
                              f"{install_hint}") from None
    return sorted(seen)


def llmops_dependencies() -> list[str]:
    """llmops' base dependencies: from the pyproject.toml of the checkout this package runs from when there is
    one (it is what a fresh install would get, even before the installed metadata is refreshed), else from the
    installed distribution's metadata."""
    pyproject = PACKAGE_DIR.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project") or {}
        if project.get("name") == "llmops":
            return [str(text) for text in project.get("dependencies") or []]
    try:
        requires = metadata.requires("llmops") or []
    except metadata.PackageNotFoundError:
        raise LlmopsError(f"llmops runs from {PACKAGE_DIR}, which is neither installed nor in a checkout with its "
                          "pyproject.toml, so its dependencies are unknown; install it: pip install -e . -c "
                          "constraints.txt") from None
    return [text for text in requires if "extra ==" not in text]

"""The environment a step's job runs in, pinned from the project: what `pip install -c constraints.txt`
gives a laptop, on a plain Azure ML base image.

The packages are the runtime closure of llmops' own dependencies (those a node needs: its base
dependencies and azure-identity, which reads Key Vault), each at its version in constraints.txt (the
installed one when the repository has no constraints.txt), plus the flows' requirements.txt lines. There is
no prompt flow runtime and no prompt flow image: the node runs the llmops engine, which runs flows with the
promptflow library like a laptop does.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from llmops.backends.package_pins import read_pins, runtime_closure
from llmops.errors import LlmopsError

# Ubuntu 22.04 with conda and Open MPI, no ML framework; pinned, as every input of a job is. Its tags are listed
# in the release notes of Azure/AzureML-Containers (images/openmpi4.1.0-ubuntu22.04).
BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20241202.v1"
# What a node imports beyond llmops' base dependencies: the identity that reads the connections from Key Vault.
NODE_EXTRAS = ("azure-identity",)


def llmops_roots() -> list[str]:
    """llmops' base dependencies (not its extras) and the node's extras."""
    base = [text for text in metadata.requires("llmops") or [] if "extra ==" not in text]
    return [*base, *NODE_EXTRAS]


def pinned_requirements(constraints: Path | None, flow_requirements: dict[str, list[str]]) -> list[str]:
    """`name==version` for the closure, then the flows' own lines; `flow_requirements`: file shown -> its lines.

    A flow line the pins do not satisfy is refused, naming the file: the node would not run the versions
    the laptop does.
    """
    pins = read_pins(constraints) if constraints is not None and constraints.is_file() else {}
    chosen = {name: pins.get(name) or metadata.version(name) for name in runtime_closure(llmops_roots())}
    extra: list[str] = []
    for shown, lines in sorted(flow_requirements.items()):
        for line in lines:
            text = line.split("#", 1)[0].strip()
            if not text or text.startswith("-"):
                continue
            try:
                requirement = Requirement(text)
            except InvalidRequirement as error:
                raise LlmopsError(f"{shown}: '{text}' is not a requirement pip reads ({error})") from None
            name = canonicalize_name(requirement.name)
            version = chosen.get(name) or pins.get(name)
            if version is None:
                if text not in extra:
                    extra.append(text)
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                raise LlmopsError(f"{shown}: '{text}' conflicts with {name}=={version}, the version llmops runs with "
                                  "(constraints.txt); change the line to a version range that includes it")
            chosen[name] = version
    return [f"{name}=={version}" for name, version in sorted(chosen.items())] + extra


def conda_spec(requirements: list[str]) -> dict[str, Any]:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # the version the pins were resolved for
    return {"name": "llmops", "channels": ["conda-forge"], "dependencies": [f"python={python}", "pip",
                                                                             {"pip": requirements}]}


def job_environment(requirements: list[str]) -> Any:
    """An azure.ai.ml Environment of the base image and the conda spec. A component's environment is registered
    anonymously, named by the hash of its content: an unchanged one is found, not built again."""
    from azure.ai.ml.entities import Environment

    return Environment(image=BASE_IMAGE, conda_file=conda_spec(requirements),
                       description="the llmops engine and its dependencies, pinned by constraints.txt")

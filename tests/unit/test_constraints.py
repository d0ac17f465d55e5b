"""constraints.txt against pyproject.toml: every package llmops needs at run time (its extras too) has a pin, and
every pin is inside the range pyproject.toml asks for. The serving image and the Azure ML job environment install
exactly these pins, so a dependency added to pyproject.toml without its pin (and its own dependencies' pins)
would install an untested version there."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from llmops.backends.package_pins import read_pins, runtime_closure

REPO = Path(__file__).resolve().parents[2]


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"]) + [t for group in project["optional-dependencies"].values() for t in group]
    return [Requirement(text) for text in texts]


def test_every_runtime_package_is_pinned_within_pyproject_ranges() -> None:
    pins = read_pins(REPO / "constraints.txt")
    requirements = declared()
    unpinned = [name for name in runtime_closure([r.name for r in requirements]) if name not in pins]
    assert unpinned == [], "add their installed versions to constraints.txt (make lock)"
    outside = [f"{r} (pinned {pins[canonicalize_name(r.name)]})" for r in requirements
               if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert outside == []


def test_the_server_stack_is_pinned_and_waitress_only_for_prompt_flow() -> None:
    pins = read_pins(REPO / "constraints.txt")
    names = {canonicalize_name(r.name) for r in declared()}
    assert {"uvicorn", "httptools", "uvloop", "opentelemetry-exporter-otlp-proto-http",
            "azure-monitor-opentelemetry-exporter"} <= names & set(pins)
    # waitress is no dependency of llmops any more; prompt flow's devkit still needs it, so it keeps its pin.
    assert "waitress" not in names and "waitress" in pins
    assert "waitress" in runtime_closure(["promptflow-devkit"])

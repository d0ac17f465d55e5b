"""The image's requirements.txt: every package the endpoint server and the flow need, each `name==version`.

llmops' base dependencies and the flow's own requirements.txt are walked to everything they need at run time
(on Linux); each package gets its version in the project's constraints.txt, else the version installed here,
which is the one the flow's tests and experiments ran with. A flow line that those versions do not satisfy, or
that names a package neither pinned nor installed here (so no tested version exists to pin), is refused with
the file and the fix: the image never installs a version nobody ran.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from llmops.backends.package_pins import llmops_dependencies, marker_environment, read_pins, runtime_closure
from llmops.errors import LlmopsError

INSTALL_HINT = "install llmops as the README says (pip install -e . -c constraints.txt)"


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _flow_lines(shown: str, lines: list[str]) -> list[Requirement]:
    found = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue  # options (-r, --index-url) are not carried into the image
        try:
            found.append(Requirement(text))
        except InvalidRequirement as error:
            raise LlmopsError(f"{shown}: '{text}' is not a requirement pip reads ({error})") from None
    return found


def image_requirements(constraints: Path | None, flow_requirements: tuple[str, list[str]] | None) -> list[str]:
    """`name==version` lines, sorted; `flow_requirements`: (the file as shown to the user, its lines) or None."""
    pins = read_pins(constraints) if constraints is not None and constraints.is_file() else {}
    shown, lines = flow_requirements or ("", [])
    wanted = [r for r in _flow_lines(shown, lines)
              if r.marker is None or r.marker.evaluate(marker_environment())]
    roots = [*llmops_dependencies()]
    only_pinned: dict[str, str] = {}
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if _installed(requirement.name):
            roots.append(requirement.name)
        elif name in pins:  # pinned, not installed here: its own pin, without what it needs (unknown here)
            only_pinned[name] = pins[name]
        else:
            raise LlmopsError(
                f"{shown}: '{requirement}' is neither installed here nor pinned in constraints.txt, so the image "
                f"has no tested version of it to install; install it (pip install '{requirement.name}' -c "
                "constraints.txt) and run the flow's tests, or remove the line if the flow does not import it")
    closure = runtime_closure(roots, "the serving image", INSTALL_HINT)
    chosen = {name: pins.get(name) or metadata.version(name) for name in closure}
    chosen.update(only_pinned)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if not requirement.specifier.contains(chosen[name], prereleases=True):
            raise LlmopsError(f"{shown}: '{requirement}' conflicts with {name}=={chosen[name]}, the version llmops "
                              "runs with (constraints.txt); change the line to a range that includes it")
    return [f"{name}=={version}" for name, version in sorted(chosen.items())]

"""An image's build context: a folder holding exactly what the Dockerfile copies, written the same way every time.

    Dockerfile           llmops's (or the use case's own; dockerfile.py)
    requirements.txt     every package, pinned (requirements.py)
    constraints.txt      the project's pins
    llmops/              this llmops package's source, as the Azure ML job bundle carries it
    configs/prices.json  the LLM gateway's price table
    flow/                the model version's snapshot, byte for byte
    cassettes/           the flow's recorded answers when the image replays them, else empty
    llmops-image.json    what the server serves (entry.py)

Nothing else goes in: not the repository's .env, not the environment, not the use case's data. A snapshot
holding a .env file is refused (the flow folder had one when it was registered). The same inputs give the
same files, so the context's digest (content_hash over its files) names what the image is built from.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from llmops.backends.content_hash import flow_files, flow_hash
from llmops.errors import LlmopsError
from llmops.llm.gateway.cassettes import cassette_file_name
from llmops.llm.gateway.prices import default_prices_path
from llmops.serving.image import dockerfile
from llmops.serving.image.entry import CASSETTES_DIR, ENTRY_FILE, FLOW_DIR, ImageEntry, write_entry
from llmops.version import PACKAGE_DIR

SECRET_FILES = (".env",)  # a flow folder's own .env would carry keys into every copy of the image


@dataclass(frozen=True)
class ContextInputs:
    entry: ImageEntry
    snapshot: Path  # the model version's snapshot folder on this machine
    dockerfile: dockerfile.DockerfileChoice
    requirements: list[str]  # name==version lines
    constraints: Path | None  # the project's constraints.txt; None: the requirements stand in for it
    cassettes: Path | None = None  # the use case's cassettes folder, when the image replays recorded answers


@dataclass(frozen=True)
class BuildContext:
    folder: Path
    digest: str  # content_hash.flow_hash over every file: equal digests, equal contexts
    files: int
    dockerfile_source: str


def _copy_tree(source: Path, target: Path) -> None:
    for rel in flow_files(source):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)


def _check_snapshot(inputs: ContextInputs) -> None:
    entry = inputs.entry
    what = f"model {entry.model_name} version {entry.model_version}"
    if not inputs.snapshot.is_dir():
        raise LlmopsError(f"{what}: its snapshot folder '{inputs.snapshot}' is missing; register the model again "
                          f"with: llmops register-model --use-case {entry.use_case} --env {entry.env}")
    secrets = [rel.as_posix() for rel in flow_files(inputs.snapshot) if rel.name in SECRET_FILES]
    if secrets:
        raise LlmopsError(f"{what}: its snapshot holds {', '.join(secrets)}, which would put keys into the image; "
                          "delete it from the flow folder (connections belong in the repository's .env) and "
                          f"register again: llmops register-model --use-case {entry.use_case} --env {entry.env}")
    digest = flow_hash(inputs.snapshot)
    if digest != entry.sha256:
        raise LlmopsError(f"{what}: its snapshot's files (sha256 {digest[:12]}) are not the ones registered "
                          f"(sha256 {entry.sha256[:12]}); register the model again")


def _fill(folder: Path, inputs: ContextInputs) -> None:
    (folder / "Dockerfile").write_text(inputs.dockerfile.text, encoding="utf-8")
    pins = "".join(f"{line}\n" for line in inputs.requirements)
    (folder / "requirements.txt").write_text(
        "# Written by llmops image build: llmops' dependencies and the flow's, each at its tested version.\n" + pins,
        encoding="utf-8")
    if inputs.constraints is not None and inputs.constraints.is_file():
        shutil.copyfile(inputs.constraints, folder / "constraints.txt")
    else:
        (folder / "constraints.txt").write_text("# The project has no constraints.txt: the pins of requirements.txt."
                                                "\n" + pins, encoding="utf-8")
    _copy_tree(PACKAGE_DIR, folder / "llmops")
    (folder / "configs").mkdir()
    prices = default_prices_path()
    if prices.is_file():
        shutil.copyfile(prices, folder / "configs" / prices.name)
    _copy_tree(inputs.snapshot, folder / FLOW_DIR)
    (folder / CASSETTES_DIR).mkdir()
    if inputs.cassettes is not None:
        cassette = inputs.cassettes / cassette_file_name(inputs.entry.flow)
        if cassette.is_file():
            shutil.copyfile(cassette, folder / CASSETTES_DIR / cassette.name)
    write_entry(folder, inputs.entry)


def _replace(target: Path, staging: Path) -> None:
    """A folder that is not an earlier context (no llmops-image.json) is never deleted: it may be the user's."""
    if target.exists():
        if not target.is_dir() or (any(target.iterdir()) and not (target / ENTRY_FILE).is_file()):
            raise LlmopsError(f"--context-dir '{target}' exists and is not an llmops build context; give an empty or "
                              "new folder")
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)


def write_context(target: Path, inputs: ContextInputs) -> BuildContext:
    """Write the context into `target` (replacing an earlier context there), checked against its Dockerfile."""
    _check_snapshot(inputs)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        staging.mkdir()
        _fill(staging, inputs)
        dockerfile.check(inputs.dockerfile, staging)
        _replace(target, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildContext(target, flow_hash(target), len(flow_files(target)), inputs.dockerfile.source)

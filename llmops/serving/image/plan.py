"""The build context of one model version's image for one env, and the digest its tag is made of.

`llmops image build` writes the context and tags the image `<version>-<digest>`; a cloud deploy target computes the
same digest (writing the same context into a throwaway folder) to name the image it deploys. So the tag is a
content address of what the image holds: the snapshot, the provider and whether its recorded answers are baked in
(a replay image and a live one of the same version differ), the Dockerfile, the pinned packages, llmops' own source.

One thing in the context is left out of the digest: the endpoint and deployment names in llmops-image.json. They
are defaults the platform overrides at run time (LLMOPS_ENDPOINT / LLMOPS_DEPLOYMENT, the emulator's and Azure's
deployment names), so one image serves under any name, and renaming a deployment needs no new image.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from llmops.backends.content_hash import flow_files
from llmops.backends.types import ModelVersion
from llmops.config.flow_requirements import requirements_file
from llmops.config.use_case import UseCase
from llmops.config.workspace import Workspace
from llmops.serving.image import dockerfile
from llmops.serving.image.context import BuildContext, ContextInputs, write_context
from llmops.serving.image.entry import ENTRY_FILE, ImageEntry
from llmops.serving.image.requirements import image_requirements
from llmops.serving.model_flow import model_flow
from llmops.version import __version__

CONSTRAINTS = "constraints.txt"
# The targets whose block names the endpoint and deployment the image answers as, most specific first.
NAMING_TARGETS = ("azure_managed", "kubernetes", "local")
RUNTIME_NAMES = ("endpoint", "deployment")  # in llmops-image.json, overridden where the image runs


def _names(use_case: UseCase, env: str) -> tuple[str, str]:
    """(endpoint, deployment) the image answers as by default: the env's first online endpoint block's."""
    for target in NAMING_TARGETS:
        block = use_case.deployment.for_env(target, env)
        endpoint, deployment = getattr(block, "ENDPOINT_NAME", ""), getattr(block, "CURRENT_DEPLOYMENT_NAME", "")
        if endpoint and deployment:
            return endpoint, deployment
    return f"{use_case.name.replace('_', '-')}-{env}", "blue"


def image_entry(use_case: UseCase, env: str, model: ModelVersion, provider: str | None) -> ImageEntry:
    lineage = model.lineage
    flow = model_flow(model)
    endpoint, deployment = _names(use_case, env)
    variant = {str(k): str(v) for k, v in (lineage.get("variant") or flow.default_variants()).items()}
    return ImageEntry(
        use_case=use_case.name, env=env, endpoint=endpoint, deployment=deployment, model_name=model.name,
        model_version=model.version, sha256=model.sha256, flow=str(lineage.get("flow") or flow.name),
        flow_file=flow.relative_file, flow_variants=tuple(str(v) for v in lineage.get("flow_variants") or ()),
        variant=variant, variant_label=str(lineage.get("variant_label") or "defaults"),
        provider=provider or use_case.env(env).PROVIDER, max_concurrency=use_case.env(env).CONCURRENCY,
        llmops_version=__version__, git_commit=str((lineage.get("git") or {}).get("commit") or ""))


def _requirements(workspace: Workspace, model: ModelVersion) -> list[str]:
    file = requirements_file(model_flow(model))
    flow_lines = None
    if file is not None:
        shown = f"model {model.name} version {model.version}: {file.relative_to(model.snapshot).as_posix()}"
        flow_lines = (shown, file.read_text(encoding="utf-8").splitlines())
    return image_requirements(workspace.root / CONSTRAINTS, flow_lines)


def write_model_context(workspace: Workspace, use_case: UseCase, entry: ImageEntry, model: ModelVersion,
                        folder: Path) -> BuildContext:
    """Write the context of `model`'s image serving `entry` into `folder` (replacing an earlier context there)."""
    choice = dockerfile.choose(use_case.folder, workspace.shown(use_case.folder))
    cassettes = use_case.folder / "cassettes" if entry.provider == "replay" else None
    return write_context(folder.resolve(), ContextInputs(entry, model.snapshot, choice, _requirements(workspace, model),
                                                         workspace.root / CONSTRAINTS, cassettes))


def image_digest(context_dir: Path) -> str:
    """sha256 over the context's files, as content_hash.flow_hash makes it, with llmops-image.json's run-time names
    left out: what the image's tag addresses."""
    digest = hashlib.sha256()
    for rel in flow_files(context_dir):
        data = (context_dir / rel).read_bytes()
        if rel.as_posix() == ENTRY_FILE:
            entry = {k: v for k, v in json.loads(data).items() if k not in RUNTIME_NAMES}
            data = json.dumps(entry, sort_keys=True).encode()
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def planned_digest(workspace: Workspace, use_case: UseCase, env: str, model: ModelVersion,
                   provider: str | None = None) -> str:
    """The digest of the image `llmops image build` makes of `model` for `env` (the env's PROVIDER unless given), from
    a context written into a throwaway folder: what a deploy target names the image by."""
    scratch = Path(tempfile.mkdtemp(prefix="llmops-image-plan-", dir=workspace.state_dir if
                                    workspace.state_dir.is_dir() else None))
    try:
        context = write_model_context(workspace, use_case, image_entry(use_case, env, model, provider), model,
                                      scratch / "context")
        return image_digest(context.folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

"""Standard `uses:` actions, emulated on this machine or skipped with a reason.

checkout: the working copy is the checkout. setup-python: the given virtualenv. upload/download-artifact:
copies into and out of an artifacts folder with upload-artifact v4's rules (root = least common ancestor,
hidden files left out unless asked). github-script posting the sticky PR comment: the body goes to a file
and replaces an earlier comment carrying the same hidden marker. Anything needing GitHub's or Azure's
services is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.workflow_runner.workflow import as_bool
from tests.workflow_runner.workspace import copy_repository, link_venv

COMMENT_BODY_VARIABLE = "COMMENT_BODY_FILE"  # the github-script step's env names the body it posts
COMMENTS_FILE = "pr-comments.json"


@dataclass
class ActionCall:
    uses: str
    with_: dict[str, str]
    env: dict[str, str]
    workspace: Path
    out_dir: Path
    venv: Path
    pull_request: int | None
    checkout_source: Path | None = None


@dataclass
class ActionOutcome:
    ok: bool
    note: str
    outputs: dict[str, str] = field(default_factory=dict)
    add_path: list[str] = field(default_factory=list)


def action_name(uses: str) -> str:
    """`actions/checkout@<sha>` -> `actions/checkout`."""
    return uses.split("@", 1)[0].lower()


def checkout(call: ActionCall) -> ActionOutcome:
    if call.checkout_source is None:
        return ActionOutcome(True, f"emulated: the working copy {call.workspace} is the checkout")
    copied = copy_repository(call.checkout_source, call.workspace)
    count = sum(1 for p in copied.rglob("*") if p.is_file())
    return ActionOutcome(True, f"emulated: copied the working copy {call.checkout_source} ({count} files) into the "
                               f"job's own workspace {call.workspace}")


def setup_python(call: ActionCall) -> ActionOutcome:
    linked = not (call.workspace / ".venv").exists()
    if linked:
        link_venv(call.workspace, call.venv)
    python = call.venv / "bin" / "python"
    version = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    wanted = call.with_.get("python-version", "")
    if wanted and not version.startswith(wanted):
        return ActionOutcome(False, f"setup-python asks for python-version '{wanted}' but the venv {call.venv} "
                                    f"has {version}; point the runner at a {wanted} venv")
    how = "linked into the workspace as .venv, marked installed" if linked else "the workspace's own .venv kept"
    return ActionOutcome(True, f"emulated: Python {version} from {call.venv} ({how}); pip cache not used",
                         outputs={"python-version": version, "python-path": str(python)},
                         add_path=[str(call.venv / "bin")])


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _has_wildcard(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _search_root(pattern: str) -> str:
    """The part of a pattern before its first wildcard, as upload-artifact computes search paths."""
    parts = []
    for part in pattern.rstrip("/").split("/"):
        if _has_wildcard(part):
            break
        parts.append(part)
    return "/".join(parts) or "."


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """@actions/glob's patterns on workspace-relative paths: `**` spans zero or more folders, `*` and `?` stay
    inside one, a trailing `/` or `/**` takes everything below."""
    text = pattern.rstrip("/") + "/**" if pattern.endswith("/") else pattern
    out, i = [], 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("/**", i) and i + 3 == len(text):
            out.append("(?:/.*)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _files_below(folder: Path) -> list[Path]:
    """Every file below `folder`, following symlinks (upload-artifact follows them too)."""
    found: list[Path] = []
    for directory, _, names in os.walk(folder, followlinks=True):
        found.extend(Path(directory) / name for name in names)
    return found


def _matched_files(workspace: Path, patterns: list[str]) -> tuple[list[Path], list[Path]]:
    """(files matched by the non-`!` patterns minus the `!` ones, the search roots)."""
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [glob_pattern(p[1:]) for p in patterns if p.startswith("!")]
    files: set[Path] = set()
    for pattern in include:
        root = workspace / _search_root(pattern)
        if root.is_file():
            files.add(root)
            continue
        wanted = glob_pattern(pattern) if _has_wildcard(pattern) else glob_pattern(pattern.rstrip("/") + "/")
        files.update(p for p in _files_below(root) if wanted.match(p.relative_to(workspace).as_posix()))
    kept = [f for f in files if not any(e.match(f.relative_to(workspace).as_posix()) for e in exclude)]
    return sorted(kept), [workspace / _search_root(p) for p in include]


def _common_root(roots: list[Path]) -> Path:
    common = Path(os.path.commonpath([str(r) for r in roots]))
    return common if common.is_dir() else common.parent


def upload_artifact(call: ActionCall) -> ActionOutcome:
    name = call.with_.get("name") or "artifact"
    patterns = [line.strip() for line in call.with_.get("path", "").splitlines() if line.strip()]
    if not patterns:
        return ActionOutcome(False, "upload-artifact: input 'path' is required")
    files, roots = _matched_files(call.workspace, patterns)
    root = _common_root(roots)
    if not as_bool(call.with_.get("include-hidden-files", "false")):
        files = [f for f in files if not _hidden(f.relative_to(call.workspace))]
    if not files:
        mode = call.with_.get("if-no-files-found", "warn")
        message = f"no files were found with the provided path: {', '.join(patterns)}. No artifact will be uploaded."
        return ActionOutcome(mode != "error", f"upload-artifact ({mode}): {message}")
    target = call.out_dir / "artifacts" / name
    if target.exists():
        if not as_bool(call.with_.get("overwrite", "false")):
            return ActionOutcome(False, f"upload-artifact: an artifact named '{name}' already exists in this run; "
                                        "give each upload its own name or set overwrite: true")
        shutil.rmtree(target)
    for file in files:
        destination = target / file.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)  # copy2 follows symlinks, as upload-artifact does
    return ActionOutcome(True, f"emulated: uploaded {len(files)} file(s) as artifact '{name}' to {target}",
                         outputs={"artifact-id": name, "artifact-url": target.as_uri()})


def download_artifact(call: ActionCall) -> ActionOutcome:
    store = call.out_dir / "artifacts"
    destination = call.workspace / call.with_.get("path", ".")
    name = call.with_.get("name", "")
    names = [name] if name else sorted(p.name for p in store.iterdir()) if store.is_dir() else []
    for each in names:
        source = store / each
        if not source.is_dir():
            available = sorted(p.name for p in store.iterdir()) if store.is_dir() else []
            return ActionOutcome(False, f"download-artifact: artifact not found for name: '{each}'; this run has: "
                                        f"{', '.join(available) or '(none)'}")
        shutil.copytree(source, destination if name else destination / each, dirs_exist_ok=True)
    return ActionOutcome(True, f"emulated: downloaded {', '.join(names) or 'no artifacts'} into {destination}",
                         outputs={"download-path": str(destination)})


def _post_sticky_comment(call: ActionCall, body_file: str) -> ActionOutcome:
    path = call.workspace / body_file
    if not path.is_file():
        return ActionOutcome(False, f"github-script: {COMMENT_BODY_VARIABLE} names '{body_file}', which does not exist")
    body = path.read_text(encoding="utf-8")
    marker = body.split("\n", 1)[0].strip()
    if not (marker.startswith("<!--") and marker.endswith("-->")):
        return ActionOutcome(False, f"github-script: the first line of '{body_file}' must be a hidden marker such as "
                                    f"'<!-- llmops-report:<use_case>:<env> -->'; found '{marker}'")
    if call.pull_request is None:
        return ActionOutcome(False, "github-script: the event has no pull request to comment on")
    store = call.out_dir / COMMENTS_FILE
    comments: list[dict[str, Any]] = json.loads(store.read_text(encoding="utf-8")) if store.is_file() else []
    mine = next((c for c in comments if c["pull_request"] == call.pull_request and c["body"].startswith(marker)), None)
    if mine is None:
        mine = {"id": len(comments) + 1, "pull_request": call.pull_request, "body": body, "updates": 0}
        comments.append(mine)
        verb = "created"
    else:
        mine["body"], mine["updates"] = body, mine["updates"] + 1
        verb = "updated"
    store.write_text(json.dumps(comments, indent=2), encoding="utf-8")
    comment_file = call.out_dir / "pr-comments" / f"{mine['id']}.md"
    comment_file.parent.mkdir(parents=True, exist_ok=True)
    comment_file.write_text(body, encoding="utf-8")
    return ActionOutcome(True, f"emulated: {verb} comment {mine['id']} on pull request #{call.pull_request} "
                               f"(found by marker {marker}); body in {comment_file}",
                         outputs={"result": verb, "comment-file": str(comment_file)})


def github_script(call: ActionCall) -> ActionOutcome:
    body_file = call.env.get(COMMENT_BODY_VARIABLE)
    if body_file:
        return _post_sticky_comment(call, body_file)
    return ActionOutcome(True, "skipped: inline JavaScript against the GitHub API does not run here")


def _skip(reason: str) -> Callable[[ActionCall], ActionOutcome]:
    return lambda call: ActionOutcome(True, f"skipped: {reason}")


EMULATIONS: dict[str, Callable[[ActionCall], ActionOutcome]] = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/github-script": github_script,
    "actions/cache": _skip("no cache service here; the workspace's venv is already in place"),
    "actions/setup-node": _skip("uses the node on PATH"),
    "azure/login": _skip("needs Azure and GitHub's OIDC token service, neither reachable from this machine"),
}


def emulate(call: ActionCall) -> ActionOutcome:
    handler = EMULATIONS.get(action_name(call.uses))
    if handler is None:
        return ActionOutcome(True, f"skipped: '{action_name(call.uses)}' is not emulated by the local runner")
    return handler(call)

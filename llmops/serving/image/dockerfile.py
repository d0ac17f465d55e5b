"""Which Dockerfile builds a use case's image, and what its instructions ask of the build context.

llmops keeps one Dockerfile for every use case (Dockerfile beside this module), so a fix to it (a base image,
a pip flag, the user the server runs as) reaches every use case with the llmops upgrade. A use case that needs
more (a system library its flow loads) puts its own in `environment/Dockerfile`; it must still start the llmops
endpoint server (`python -m llmops.serving.image`) and copy only what the context holds. A use case carried over
from the original template has an environment/Dockerfile that serves with prompt flow (`pf flow serve` on a
prompt flow image, which gets no security fixes): that one is refused with what to do, never built.

The instructions are read here (line continuations joined, comments and parser directives dropped, JSON and
shell forms), not by a Docker engine: `llmops image build` must check a context where no engine runs.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from llmops.errors import LlmopsError

TEMPLATE = Path(__file__).resolve().parent / "Dockerfile"
USE_CASE_DOCKERFILE = "environment/Dockerfile"  # a use case's own, when it needs one
SERVER_MODULE = "llmops.serving.image"  # what the image's ENTRYPOINT must run


@dataclass(frozen=True)
class Instruction:
    line: int  # where it starts, 1-based
    keyword: str  # upper case: FROM, COPY, RUN...
    arguments: str


@dataclass(frozen=True)
class DockerfileChoice:
    text: str
    source: str  # shown to the user: "llmops's (llmops/serving/image/Dockerfile)" or the use case's file
    own: bool  # True when the use case's own environment/Dockerfile


def template_text() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def choose(use_case_folder: Path, shown_folder: str) -> DockerfileChoice:
    """The use case's environment/Dockerfile when it has one (checked by `check`), else llmops's."""
    own = use_case_folder / USE_CASE_DOCKERFILE
    if own.is_file():
        return DockerfileChoice(own.read_text(encoding="utf-8"), f"{shown_folder}/{USE_CASE_DOCKERFILE}", True)
    return DockerfileChoice(template_text(), "llmops's (llmops/serving/image/Dockerfile)", False)


def instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue  # a blank line, a comment or a parser directive (# syntax=...)
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is dropped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).strip().partition(" ")
        found.append(Instruction(start, keyword.upper(), arguments.strip()))
        pending = []
    if pending:
        keyword, _, arguments = " ".join(pending).strip().partition(" ")
        found.append(Instruction(start, keyword.upper(), arguments.strip()))
    return found


def _words(arguments: str) -> list[str]:
    """The words of an instruction's arguments: its --flags, then its shell or JSON form."""
    flags: list[str] = []
    rest = arguments.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return flags + list(value)
    return flags + shlex.split(rest)


def copied_sources(instruction: Instruction) -> list[str]:
    """The context paths a COPY or ADD reads (none when it copies from a stage or an image, or fetches a URL)."""
    words = _words(instruction.arguments)
    if any(w.startswith("--from=") for w in words):
        return []
    paths = [w for w in words if not w.startswith("--")][:-1]  # the last one is the destination
    return [p for p in paths if "://" not in p]


def check(choice: DockerfileChoice, context_dir: Path) -> list[Instruction]:
    """Refuse a Dockerfile that reads what the context lacks or does not start the llmops server."""
    found = instructions(choice.text)
    if not any(i.keyword == "FROM" for i in found):
        raise LlmopsError(f"{choice.source}: no FROM instruction; it is not a Dockerfile. Delete it to build with "
                          "llmops's Dockerfile (llmops/serving/image/Dockerfile)")
    starts = " ".join(i.arguments for i in found if i.keyword in ("ENTRYPOINT", "CMD"))
    if SERVER_MODULE not in starts:
        raise LlmopsError(
            f"{choice.source} does not start the llmops endpoint server (python -m {SERVER_MODULE}); a Dockerfile "
            "from the original template serves with prompt flow, whose images get no security fixes. Delete it to "
            "build with llmops's Dockerfile (llmops/serving/image/Dockerfile), or start yours from that file "
            "(llmops image dockerfile prints it) and add what your flow needs")
    for instruction in found:
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        for source in copied_sources(instruction):
            matches = list(context_dir.glob(source.lstrip("/"))) if any(c in source for c in "*?[") else (
                [context_dir / source.lstrip("/")] if (context_dir / source.lstrip("/")).exists() else [])
            if not matches:
                held = ", ".join(sorted(p.name for p in context_dir.iterdir()))
                raise LlmopsError(f"{choice.source} line {instruction.line}: {instruction.keyword} {source}: the "
                                  f"build context has no '{source}' (it holds {held}); copy only those")
    return found

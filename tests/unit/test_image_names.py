"""The serving image's name and tag, and the Dockerfile reader that checks a context without a Docker engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.backends.serving_image import image_name, login_server
from llmops.serving.image.docker import acr_build_command
from llmops.serving.image.dockerfile import Instruction, copied_sources, instructions

SHA = "0123456789abcdef" * 4


@pytest.mark.parametrize(("registry", "server", "acr"), [
    ("myacr", "myacr.azurecr.io", "myacr"),
    ("MyAcr.azurecr.io/", "myacr.azurecr.io", "myacr"),
    ("ghcr.io/team", "ghcr.io/team", ""),
    ("localhost:5000", "localhost:5000", ""),
    ("", "", ""),
])
def test_registry_names(registry: str, server: str, acr: str) -> None:
    name = image_name(registry, "web_classification", 3, SHA)
    assert (login_server(registry), name.registry, name.acr_name) == (server, server, acr)
    assert name.reference == (f"{server}/" if server else "") + "web_classification:3-0123456789ab"
    command = acr_build_command(Path("/ctx"), name, "rg")
    assert (command is not None) == bool(acr)


@pytest.mark.parametrize(("use_case", "repository"), [
    ("web_classification", "web_classification"), ("Named_Entity", "named_entity"), ("a b", "a-b"),
])
def test_repository_is_a_valid_lower_case_name(use_case: str, repository: str) -> None:
    assert image_name("", use_case, 1, SHA).repository == repository


def test_instructions_join_continuations_and_skip_comments() -> None:
    text = ("# syntax=docker/dockerfile:1\n# a comment\nARG BASE=python:3.11-slim\nFROM ${BASE}\n\n"
            "RUN pip install a \\\n# inside\n    b\n"
            "COPY --chown=10001 [\"requirements.txt\", \"constraints.txt\", \"/app/\"]\n"
            "COPY --from=builder /wheels /wheels\nADD https://example.com/x.tar.gz /x\n"
            "ENTRYPOINT [\"python\", \"-m\", \"llmops.serving.image\"]\n")
    found = instructions(text)
    assert [(i.line, i.keyword) for i in found] == [(3, "ARG"), (4, "FROM"), (6, "RUN"), (9, "COPY"), (10, "COPY"),
                                                     (11, "ADD"), (12, "ENTRYPOINT")]
    assert found[2].arguments == "pip install a  b"
    assert [copied_sources(i) for i in found[3:6]] == [["requirements.txt", "constraints.txt"], [], []]


def test_copy_with_one_source() -> None:
    assert copied_sources(Instruction(1, "COPY", "flow /app/flow")) == ["flow"]

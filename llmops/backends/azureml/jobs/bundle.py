"""A job's code: a folder holding everything a node runs, addressed by its content.

    llmops_entry.py      the parallel job's entry script (node/entry.py)
    manifest.json        the runs and the LLM session (node/manifest.py)
    llmops/              this llmops package's source: the same engine and gateway as the laptop
    configs/prices.json  the gateway's price table, for the cost column
    flows/<hash>/        each flow snapshot, with the variant dags its runs use
    cassettes/           the use case's recorded answers, when a connection replays

The folder is named by the hash of its files and built once; azure-ai-ml names the code asset by the same
kind of hash, so an unchanged bundle is uploaded once.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from llmops.backends.azureml.node.entry import ENTRY_SCRIPT, ENTRY_SCRIPT_NAME
from llmops.backends.azureml.node.manifest import Manifest
from llmops.backends.azureml.node.worker import CASSETTES, FLOWS
from llmops.backends.content_hash import flow_files, flow_hash
from llmops.backends.local.engine.variants_dag import write_variant_dag
from llmops.llm.gateway.prices import default_prices_path
from llmops.version import PACKAGE_DIR

SNAPSHOT_MARKER = ".complete"  # snapshot.py's "copied whole" marker: not part of the flow


def _copy_files(source: Path, target: Path, skip_variant_dags: bool = False) -> None:
    for rel in flow_files(source):
        if rel.name == SNAPSHOT_MARKER or (skip_variant_dags and rel.name.startswith("flow.variant-")):
            continue  # the variant dags of other runs stay out: the bundle depends on its runs alone
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target / rel)


def write_bundle(bundles_dir: Path, manifest: Manifest, snapshots: dict[str, Path], cassettes: Path | None) -> Path:
    """The bundle for `manifest`; `snapshots`: the manifest's run folders (flows/<hash>) -> the snapshot to copy."""
    bundles_dir.mkdir(parents=True, exist_ok=True)
    staging = bundles_dir / f".staging.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        _copy_files(PACKAGE_DIR, staging / "llmops")
        prices = default_prices_path()
        if prices.is_file():
            (staging / "configs").mkdir(parents=True)
            shutil.copy2(prices, staging / "configs" / prices.name)
        for folder, snapshot in snapshots.items():
            _copy_files(snapshot, staging / folder, skip_variant_dags=True)
        for entry in manifest.runs.values():
            write_variant_dag(staging / entry.folder, staging / entry.folder / entry.flow_file, entry.variant)
        if cassettes is not None and cassettes.is_dir():
            _copy_files(cassettes, staging / CASSETTES)
        (staging / FLOWS).mkdir(exist_ok=True)
        manifest.write(staging)
        (staging / ENTRY_SCRIPT_NAME).write_text(ENTRY_SCRIPT, encoding="utf-8")
        target = bundles_dir / flow_hash(staging)[:16]
        if not target.is_dir():
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
        return target  # built here, or before (by another command too): the same files
    finally:
        shutil.rmtree(staging, ignore_errors=True)

"""Flow snapshots of Azure ML model versions on this machine, one folder per flow hash, for the local endpoint
server to deploy from: `<state>/azureml/models/<sha256>/`.

A folder is filled beside its place and renamed into it once complete and checked against its hash, so a
folder there is always a whole snapshot; two commands filling the same one at once both end with it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmops.backends.content_hash import flow_files, flow_hash
from llmops.errors import LlmopsError


@dataclass(frozen=True)
class SnapshotCache:
    folder: Path

    def path(self, sha256: str) -> Path:
        return self.folder / sha256

    def copy_of(self, sha256: str, flow_folder: Path) -> Path:
        """The snapshot of `flow_folder` (whose hash is `sha256`), copied from it when not here yet."""

        def copy(target: Path) -> None:
            for rel in flow_files(flow_folder):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(flow_folder / rel, target / rel)

        return self.filled(sha256, copy, f"flow folder {flow_folder}")

    def filled(self, sha256: str, fill: Callable[[Path], object], source: str) -> Path:
        """The snapshot `sha256`, made with `fill(folder)` when not here yet; `source` names where it comes from."""
        target = self.path(sha256)
        if target.is_dir():
            return target
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}.", dir=self.folder))
        try:
            fill(staging)
            found = flow_hash(staging)
            if found != sha256:
                raise LlmopsError(f"the files of {source} have flow hash {found[:12]}, not {sha256[:12]} as "
                                  "registered; register the model again (llmops register-model)")
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():  # not another command's complete copy: a real failure
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

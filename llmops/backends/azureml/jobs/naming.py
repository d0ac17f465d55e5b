"""What a step's jobs are called and tagged, so any machine finds them from the runs alone.

A step's runs are content-addressed (their ids hash flow, variant, data, mapping and LLM), so the jobs that
execute them are named from those ids: `<use case>-<kind>-<12 hex of the sorted run ids>-<attempt>`. The
first job of a step is attempt 1; a step whose job failed, or left lines failed, submits attempt 2, and so
on. A fresh CI runner with no state computes the same run ids, looks up attempts 1, 2... by name and finds
what earlier jobs did: no listing, no search, one GET per attempt.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from llmops.backends.types import RunSpec
from llmops.git_state import git_state

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 200  # Azure ML allows 255 characters; the attempt number needs a few


def series_name(use_case: str, kind: str, run_ids: list[str]) -> str:
    digest = hashlib.sha256(json.dumps(sorted(run_ids)).encode()).hexdigest()[:12]
    return _UNSAFE.sub("-", f"{use_case}-{kind}-{digest}")[:MAX_NAME]


def attempt_name(series: str, attempt: int) -> str:
    return f"{series}-{attempt}"


def job_tags(specs: list[RunSpec], run_ids: list[str], root: Path) -> dict[str, str]:
    """Tags studio shows and filters by: where the job comes from (the checkout `root`'s commit) and which runs
    it executes."""
    first = specs[0]
    git = git_state(root, root)
    tags = {
        "llmops.use_case": first.use_case,
        "llmops.env": first.env,
        "llmops.step": first.kind,
        "llmops.commit": (git["commit"] or "unknown") + ("+uncommitted" if git["dirty"] else ""),
        "llmops.variants": ", ".join(sorted({spec.variant_label for spec in specs})),
        "llmops.datasets": ", ".join(sorted({f"{spec.dataset}:{spec.dataset_version}" for spec in specs})),
    }
    # One tag per run (its key names the run id): a run's job is found by its id, and studio says which run is which.
    tags.update({f"llmops.run.{run_id}": f"{spec.variant_label} ({spec.dataset})"
                 for spec, run_id in zip(specs, run_ids, strict=True)})
    return tags

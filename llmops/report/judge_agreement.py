"""A judge's record: who the judge is (model, provider, prompt hash) and how far it agrees with its calibration
set's human labels (Cohen's kappa with a 95% interval, raw agreement, n).

The judge calibration step writes one record per use case, env and judge flow under the state directory,
`judges/<use case>/<env>/<flow>.json`, each time it runs (a rerun over unchanged files reuses the calibration run
and writes the same figures). Reports read the records of the judges whose results they show.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmops.config.judge_calibration import category
from llmops.report.kappa import KappaEstimate, cohen_kappa

RECORDS_FOLDER = "judges"


@dataclass(frozen=True)
class Agreement:
    """The judge's verdicts on its calibration set against the human labels."""

    file: str  # calibration.jsonl, relative to the repository
    labels_sha256: str
    run_id: str  # the calibration run (content-addressed: reused while flow, labels and LLM are unchanged)
    verdict: str  # the output compared with human_label
    n: int  # lines the judge answered, each with a human label
    failed_lines: int  # lines the judge failed on: left out of n
    kappa: float | None
    ci_low: float | None
    ci_high: float | None
    standard_error: float | None
    observed_agreement: float  # raw agreement: the share of lines where verdict and label agree
    expected_agreement: float
    categories: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class JudgeRecord:
    flow: str
    model: str
    provider: str
    prompt_sha256: str
    agreement: Agreement | None  # None when the judge has no calibration set
    stale: str = ""  # set by read_records when the judge's prompt or labels changed since the record was made

    @property
    def pin(self) -> dict[str, str]:
        return {"flow": self.flow, "model": self.model, "provider": self.provider,
                "prompt_sha256": self.prompt_sha256}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.agreement is not None:
            data["agreement"]["categories"] = list(self.agreement.categories)
        return data


def agreement_of(verdicts: Sequence[Any], failed: Sequence[bool], labels: Sequence[str], *, file: str,
                 labels_sha256: str, run_id: str, verdict: str) -> Agreement:
    """Kappa over the lines the judge answered; verdicts[i] and labels[i] rate calibration line i."""
    kept = [i for i in range(len(labels)) if not failed[i]]
    estimate: KappaEstimate = cohen_kappa([category(verdicts[i]) for i in kept], [labels[i] for i in kept])
    return Agreement(file=file, labels_sha256=labels_sha256, run_id=run_id, verdict=verdict, n=estimate.n,
                     failed_lines=len(labels) - len(kept), kappa=estimate.kappa, ci_low=estimate.ci_low,
                     ci_high=estimate.ci_high, standard_error=estimate.standard_error,
                     observed_agreement=estimate.observed_agreement,
                     expected_agreement=estimate.expected_agreement, categories=estimate.categories,
                     note=estimate.note)


def record_path(state_dir: Path, use_case: str, env: str, flow: str) -> Path:
    return state_dir / RECORDS_FOLDER / use_case / env / f"{flow}.json"


def write_record(state_dir: Path, use_case: str, env: str, record: JudgeRecord) -> Path:
    path = record_path(state_dir, use_case, env, record.flow)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # a report reading at the same time sees the old record or the new one
    return path


def read_record(state_dir: Path, use_case: str, env: str, flow: str) -> JudgeRecord | None:
    path = record_path(state_dir, use_case, env, flow)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    agreement = data.get("agreement")
    if agreement is not None:
        agreement = Agreement(**{**agreement, "categories": tuple(agreement["categories"])})
    return JudgeRecord(flow=data["flow"], model=data["model"], provider=data["provider"],
                       prompt_sha256=data["prompt_sha256"], agreement=agreement, stale=data.get("stale", ""))

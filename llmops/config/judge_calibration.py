"""A judge's calibration set: human-labelled lines that measure how far an LLM judge agrees with people.

It lives in the judge's flow folder, beside the flow it calibrates, and travels with it:
- `calibration.jsonl`: one line per labelled case, the flow's inputs (as the flow names them, no mapping) and a
  `human_label` column; other columns (a note on why, say) are kept out of the flow;
- `calibration.json`: `{"verdict": "<output>"}`, the flow output that holds the judge's verdict, compared with
  `human_label`.
Labels and verdicts are compared as categories: true/false are 1/0, numbers are compared by value (1, 1.0 and
"1" agree), other text ignoring case and surrounding spaces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.config.base import ConfigFile
from llmops.config.flow_base import Flow
from llmops.config.json_file import load_model
from llmops.config.jsonl import numbered_objects
from llmops.config.problems import Problem, display_path
from llmops.errors import ConfigError

LABELS_FILE = "calibration.jsonl"
CONFIG_FILE = "calibration.json"
HUMAN_LABEL = "human_label"
NO_VERDICT = "(no verdict)"  # the category of a verdict the judge left empty


class CalibrationConfig(ConfigFile):
    verdict: str


@dataclass(frozen=True)
class CalibrationSet:
    flow: Flow
    file: Path  # calibration.jsonl
    verdict: str  # the output compared with human_label
    rows: list[dict[str, Any]]  # the flow's inputs of each line
    labels: list[str]  # each line's human label, as a category


def has_calibration(flow: Flow) -> bool:
    return (flow.folder / LABELS_FILE).is_file() or (flow.folder / CONFIG_FILE).is_file()


def category(value: Any) -> str:
    """A label or verdict as the category kappa counts: 1.0, 1, "1" and True are one category."""
    if value is None:
        return NO_VERDICT
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return _number(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text.casefold()
    return _number(number) if math.isfinite(number) else text.casefold()


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def load_calibration(flow: Flow, root: Path | None) -> CalibrationSet | None:
    """The flow's calibration set; None when it has none. Raises ConfigError listing every problem."""
    problems: list[Problem] = []
    found = read_calibration(flow, root, problems)
    if problems:
        raise ConfigError(problems)
    return found


def read_calibration(flow: Flow, root: Path | None, problems: list[Problem]) -> CalibrationSet | None:
    """As load_calibration, adding its problems to `problems` (validate reports them with every other one)."""
    labels_file, config_file = flow.folder / LABELS_FILE, flow.folder / CONFIG_FILE
    if not has_calibration(flow):
        return None
    shown_labels, shown_config = display_path(labels_file, root), display_path(config_file, root)
    if not config_file.is_file():
        problems.append(Problem(shown_labels, "", f"no {CONFIG_FILE} beside it names the judge's verdict; add "
                                                  f"{CONFIG_FILE} with {{\"verdict\": \"<output>\"}} (outputs: "
                                                  f"{', '.join(flow.outputs) or 'none'})"))
        return None
    if not labels_file.is_file():
        problems.append(Problem(shown_config, "", f"no {LABELS_FILE} beside it; add the labelled lines (the flow's "
                                                  f"inputs and a '{HUMAN_LABEL}' column), or remove {CONFIG_FILE}"))
        return None
    before = len(problems)
    config = load_model(CalibrationConfig, config_file, root, problems)
    if config is not None and flow.outputs_known and config.verdict not in flow.outputs:
        problems.append(Problem(shown_config, "verdict", f"'{config.verdict}' is not an output of flow "
                                                         f"'{flow.name}' (outputs: {', '.join(flow.outputs)})"))
    rows, labels = _lines(flow, labels_file, shown_labels, problems)
    if rows and len(set(labels)) < 2:
        problems.append(Problem(shown_labels, HUMAN_LABEL, f"every line has the label '{labels[0]}'; agreement "
                                                           "needs cases of at least two labels"))
    if config is None or len(problems) > before:
        return None
    return CalibrationSet(flow, labels_file, config.verdict, rows, labels)


def _lines(flow: Flow, file: Path, shown: str, problems: list[Problem]) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    objects = list(numbered_objects(file, shown, problems))
    if not objects:
        problems.append(Problem(shown, "", f"no labelled line; add lines of the flow's inputs and '{HUMAN_LABEL}'"))
    for number, line in objects:
        label = line.get(HUMAN_LABEL)
        if label is None or isinstance(label, list | dict) or (isinstance(label, str) and not label.strip()):
            problems.append(Problem(shown, f"line {number}.{HUMAN_LABEL}", "missing or not a single value; give "
                                                                           "the human's verdict, e.g. 1 or 0"))
            continue
        missing = [name for name in flow.required_inputs if name not in line]
        if missing:
            problems.append(Problem(shown, f"line {number}", f"no value for flow input(s) {', '.join(missing)} of "
                                                             f"'{flow.name}'; add them as columns"))
            continue
        rows.append({k: v for k, v in line.items() if k in flow.inputs or (flow.open_inputs and k != HUMAN_LABEL)})
        labels.append(category(label))
    return rows, labels



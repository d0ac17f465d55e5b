"""Load a flow from what a config names: a folder with `flow.dag.yaml` (a DAG) or `flow.flex.yaml` (a flex
flow), or a `.prompty` file. Every format comes back as a Flow (flow_base.py)."""

from __future__ import annotations

from pathlib import Path

from llmops.config.flow_base import Flow
from llmops.config.flow_dag import DAG_FILES, find_dag_file, load_dag
from llmops.config.flow_flex import FLEX_FILES, find_flex_file, load_flex
from llmops.config.flow_prompty import PROMPTY_SUFFIX, load_prompty
from llmops.config.problems import Problem, display_path

__all__ = ["Flow", "flow_name", "load_flow"]


def flow_name(relative: str) -> str:
    """The name of the flow a config path names (a prompty is named by its file's stem, a folder by itself)."""
    path = Path(relative.rstrip("/"))
    return path.stem if path.suffix == PROMPTY_SUFFIX else path.name


def load_flow(path: Path, root: Path | None, problems: list[Problem], named_in: tuple[str, str],
              variants: tuple[str, ...] = (), variants_named_in: tuple[str, str] = ("", "")) -> Flow | None:
    """Load the flow at `path`; `named_in` is the (file, key path) that names it, for messages. `variants` are a
    prompty's sibling files (PROMPTY_VARIANTS, named in `variants_named_in`)."""
    shown = display_path(path, root)
    if path.suffix == PROMPTY_SUFFIX:
        if not path.is_file():
            problems.append(Problem(*named_in, f"flow file '{shown}' not found"))
            return None
        return load_prompty(path, root, problems, variants, variants_named_in)
    if path.is_file():
        if path.name in DAG_FILES:
            return load_dag(path, root, problems)
        if path.name in FLEX_FILES:
            return load_flex(path, root, problems)
        problems.append(Problem(*named_in, f"'{shown}' is not a flow; name a flow folder (flow.dag.yaml or "
                                           "flow.flex.yaml inside) or a .prompty file"))
        return None
    if not path.is_dir():
        problems.append(Problem(*named_in, f"flow folder '{shown}' not found"))
        return None
    dag_file = find_dag_file(path)  # a folder with both is a DAG, as prompt flow reads it
    if dag_file is not None:
        return load_dag(dag_file, root, problems)
    flex_file = find_flex_file(path)
    if flex_file is not None:
        return load_flex(flex_file, root, problems)
    prompties = sorted(p.name for p in path.glob(f"*{PROMPTY_SUFFIX}"))
    hint = f"; to use a prompty, name its file: {shown}/{prompties[0]}" if prompties else ""
    problems.append(Problem(shown, "", f"no flow.dag.yaml or flow.flex.yaml in the flow folder{hint}"))
    return None

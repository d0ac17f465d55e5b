"""A flex flow's entry, imported from its snapshot and made callable: the function, or an object of the class
made with the flow's init arguments (its model configurations replaced by the gateway's, see gateway_models).

prompt flow imports an entry by its module name (`flow:ChatFlow` -> `import flow`), one flow per process. Here
many flows share a process (an experiment and its evaluation, two deployments of an endpoint, two snapshots of
one flow), and most name their module `flow`: imported by name, the second would get the first's module. So each
is imported with its own folder first on sys.path, and its modules are taken out of sys.modules again once it
is loaded (the entry keeps them), so the next flow's `flow` is its own. Imports inside functions run when they
are called, without the folder on sys.path: a flow imports its own modules at the top, as prompt flow's
examples do.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
from pathlib import Path
from typing import Any

from llmops.backends.local.engine.callable_runner import Entry, is_async_callable
from llmops.config.flow_flex import FlexFlow
from llmops.errors import LlmopsError

_IMPORT_LOCK = threading.Lock()


def _own_names(folder: Path) -> set[str]:
    """The top-level module names the flow folder provides: its .py files and its folders."""
    return {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}


def _belongs(module: Any, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and Path(file).resolve().is_relative_to(folder.resolve())


def import_entry(folder: Path, module: str, name: str) -> Any:
    """`name` of the flow's module `module` (a dotted path inside `folder`), imported apart from other flows'."""
    own = _own_names(folder)
    with _IMPORT_LOCK:
        shadowing = {key: sys.modules.pop(key) for key in list(sys.modules) if key.split(".")[0] in own}
        sys.path.insert(0, str(folder))
        importlib.invalidate_caches()
        try:
            loaded = importlib.import_module(module)
        finally:
            sys.path.remove(str(folder))
            for key in [key for key, value in sys.modules.items()
                        if key.split(".")[0] in own and _belongs(value, folder)]:
                del sys.modules[key]
            sys.modules.update(shadowing)
    if not hasattr(loaded, name):
        raise LlmopsError(f"{module}.py of flex flow '{folder.name}' has no '{name}' once imported; check entry "
                          "in flow.flex.yaml")
    return getattr(loaded, name)


def flex_entry(flow: FlexFlow, folder: Path, models: dict[str, Any]) -> Entry:
    """The flow's entry from `folder` (its snapshot); `models` replace the init arguments of the same names."""
    target: Any = import_entry(folder, flow.entry_module, flow.entry_name)
    if inspect.isclass(target):
        obj: Any = target(**{**flow.init, **models})
        return Entry(target.__name__, obj, _parameters(obj.__call__), getattr(obj, "__aggregate__", None),
                     is_async_callable(obj))
    return Entry(getattr(target, "__name__", flow.entry_name), target, _parameters(target), None,
                 is_async_callable(target))


def _parameters(call: Any) -> frozenset[str] | None:
    parameters = inspect.signature(call).parameters.values()
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters if p.kind != inspect.Parameter.VAR_POSITIONAL)

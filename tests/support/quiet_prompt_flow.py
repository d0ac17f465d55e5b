"""Prompt flow kept local for tests that call flows directly: the product's own switches and pf.yaml, in a temp home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llmops.backends.local.engine.promptflow_env import PF_CONFIG
from llmops.backends.promptflow_switches import LOCAL_ONLY_ENVIRONMENT


@contextmanager
def quiet_prompt_flow(home: Path) -> Iterator[None]:
    """No trace service, no telemetry, and prompt flow's home in `home` instead of ~/.promptflow."""
    (home / "pf.yaml").write_text(PF_CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LOCAL_ONLY_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.setenv("PF_HOME_DIRECTORY", str(home))
        yield

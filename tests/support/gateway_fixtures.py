"""pytest fixtures for the gateway tests; use them with `pytest_plugins = ["tests.support.gateway_fixtures"]`.

Kept apart from gateway_http.py, which the tests import: pytest cannot load a module it already imported as a
plugin without warning.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.loopback_upstream import LoopbackUpstream


@pytest.fixture
def upstream() -> Iterator[LoopbackUpstream]:
    """A loopback upstream answering like the simulated model, stopped after the test."""
    with LoopbackUpstream() as server:
        yield server

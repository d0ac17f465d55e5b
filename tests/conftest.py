"""Order of the suite under `make test`'s workers (pytest-xdist, a file per worker at a time).

The files that take minutes start first: handed out last, one of them keeps a single worker busy long after the
others have finished (the run's tail was 2.5 minutes of one worker). The list comes from `--durations`.
"""

from __future__ import annotations

import pytest

LONGEST_FIRST = (
    "tests/integration/test_workflows.py",
    "tests/e2e/test_azureml_interrupt.py",
    "tests/integration/test_azure_endpoints.py",
    "tests/integration/test_azureml_executor.py",
    "tests/e2e/test_azureml_run.py",
    "tests/integration/test_azure_canary_watch.py",
    "tests/integration/test_azure_production_log.py",
    "tests/integration/test_webapp_deploy.py",
    "tests/integration/test_embedded_reproducible.py",
    "tests/e2e/test_azureml_secrets.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order

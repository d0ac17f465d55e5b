"""Transient Azure failures are retried, waiting as long as Retry-After asks: the product's MLClient and its own
ARM and Key Vault calls, against the emulator's faults; the waits are read from the emulator's request log."""

from __future__ import annotations

import pytest

from llmops.backends.azureml.credential import azure_credential
from llmops.backends.azureml.key_vault import secret_names
from llmops.backends.azureml.roles import workspace_permissions
from llmops.backends.azureml.workspace import ml_client
from tests.support.azureml_emulator.product import azure_settings_for, use_environment

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]

CALLS = {
    "/datastores": lambda settings: ml_client(settings).datastores.get_default().name,
    "/providers/Microsoft.Authorization/permissions": lambda settings: len(
        workspace_permissions(settings, azure_credential(settings.cloud))),
    "/keyvault/": lambda settings: secret_names(settings, azure_credential(settings.cloud)),
}


@pytest.fixture
def settings(azureml_emulator, tmp_path, monkeypatch):
    return azure_settings_for(tmp_path, azureml_emulator, use_environment(monkeypatch, azureml_emulator))


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("path", list(CALLS))
def test_a_throttled_call_succeeds_after_waiting_as_long_as_retry_after_asks(azureml_emulator, settings, path, status):
    azureml_emulator.faults.throttle(2, status=status, retry_after=1, path=path)
    CALLS[path](settings)
    tries = [r for r in azureml_emulator.requests if path.lower() in r.path.lower()]
    assert [r.status for r in tries] == [status, status, 200]
    waits = [later.received_at - earlier.received_at for earlier, later in zip(tries, tries[1:], strict=False)]
    assert all(wait >= 1.0 for wait in waits), waits


def test_a_connection_reset_is_retried(azureml_emulator, settings):
    azureml_emulator.faults.reset(1, path="/datastores")
    assert CALLS["/datastores"](settings) == "workspaceblobstore"
    assert [r.status for r in azureml_emulator.requests if "/datastores" in r.path] == [0, 200]

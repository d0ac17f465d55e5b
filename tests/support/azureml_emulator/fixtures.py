"""pytest fixtures: Azurite once per session, the emulator once per session, a clean workspace per test.

Use them from a test module with `pytest_plugins = ["tests.support.azureml_emulator.fixtures"]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import azurite as azurite_support

from .blob_storage import BlobStorage
from .emulator import AzureMLEmulator
from .routes.workspace import WORKSPACE_GUID
from .tls import LoopbackTls, make_loopback_tls

AZUREML_CURRENT_CLOUD = "AZUREML_CURRENT_CLOUD"
CONTAINER = f"azureml-blobstore-{WORKSPACE_GUID}"  # as Azure ML names the default datastore's container


@dataclass
class AzuriteSession:
    azurite: azurite_support.Azurite
    tls: LoopbackTls
    storage: BlobStorage


@pytest.fixture(scope="session")
def azurite_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteSession]:
    """Azurite over HTTPS on a free port, trusted by this process through REQUESTS_CA_BUNDLE."""
    reason = azurite_support.missing_reason() or azurite_support.host_name_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("azurite")
    tls = make_loopback_tls(folder, ["localhost", azurite_support.HOST_NAME])
    azurite = azurite_support.start_azurite(folder, tls.cert, tls.key)
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(tls.ca_bundle)
    storage = BlobStorage(
        azurite_support.ACCOUNT_NAME,
        azurite_support.ACCOUNT_KEY,
        azurite.port,
        CONTAINER,
        str(tls.ca_bundle),
        azurite_support.STORAGE_DOMAIN,
    )
    try:
        yield AzuriteSession(azurite, tls, storage)
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
        azurite.stop()


@pytest.fixture(scope="session")
def azureml_emulator_session(
    azurite_session: AzuriteSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AzureMLEmulator]:
    emulator = AzureMLEmulator(
        azurite_session.storage,
        azurite_session.tls.cert,
        azurite_session.tls.key,
        tmp_path_factory.mktemp("azureml-jobs"),
    )
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def azureml_emulator(azureml_emulator_session: AzureMLEmulator) -> Iterator[AzureMLEmulator]:
    """The session's emulator with a fresh workspace: no resources but the seeded ones, no faults."""
    azureml_emulator_session.reset()
    # azure-ai-ml records the cloud of every MLClient in os.environ (AZUREML_CURRENT_CLOUD). Left there, the
    # emulator's cloud name reaches every later subprocess, and one that imports azure-ai-ml without the
    # emulator's cloud metadata (a nested `make test`) fails: 'Unknown cloud environment "AzureMLEmulator..."'.
    previous = os.environ.get(AZUREML_CURRENT_CLOUD)
    try:
        yield azureml_emulator_session
    finally:
        azureml_emulator_session.faults.clear()
        if previous is None:
            os.environ.pop(AZUREML_CURRENT_CLOUD, None)
        else:
            os.environ[AZUREML_CURRENT_CLOUD] = previous

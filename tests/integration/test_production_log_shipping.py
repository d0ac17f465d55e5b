"""The production log shipped to blob storage (llmops/serving/log_shipping.py), against Azurite.

The shipper's container client is azure-storage-blob's own, signing in with a bearer token (Azurite checks its
claims, as Azure Storage does); the one stand-in is the credential, which refuses its first tokens in the retry
case, as a managed identity does before its role assignment has spread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import ContainerClient

from llmops.backends.production_logs import URL_ENV, parse_segment
from llmops.errors import LlmopsError
from llmops.serving.log_shipping import LogShipper, shipping_settings
from llmops.serving.production_log import LOG_FILE, ProductionLog, make_entry
from tests.support.azureml_emulator.credential import FakeCredential

if TYPE_CHECKING:
    from tests.support.azureml_emulator.fixtures import AzuriteSession

pytest_plugins = ["tests.support.azureml_emulator.fixtures"]
pytestmark = pytest.mark.timeout(120)


class RefusingFirst(FakeCredential):
    """Refuses its first `refusals` tokens, then mints them."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        if self.refusals > 0:
            self.refusals -= 1
            raise ClientAuthenticationError("ManagedIdentityCredential: the identity is not ready")
        return super().get_token_info(*scopes, options=options)


@pytest.fixture
def container(azurite_session: AzuriteSession, request: pytest.FixtureRequest) -> Iterator[ContainerClient]:
    storage = azurite_session.storage
    name = f"logs-{abs(hash(request.node.name)) % 10**8}"
    client = ContainerClient(storage.account_url, name, credential=FakeCredential())
    yield client
    if client.exists():
        client.delete_container()


def entries(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [make_entry("ep", "blue", False, 1.0, 200, {"url": f"https://x.example/{i}"}, {"category": "App"})
            for i in range(start, start + count)]


def shipped(container: ContainerClient) -> tuple[list[str], list[dict[str, Any]]]:
    """The blobs' names, and their entries in the order written (two segments may start in one millisecond)."""
    names = sorted(b.name for b in container.list_blobs())
    lines = [json.loads(line) for name in names
             for line in container.download_blob(name).readall().decode().splitlines()]
    return names, sorted(lines, key=lambda e: int(e["inputs"]["url"].rsplit("/", 1)[1]))


def shipper(tmp_path: Path, container: ContainerClient, **options: Any) -> tuple[ProductionLog, LogShipper]:
    path = tmp_path / "ep" / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    max_bytes = options.pop("max_bytes", 2000)
    ship = LogShipper(path, container, "ep", "blue", **{"segment_s": 3600.0, "first_backoff_s": 0.05, **options})
    log = ProductionLog(path, max_bytes, hand_over=ship.accept)
    ship.start(log)
    return log, ship


def test_segments_rotated_by_size_land_under_endpoint_deployment_date_and_nothing_is_left_after_close(
        tmp_path, container):
    log, ship = shipper(tmp_path, container)
    written = entries(40)  # about 200 bytes each: a segment per 10 entries
    for entry in written:
        log.append(entry)
    ship.close()
    names, lines = shipped(container)
    assert lines == written
    assert len(names) >= 4
    segments = [parse_segment(name) for name in names]
    assert all(s is not None and (s.endpoint, s.deployment) == ("ep", "blue") for s in segments)
    day = written[0]["timestamp"][:10]
    assert all(name.startswith(f"ep/blue/{day}/") for name in names)
    assert ship.pending() == [] and not (tmp_path / "ep" / LOG_FILE).exists()


def test_a_quiet_endpoint_ships_its_segment_after_segment_s(tmp_path, container):
    log, ship = shipper(tmp_path, container, segment_s=0.2)
    written = entries(3)
    for entry in written:
        log.append(entry)
    deadline = time.monotonic() + 10
    while not ship.uploaded and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shipped(container)[1] == written  # before close: the time rotation shipped it
    ship.close()


def test_a_failed_upload_is_retried_and_loses_nothing(tmp_path, container, caplog):
    # No retry of the blob client's own: the shipper's are the ones under test.
    container = ContainerClient(container.url.rsplit("/", 1)[0], container.container_name,
                                credential=RefusingFirst(3), retry_total=0)
    log, ship = shipper(tmp_path, container)
    written = entries(25)
    for entry in written:
        log.append(entry)
    deadline = time.monotonic() + 10
    while len(ship.uploaded) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    ship.close()
    assert ship.failures == 3
    assert "the identity is not ready; it stays in" in caplog.text
    assert shipped(container)[1] == written
    assert ship.pending() == []


def test_what_a_killed_server_left_is_shipped_by_the_next_one(tmp_path, container):
    path = tmp_path / "ep" / LOG_FILE
    killed = ProductionLog(path, 10**6)
    written = entries(5)
    for entry in written:
        killed.append(entry)  # never closed: the process died with its segment open
    (tmp_path / "ep" / "outbox").mkdir()
    left = entries(2, start=100)
    (tmp_path / "ep" / "outbox" / "00000000000000000001-1-000001.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in left), encoding="utf-8")  # closed, never uploaded
    _, ship = shipper(tmp_path, container)
    ship.close()
    assert shipped(container)[1] == written + left


def test_a_second_upload_of_the_same_segment_writes_the_same_blob(tmp_path, container):
    first, ship = shipper(tmp_path / "a", container)
    same = entries(3)
    for entry in same:
        first.append(entry)
    ship.close()
    again, ship = shipper(tmp_path / "b", container)
    for entry in same:
        again.append(entry)
    ship.close()
    names, lines = shipped(container)
    assert len(names) == 1 and lines == same


@pytest.mark.parametrize(("value", "expected"), [
    ("https://acct.blob.core.windows.net/logs?sv=2024&sig=TOP-SECRET", "carries a query string; give the container's "
                                                                        "URL alone"),
    ("http://acct.blob.core.windows.net/logs", "is not a blob container's URL"),
    ("https://acct.blob.core.windows.net", "is not a blob container's URL"),
])
def test_a_url_that_is_not_a_bare_container_url_is_refused_without_quoting_a_sas(value, expected):
    with pytest.raises(LlmopsError) as refused:
        shipping_settings({URL_ENV: value})
    assert expected in str(refused.value)
    assert "TOP-SECRET" not in str(refused.value)


def test_without_the_url_the_log_stays_local():
    assert shipping_settings({}) is None
    settings = shipping_settings({URL_ENV: "https://acct.blob.core.windows.net/llmops-production-logs/"})
    assert settings is not None
    assert (settings.account_url, settings.container) == ("https://acct.blob.core.windows.net",
                                                          "llmops-production-logs")

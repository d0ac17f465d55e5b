"""Ships a server's production log to blob storage, where post-production evaluation reads it in Azure.

A deployment's disk goes with its container, so a server whose environment names a container (URL_ENV, set by
the cloud targets) rotates its log into closed segments, by size (the log's max_bytes) or by time (SEGMENT_ENV,
default SEGMENT_S), and a background thread uploads each one as `<endpoint>/<deployment>/<date>/<start>-<sha256>
.jsonl` (backends/production_logs.py). A request only appends a line, as without shipping: a rotation renames the
file into `outbox/` beside the log, and the thread does every upload. An upload that fails stays in the outbox and
is tried again, backing off up to MAX_BACKOFF_S; at shutdown the open segment is closed and everything pending is
uploaded within FINAL_FLUSH_S; what still failed stays on disk, and a server started on the same folder uploads it
first. Names are content-addressed, so an upload repeated after a lost answer writes the same blob again.

The server signs in as the deployment's managed identity (DefaultAzureCredential: Azure ML and App Service give
the container their token endpoint; CLIENT_ID_ENV picks a user-assigned identity), never with a key: a URL that
carries a query (a SAS token) is refused at start. Entries hold inputs and outputs only, never a header
(production_log.py), so the key a caller sent never reaches the log, here or in storage.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from llmops.backends.production_logs import CLIENT_ID_ENV, SEGMENT_ENV, SEGMENT_S, URL_ENV, segment_name
from llmops.errors import LlmopsError
from llmops.serving.production_log import ProductionLog

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import ContainerClient

logger = logging.getLogger(__name__)

OUTBOX = "outbox"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
FINAL_FLUSH_S = 20.0  # within the grace Azure ML and App Service give a stopping container (30 s)
ALL_DEPLOYMENTS = "all-deployments"  # the folder of a server that serves several deployments (the local one)


@dataclass(frozen=True)
class ShippingSettings:
    container_url: str
    client_id: str | None
    segment_s: float = SEGMENT_S

    @property
    def account_url(self) -> str:
        return self.container_url.rsplit("/", 1)[0]

    @property
    def container(self) -> str:
        return self.container_url.rsplit("/", 1)[1]


def shipping_settings(environ: Mapping[str, str]) -> ShippingSettings | None:
    """The settings in `environ`; None when URL_ENV is unset (the log stays on this disk)."""
    url = environ.get(URL_ENV, "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.query or parts.fragment:  # never quoted: a SAS token is a secret
        raise LlmopsError(f"{URL_ENV} carries a query string; give the container's URL alone (https://<account>.blob."
                          "core.windows.net/<container>): the server signs in with the deployment's managed "
                          "identity, never with a SAS token or key")
    if parts.scheme != "https" or not parts.netloc or not parts.path.strip("/"):
        raise LlmopsError(f"{URL_ENV}={url!r} is not a blob container's URL; give one like https://<account>.blob."
                          "core.windows.net/llmops-production-logs")
    raw = environ.get(SEGMENT_ENV, "").strip()
    try:
        segment_s = float(raw) if raw else SEGMENT_S
    except ValueError:
        segment_s = 0.0
    if segment_s <= 0:
        raise LlmopsError(f"{SEGMENT_ENV}={raw!r} must be a number of seconds above 0")
    return ShippingSettings(url, environ.get(CLIENT_ID_ENV, "").strip() or None, segment_s)


def managed_identity(client_id: str | None) -> TokenCredential:
    """The deployment's identity: its platform's token endpoint in Azure (a workload or environment identity
    elsewhere), a user-assigned one when `client_id` names it."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id) if client_id else DefaultAzureCredential()


def open_container(settings: ShippingSettings, credential: TokenCredential | None = None) -> ContainerClient:
    """The container, with few quick retries of its own: the shipper retries a failed upload later anyway, and a
    blob client's default (waits of 15 s and more) would outlast the final flush."""
    from azure.storage.blob import ContainerClient, ExponentialRetry

    return ContainerClient(settings.account_url, settings.container,
                           credential=credential or managed_identity(settings.client_id),
                           retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2),
                           connection_timeout=10, read_timeout=60)


def _first_timestamp(data: bytes, fallback: float) -> datetime:
    first = data.split(b"\n", 1)[0]
    try:
        return datetime.fromisoformat(str(json.loads(first)["timestamp"])).astimezone(UTC)
    except (ValueError, KeyError, TypeError):  # a torn or foreign line: when the file was closed will do
        return datetime.fromtimestamp(fallback, UTC)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


class LogShipper:
    """Takes closed segments of one log (`accept`, the log's hand_over) and uploads them from its own thread."""

    def __init__(self, log_path: Path, container: ContainerClient, endpoint: str, deployment: str,
                 segment_s: float = SEGMENT_S, first_backoff_s: float = FIRST_BACKOFF_S,
                 final_flush_s: float = FINAL_FLUSH_S) -> None:
        self.outbox = log_path.parent / OUTBOX
        self.container = container
        self.endpoint = endpoint
        self.deployment = deployment
        self.segment_s = segment_s
        self.first_backoff_s = first_backoff_s
        self.final_flush_s = final_flush_s
        self.uploaded: list[str] = []  # blob names, in order
        self.failures = 0
        self._log: ProductionLog | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="production-log-shipper", daemon=True)
        self._sequence = 0

    def accept(self, path: Path) -> None:
        """Move a closed segment into the outbox (under the log's lock: a rename) and wake the uploader."""
        self._sequence += 1
        path.rename(self.outbox / f"{time.time_ns():020d}-{os.getpid()}-{self._sequence:06d}.jsonl")
        self._wake.set()

    def start(self, log: ProductionLog) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        self._log = log
        log.close_segment()  # a segment an earlier process left open (killed): shipped like the others
        self._thread.start()

    def pending(self) -> list[Path]:
        return sorted(self.outbox.glob("*.jsonl"))

    def _run(self) -> None:
        next_cut = time.monotonic() + self.segment_s
        retry_at, backoff = 0.0, self.first_backoff_s
        while not self._stopping.is_set():
            now = time.monotonic()
            self._wake.wait(max(0.0, min(next_cut, retry_at if retry_at > now else next_cut) - now))
            self._wake.clear()
            if self._stopping.is_set():
                return
            now = time.monotonic()
            if now >= next_cut:
                assert self._log is not None
                try:
                    self._log.close_segment()
                except OSError:
                    logger.exception("production log: could not close its segment; trying again")
                next_cut = now + self.segment_s
            if now < retry_at:
                continue
            try:
                shipped = self.ship_pending()
            except Exception:  # a disk error, say: the thread must outlive it, or nothing would be shipped again
                logger.exception("production log: shipping failed; trying again")
                shipped = False
            if shipped:
                retry_at, backoff = 0.0, self.first_backoff_s
            else:
                retry_at, backoff = now + backoff, min(backoff * 2, MAX_BACKOFF_S)

    def ship_pending(self) -> bool:
        """Upload every segment in the outbox, oldest first; False at the first that fails (it stays there)."""
        for path in self.pending():
            data = path.read_bytes()
            if data:
                name = segment_name(self.endpoint, self.deployment, _first_timestamp(data, path.stat().st_mtime),
                                    sha256(data).hexdigest())
                try:
                    self._upload(name, data)
                except Exception as error:  # storage unreachable, throttled, identity not yet allowed: later
                    self.failures += 1
                    logger.warning("production log: could not upload %s (%d bytes) to %s: %s; it stays in %s and "
                                   "is tried again", name, len(data), self.container.url, _one_line(error),
                                   self.outbox)
                    return False
                self.uploaded.append(name)
                logger.info("production log: uploaded %s (%d bytes)", name, len(data))
            path.unlink()
        return True

    def _upload(self, name: str, data: bytes) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.upload_blob(name, data, overwrite=True)
        except ResourceNotFoundError as error:
            if getattr(error, "error_code", None) != "ContainerNotFound":
                raise
            self.container.create_container()  # the target makes it at deploy; someone may have deleted it since
            self.container.upload_blob(name, data, overwrite=True)

    def close(self) -> None:
        """Stop the thread, close the open segment and upload what is pending, for up to final_flush_s."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._log is not None:
            self._log.close_segment()
            self._log.close()
        deadline, backoff = time.monotonic() + self.final_flush_s, self.first_backoff_s
        while not self.ship_pending():
            if time.monotonic() + backoff > deadline:
                left = self.pending()
                logger.error("production log: %d segment%s not uploaded to %s before the server stopped; kept in %s, "
                             "uploaded when a server starts on that folder again", len(left),
                             "" if len(left) == 1 else "s", self.container.url, self.outbox)
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


@contextmanager
def production_log(path: Path, endpoint: str, deployment: str | None, max_bytes: int,
                   environ: Mapping[str, str]) -> Iterator[ProductionLog]:
    """The server's production log, shipped to the container URL_ENV names when it is set; closed (and the rest
    shipped) on exit."""
    settings = shipping_settings(environ)
    if settings is None:
        log = ProductionLog(path, max_bytes)
        try:
            yield log
        finally:
            log.close()
        return
    shipper = LogShipper(path, open_container(settings), endpoint, deployment or ALL_DEPLOYMENTS, settings.segment_s)
    log = ProductionLog(path, max_bytes, hand_over=shipper.accept)
    shipper.start(log)
    logger.info("production log: shipping segments to %s (every %.0f s or %d bytes)", settings.container_url,
                settings.segment_s, max_bytes)
    try:
        yield log
    finally:
        shipper.close()

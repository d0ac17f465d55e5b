"""A step's jobs in Azure ML: find the earlier attempts, wait for one (reattach), cancel one, say why it failed.

Waiting polls the job's status (slowly: jobs take minutes) and logs each change. Ctrl-C while waiting
leaves the job running: it raises KeyboardInterrupt with how to reattach, which the CLI prints at exit 130.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from llmops.backends.azureml.jobs.naming import attempt_name
from llmops.backends.azureml.jobs.sdk_logs import sdk_quiet

logger = logging.getLogger(__name__)

COMPLETED = "Completed"
# Statuses after which a job does no more work (the rest are on their way: NotStarted, Queued, Running...).
ENDED = ("Completed", "Failed", "Canceled", "NotResponding", "Paused")
FIRST_POLL_S = 1.0
MAX_POLL_S = 5.0  # a GET every few seconds is nothing against ARM's read limits, and a laptop hears soon


def status_of(job: Any) -> str:
    return str(getattr(job.status, "value", job.status))


def is_active(job: Any) -> bool:
    return status_of(job) not in ENDED


def attempts(client: Any, series: str) -> Iterator[Any]:
    """The jobs of a series, attempt 1 first, up to the first attempt number not taken."""
    number = 1
    while True:
        try:
            with sdk_quiet():  # the SDK logs every 404 as a failed activity; here it only ends the series
                job = client.jobs.get(attempt_name(series, number))
        except ResourceNotFoundError:
            return
        yield job
        number += 1


def reattach_message(name: str) -> str:
    return (f"interrupted: job {name} keeps running in Azure ML; run the same command again to reattach, or add "
            "--cancel to cancel it")


def wait(client: Any, name: str) -> Any:
    """The job once it has ended; logs each status it goes through."""
    delay, seen = FIRST_POLL_S, ""
    try:
        while True:
            job = client.jobs.get(name)
            status = status_of(job)
            if status != seen:
                logger.info("job %s: %s", name, status)
                seen = status
            if not is_active(job):
                return job
            time.sleep(delay)
            delay = min(MAX_POLL_S, delay * 1.5)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(reattach_message(name)) from None


def cancel(client: Any, name: str) -> None:
    client.jobs.begin_cancel(name).result()


def failure_reason(client: Any, name: str) -> str:
    """The error Azure ML recorded for a failed job, from its run history ('' when it has none).

    azure-ai-ml reads it only inside jobs.stream, which prints the job's logs; its run history client is
    private, so this is fenced: any surprise gives '' and the caller points at studio instead.
    """
    try:
        details = client.jobs._runs_operations.get_run_details(name)
        error = getattr(details, "error", None)
        inner = getattr(error, "error", None) or error
        return str(getattr(inner, "message", "") or "")
    except Exception:  # the private API moved, or the history has no such run
        logger.debug("no failure reason for job %s", name, exc_info=True)
        return ""

"""How llmops retries Azure calls: azure-core's RetryPolicy, with bounds set here rather than left to defaults.

Retried: any answer carrying Retry-After; 408, 429 and 5xx answers (but 501 and 505) to GET, PUT, DELETE
and HEAD, and 500/503/504 to POST and PATCH too; and connection failures and resets of GET, PUT, DELETE
and HEAD requests (a POST may have been received, so it is not sent twice). Each wait is the
answer's Retry-After (or retry-after-ms) when it gives one, else exponential backoff: none before the
first retry, then BACKOFF_FACTOR * 2**(n-1) seconds, at most BACKOFF_MAX. Honouring Retry-After has one
limit: an answer asking to wait longer than MAX_RETRY_AFTER seconds is not waited for but reported
(errors.py says how long Azure asked for), since a CI job should not sit idle for many minutes.
So a call gives up after at most RETRIES retries, and in the worst case about RETRIES * MAX_RETRY_AFTER
seconds. Calls through MLClient (workspace.py) and llmops' own ARM and Key Vault calls (http.py) share
this policy; blob transfers use azure-storage-blob's own retries.
"""

from __future__ import annotations

from typing import Any

from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

RETRIES = 4  # after the first try, for answers (429, 5xx) and for connection failures alike
BACKOFF_FACTOR = 0.8  # seconds: waits of 0, 1.6, 3.2, 6.4 without Retry-After
BACKOFF_MAX = 30  # seconds, the longest backoff wait
MAX_RETRY_AFTER = 60  # seconds: a longer Retry-After ends the retries


class AzureRetryPolicy(RetryPolicy[Any, Any]):  # any transport's request and response types
    """RetryPolicy that gives up, instead of waiting, when Retry-After asks for more than `max_retry_after`."""

    def __init__(self, *, max_retry_after: float = MAX_RETRY_AFTER, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        return bool(super().is_retry(settings, response))


def azure_retry_policy(retries: int = RETRIES) -> AzureRetryPolicy:
    """The policy every llmops Azure call uses; `retries=0` tries once (tests of what a failure says)."""
    return AzureRetryPolicy(
        retry_total=retries,
        retry_status=retries,
        retry_connect=retries,
        retry_read=retries,
        retry_backoff_factor=BACKOFF_FACTOR,
        retry_backoff_max=BACKOFF_MAX,
    )

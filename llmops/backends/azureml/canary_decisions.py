"""A cloud endpoint's canary decisions (backends/canary.py), kept in the workspace's production-log container.

The decisions go where the endpoint's state is, not on the machine that ran the watch (a CI runner is gone an hour
later): one blob per decision, `_canary/<endpoint>/<seq>.json` (production_logs.decision_name), beside the log the
watch judged. A blob is created only when it does not exist yet (If-None-Match), so two watches of one endpoint
never overwrite each other's decisions: the second takes the next number. Endpoint tags, where the traffic history
lives, cannot hold them: a tag value holds 256 characters, and a decision's evidence is longer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from llmops.backends.azureml.production_logs import LogContainer
from llmops.backends.canary import CanaryDecision
from llmops.backends.production_logs import DECISIONS_PREFIX, decision_name
from llmops.errors import LlmopsError

ATTEMPTS = 20  # numbers tried when other watches took the next ones meanwhile


def _seqs(container: LogContainer, endpoint: str) -> list[int]:
    from azure.core.exceptions import ResourceNotFoundError

    prefix = f"{DECISIONS_PREFIX}/{endpoint}/"
    try:
        names = container.call(f"listing {container.url}/{prefix}", lambda: [
            blob.name for blob in container.client.list_blobs(name_starts_with=prefix)])
    except LlmopsError as error:
        if isinstance(error.__cause__, ResourceNotFoundError):
            return []  # no container yet: no decisions either
        raise
    stems = (name[len(prefix):].removesuffix(".json") for name in names)
    return sorted(int(stem) for stem in stems if stem.isdigit())


def record(container: LogContainer, decision: CanaryDecision) -> CanaryDecision:
    from azure.core.exceptions import ResourceExistsError

    seq = (_seqs(container, decision.endpoint) or [0])[-1] + 1
    for _ in range(ATTEMPTS):
        kept = replace(decision, seq=seq, created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        name = decision_name(decision.endpoint, seq)
        body = json.dumps(asdict(kept), sort_keys=True).encode()
        try:
            container.call(f"writing {container.url}/{name}",
                           lambda name=name, body=body: container.client.upload_blob(name, body, overwrite=False))
            return kept
        except LlmopsError as error:
            if not isinstance(error.__cause__, ResourceExistsError):
                raise
            seq += 1  # another watch of this endpoint wrote that number first
    raise LlmopsError(f"could not record a canary decision of endpoint '{decision.endpoint}' in {container.url}: "
                      f"{ATTEMPTS} numbers in a row were taken; is another watch of this endpoint running?")


def _decision(data: Any) -> CanaryDecision | None:
    try:
        return CanaryDecision(**data)
    except TypeError:
        return None  # a blob someone wrote by hand, or a newer llmops's: not shown


def decisions(container: LogContainer, endpoint: str, limit: int | None = None) -> list[CanaryDecision]:
    seqs = _seqs(container, endpoint)
    found = []
    for seq in seqs[-limit:] if limit else seqs:
        name = decision_name(endpoint, seq)
        data = container.call(f"reading {container.url}/{name}",
                              lambda name=name: container.client.download_blob(name).readall())
        try:
            decision = _decision(json.loads(data))
        except ValueError:
            decision = None
        if decision is not None:
            found.append(decision)
    return found

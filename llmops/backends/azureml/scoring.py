"""One request to a cloud endpoint's scoring URI (an Azure ML online endpoint's, a web app's or one of its slots'),
as a client of the endpoint sends it.

`Authorization: Bearer <endpoint key>` (never logged, never kept) and `azureml-model-deployment: <name>`, which
sends the request to that deployment alone, whatever its traffic: how a new deployment is smoke-tested at 0% (a
web app's slot is reached by its own URL instead). The answer names the deployment that served it in the same
header. TLS is verified (REQUESTS_CA_BUNDLE names a private CA, as for every Azure call).
"""

from __future__ import annotations

import json
import time
from typing import Any

from llmops.backends.targets import DEPLOYMENT_HEADER, PROBE_HEADER, PROBE_VALUE, REQUEST_ID_HEADER, ScoringReply

TIMEOUT_S = 300.0


def score(scoring_uri: str, key: str, inputs: Any, deployment: str | None = None, timeout: float = TIMEOUT_S,
          probe: bool = False) -> ScoringReply:
    """`probe`: llmops testing the endpoint (PROBE_HEADER; the router passes it to the server, which logs it)."""
    import requests

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    if deployment:
        headers[DEPLOYMENT_HEADER] = deployment
    if probe:
        headers[PROBE_HEADER] = PROBE_VALUE
    started = time.perf_counter()
    try:
        response = requests.post(scoring_uri, data=json.dumps(inputs), headers=headers, timeout=timeout)
    except requests.RequestException as error:
        return ScoringReply(0, None, f"no answer from {scoring_uri}: {type(error).__name__}", 0.0)
    try:
        body: Any = response.json() if response.content else None
    except ValueError:
        body = response.text
    return ScoringReply(response.status_code, response.headers.get(DEPLOYMENT_HEADER), body,
                        time.perf_counter() - started, response.headers.get(REQUEST_ID_HEADER))

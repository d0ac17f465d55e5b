"""Prompt flow's switches for staying on this machine, read from the environment when it is imported: no
trace service on port 23333, no tracing, no telemetry, and no Azure Monitor remote-settings lookup (a
network call made by the import itself). The local engine sets them for its runs; `test-flows` for the
use cases' own tests, whose flow code imports prompt flow too."""

from __future__ import annotations

LOCAL_ONLY_ENVIRONMENT = {
    "PF_TRACING_SKIP_LOCAL_SETUP": "true",
    "PF_DISABLE_TRACING": "true",
    "PROMPTFLOW_DISABLE_TELEMETRY": "true",
    "TELEMETRY_ENABLED": "false",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}

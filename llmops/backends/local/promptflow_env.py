"""Keep prompt flow local and quiet: its home under our state directory, no trace service, no telemetry."""

from __future__ import annotations

import logging
import os
from pathlib import Path

_QUIET_LOGGERS = ("execution", "execution.flow", "execution.bulk", "promptflow", "flowinvoker")


# Prompt flow reads these from its home's pf.yaml (what `pf config set` writes): telemetry off (it
# otherwise posts to a public endpoint) and no local trace service.
PF_CONFIG = "telemetry:\n  enabled: 'false'\ntrace:\n  destination: none\n"


def configure_promptflow(state_dir: Path) -> Path:
    home = state_dir / "promptflow"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "pf.yaml"
    if not config.is_file():
        config.write_text(PF_CONFIG, encoding="utf-8")
    # Set before prompt flow is imported: it reads them at import time.
    os.environ.setdefault("PF_HOME_DIRECTORY", str(home))
    os.environ.setdefault("PF_TRACING_SKIP_LOCAL_SETUP", "true")  # no trace service on port 23333
    os.environ.setdefault("PF_DISABLE_TRACING", "true")
    os.environ.setdefault("PROMPTFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("TELEMETRY_ENABLED", "false")
    os.environ.setdefault("APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED", "true")
    os.environ.setdefault("PF_LOGGING_LEVEL", "WARNING")
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return home

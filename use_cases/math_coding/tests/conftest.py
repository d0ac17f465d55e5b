"""The flow folders on sys.path, as prompt flow puts a flow's own folder there when it loads its nodes."""

from __future__ import annotations

import sys
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1] / "flows"
for flow in ("experiment", "evaluation"):
    if str(FLOWS / flow) not in sys.path:
        sys.path.insert(0, str(FLOWS / flow))

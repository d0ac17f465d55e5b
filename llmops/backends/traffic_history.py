"""A traffic history kept as resource tags: one tag per map, so it lives with the endpoint wherever it runs.

A cloud endpoint knows only its current map. Rollback needs the one before it, and the machine that
rolls back (a laptop, the next CI run) is rarely the one that deployed, so the history goes where the
endpoint is: tag `llmops.traffic.<seq>` holds one map as compact JSON (live, mirror, reason, rolled
back, time). ARM allows 50 tags of at most 256 characters per value, so the newest HISTORY_KEPT maps
are kept and a long reason is cut to fit. The rules are the local registry's: the current map is the
newest one not rolled back; rollback marks it rolled back, so the one before applies again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from llmops.backends.endpoints import TrafficMap
from llmops.backends.traffic import Split

TAG_PREFIX = "llmops.traffic."
HISTORY_KEPT = 10
MAX_TAG_VALUE = 256


def now() -> str:
    """To the millisecond: a canary watch's window starts when the map took effect, and the production log's entries
    are stamped to the millisecond (a map stamped to the second would let in requests of the second before it)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _encode(entry: TrafficMap) -> str:
    def text(reason: str) -> str:
        return json.dumps({"l": entry.split.live, "m": entry.split.mirror, "r": reason, "b": int(entry.rolled_back),
                           "t": entry.created_at}, separators=(",", ":"), sort_keys=True)

    value = text(entry.reason)
    if len(value) > MAX_TAG_VALUE:  # cut the reason, never the map
        value = text(entry.reason[: max(0, len(entry.reason) - (len(value) - MAX_TAG_VALUE) - 3)] + "...")
    return value


def _decode(seq: int, value: str) -> TrafficMap | None:
    try:
        data = json.loads(value)
        split = Split({str(k): int(v) for k, v in data["l"].items()}, {str(k): int(v) for k, v in data["m"].items()})
        return TrafficMap(seq, split, str(data.get("r", "")), bool(data.get("b")), str(data.get("t", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a tag someone edited by hand: not a map llmops can restore


def read(tags: Mapping[str, str] | None) -> list[TrafficMap]:
    """The maps kept in `tags`, oldest first."""
    found = []
    for key, value in (tags or {}).items():
        suffix = key[len(TAG_PREFIX):] if key.startswith(TAG_PREFIX) else ""
        entry = _decode(int(suffix), value) if suffix.isdigit() else None
        if entry is not None:
            found.append(entry)
    return sorted(found, key=lambda e: e.seq)


def write(tags: Mapping[str, str] | None, history: list[TrafficMap]) -> dict[str, str]:
    """`tags` with their maps replaced by the newest HISTORY_KEPT of `history`; other tags stay."""
    kept = {k: v for k, v in (tags or {}).items() if not k.startswith(TAG_PREFIX)}
    for entry in history[-HISTORY_KEPT:]:
        kept[f"{TAG_PREFIX}{entry.seq}"] = _encode(entry)
    return kept


def active(history: list[TrafficMap]) -> list[TrafficMap]:
    """The maps not rolled back, newest first: the first is current."""
    return [e for e in reversed(history) if not e.rolled_back]


def append(history: list[TrafficMap], split: Split, reason: str) -> list[TrafficMap]:
    seq = (history[-1].seq if history else 0) + 1
    return [*history, TrafficMap(seq, split, reason, False, now())]


def same_map(a: Split, b: Split) -> bool:
    """Whether two maps route alike: a deployment at 0 is the same as one left out (Azure lists new ones at 0)."""
    def shares(split: Split) -> tuple[dict[str, int], dict[str, int]]:
        return {k: v for k, v in split.live.items() if v}, {k: v for k, v in split.mirror.items() if v}

    return shares(a) == shares(b)


def reconcile(history: list[TrafficMap], actual: Split) -> list[TrafficMap]:
    """The history with the endpoint's actual map as its current one: a map set outside llmops (the portal, the
    az CLI) is recorded first, so a rollback returns to what really served before it."""
    current = active(history)
    if (current and same_map(current[0].split, actual)) or (not current and not any(actual.live.values())):
        return history
    return append(history, actual, "found on the endpoint (set outside llmops)")


def roll_back(history: list[TrafficMap]) -> tuple[list[TrafficMap], TrafficMap, TrafficMap] | None:
    """(the history with the current map marked rolled back, that map, the map that applies again); None when
    there is no earlier map."""
    current = active(history)
    if len(current) < 2:
        return None
    undone = current[0]
    marked = TrafficMap(undone.seq, undone.split, undone.reason, True, undone.created_at)
    return [marked if e.seq == undone.seq else e for e in history], marked, current[1]

"""What one production-log entry keeps of a request's inputs and outputs: at most MAX_FIELD_CHARS of JSON each.

Without a bound one large request took a whole log file, and a few of them rotated every earlier entry
out of the log; with it, rotation counts requests. A field that was cut is named in the entry's
`truncated` note with its original size, and post-production evaluation leaves that entry out.
"""

from __future__ import annotations

import json
from typing import Any

MAX_FIELD_CHARS = 32 * 1024
MAX_KEYS = 100  # a field's keys past this are left out: each would get too little room to be read


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


def bound(value: Any, limit: int = MAX_FIELD_CHARS) -> tuple[Any, int | None]:
    """(value, None) when its JSON fits in `limit` characters; else (a cut copy, the original size).

    An object keeps its small values whole and shares the rest of the room among the large ones, each
    cut to a prefix (of its JSON when it is not a string); anything else becomes the prefix of its JSON.
    """
    size = json_size(value)
    if size <= limit:
        return value, None
    if not isinstance(value, dict):
        return _prefix(value, limit - 2), size
    items = list(value.items())[:MAX_KEYS]
    sizes = {key: json_size(key) + json_size(item) for key, item in items}
    kept: dict[Any, Any] = {}
    room, left = limit, len(items)
    for key, item in sorted(items, key=lambda pair: sizes[pair[0]]):  # smallest first: they stay whole
        share, left = room // left, left - 1
        if sizes[key] <= share:
            kept[key], room = item, room - sizes[key]
            continue
        chars = share - json_size(key) - 2  # the quotes of the cut string
        if chars > 0:
            kept[key], room = _prefix(item, chars), room - share
    return {key: kept[key] for key, _ in items if key in kept}, size


def _prefix(value: Any, chars: int) -> str:
    """A prefix of `value` (of its JSON unless a string) whose JSON string takes at most `chars` + 2 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    cut = text[:chars]
    while (excess := json_size(cut) - 2 - chars) > 0:  # escapes (\" \\ \n) take more than one character
        cut = cut[:len(cut) - excess]
    return cut

"""Route requests by a traffic map (llmops/backends/traffic.py): weighted random; a sticky key hashes to
a fixed bucket, so the same key lands on the same deployment while the map is unchanged.
"""

from __future__ import annotations

import hashlib
import random

from llmops.backends.traffic import Split


def sticky_bucket(key: str) -> int:
    """A bucket in [0, 100) that depends on the key only, so it is the same in every server process."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100


class Router:
    """Chooses the deployment of one request, and the shadow deployments it is copied to."""

    def __init__(self, split: Split, seed: int | None = None) -> None:
        self.split = split
        # Cumulative upper bounds over deployments in name order: bucket b goes to the first bound > b.
        self._bounds: list[tuple[int, str]] = []
        upper = 0
        for name, share in sorted(split.live.items()):
            if share > 0:
                upper += share
                self._bounds.append((upper, name))
        self._rng = random.Random(seed)
        self._mirror_rng = random.Random(None if seed is None else seed + 1)

    def choose(self, sticky_key: str | None = None) -> str | None:
        """The deployment for a request; None when no deployment takes traffic."""
        if not self._bounds:
            return None
        bucket = sticky_bucket(sticky_key) if sticky_key else self._rng.randrange(100)
        # A validated map sums to 100; the fallback only matters for a map written by hand.
        return next((name for upper, name in self._bounds if bucket < upper), self._bounds[-1][1])

    def mirrors(self) -> list[str]:
        return [name for name, share in sorted(self.split.mirror.items())
                if share > 0 and self._mirror_rng.randrange(100) < share]

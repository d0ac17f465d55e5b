"""The workspace's resources, each a REST model kept under the path segments of its ARM id.

("data", "reviews", "versions", "3") is a data version, ("data", "reviews") its container,
("onlineEndpoints", "ep", "deployments", "blue") a deployment. ARM names are case-insensitive, so keys
are lower-cased; the models keep the names as they were sent. Reads hand out copies.
"""

from __future__ import annotations

import threading
from typing import Any

from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model

from .rest_models import copy_model

Key = tuple[str, ...]


def _key(segments: Key) -> Key:
    return tuple(segment.lower() for segment in segments)


class ResourceStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()  # handlers hold it across a read-modify-write
        self._items: dict[Key, Model] = {}
        self._extras: dict[Key, dict[str, Any]] = {}  # what is not in the model (endpoint keys, job state)

    def get(self, *segments: str) -> Any:
        with self.lock:
            found = self._items.get(_key(segments))
            return copy_model(found) if found is not None else None

    def put(self, model: Model, *segments: str) -> bool:
        """Stores `model`; True when it is new."""
        with self.lock:
            created = _key(segments) not in self._items
            self._items[_key(segments)] = copy_model(model)
            return created

    def delete(self, *segments: str) -> bool:
        with self.lock:
            key = _key(segments)
            self._extras.pop(key, None)
            return self._items.pop(key, None) is not None

    def children(self, *segments: str) -> list[Any]:
        """The resources one level below `segments`, in the order they were first stored."""
        prefix = _key(segments)
        with self.lock:
            return [copy_model(m) for k, m in self._items.items() if len(k) == len(prefix) + 1 and k[:-1] == prefix]

    def extras(self, *segments: str) -> dict[str, Any]:
        """Mutable side data kept beside a resource (same key), created empty on first use."""
        with self.lock:
            return self._extras.setdefault(_key(segments), {})

    def clear(self) -> None:
        with self.lock:
            self._items.clear()
            self._extras.clear()

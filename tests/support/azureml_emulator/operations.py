"""Long-running operations: the status resource an `Azure-AsyncOperation` header points at.

Azure ML answers a create, update or delete of an endpoint or deployment with 201/202 and two headers:
`Azure-AsyncOperation` (.../mfeOperationsStatus/{id}: {"status": "InProgress" | "Succeeded" | ...}) and
`Location` (.../mfeOperationResults/{id}). Here an operation stays InProgress for a set number of
status polls (and, when it has one, until its `ready` check says so: an online deployment's server
answers), then completes: its `on_done` callback settles the resource (provisioningState), and
the next poll reports Succeeded, or Failed with the error the callback raised.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ServiceError


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Operation:
    id: str
    polls_left: int
    on_done: Callable[[], None]
    ready: Callable[[], bool] | None = None  # None: done after its polls
    status: str = "InProgress"
    error: ServiceError | None = None
    start_time: str = field(default_factory=now)
    end_time: str | None = None

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"id": self.id, "name": self.id, "status": self.status, "startTime": self.start_time}
        if self.end_time:
            body["endTime"] = self.end_time
        if self.error:
            body["error"] = self.error.body()["error"]
        return body


class Operations:
    def __init__(self, in_progress_polls: int) -> None:
        self._in_progress_polls = in_progress_polls
        self._operations: dict[str, Operation] = {}
        self._lock = threading.Lock()

    def start(self, on_done: Callable[[], None], ready: Callable[[], bool] | None = None) -> Operation:
        operation = Operation(str(uuid.uuid4()), self._in_progress_polls, on_done, ready)
        with self._lock:
            self._operations[operation.id] = operation
        return operation

    def poll(self, operation_id: str) -> Operation | None:
        """The operation as a status poll sees it now; each poll brings it one step nearer its end."""
        with self._lock:
            operation = self._operations.get(operation_id)
            if operation is None or operation.status != "InProgress":
                return operation
            if operation.polls_left > 0:
                operation.polls_left -= 1
                return operation
            if operation.ready is not None and not operation.ready():
                return operation
            try:
                operation.on_done()
                operation.status = "Succeeded"
            except ServiceError as error:
                operation.status, operation.error = "Failed", error
            operation.end_time = now()
            return operation

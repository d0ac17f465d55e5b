"""The run history data plane, the part the SDK reads to stream a job's logs and find its outputs.

`jobs.stream` polls `runs/{id}/details` for the status (and the error of a failed job) while it
prints the logs it lists in the artifact store; `jobs.download` asks `rundata` for registered outputs
(none here) and then looks for each named output under `azureml/<job>/<output>/`, where the runner
puts them.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..errors import ServiceError
from ..http import Request, Response, json_response
from ..routing import PROVIDER, Router

HISTORY_PATH = (
    "/history/v1.0/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
    + PROVIDER
    + "/workspaces/{workspace}"
)


def register(router: Router, context: Context) -> None:
    def run(run_id: str) -> dict[str, Any]:
        job = context.store.get("jobs", run_id)
        if job is None:
            raise ServiceError(404, "UserError", f"Run {run_id} was not found.")
        extras = context.store.extras("jobs", run_id)
        body: dict[str, Any] = {
            "runId": run_id,
            "runUuid": run_id,
            "status": job.properties.get("status"),
            "target": job.properties.get("computeId"),
            "properties": dict(job.properties.get("properties") or {}),
            "tags": dict(job.properties.get("tags") or {}),
            "createdTimeUtc": job["systemData"]["createdAt"],
            "startTimeUtc": extras.get("status_times", {}).get("Running"),
            "endTimeUtc": next(
                (
                    extras.get("status_times", {}).get(s)
                    for s in ("Completed", "Failed", "Canceled")
                    if s in extras.get("status_times", {})
                ),
                None,
            ),
        }
        if extras.get("error"):
            body["error"] = {"error": {"code": "UserError", "message": extras["error"]}}
        return body

    def details(request: Request, params: dict[str, str]) -> Response:
        return json_response({**run(params["run"]), "logFiles": {}, "warnings": []})

    def run_data(request: Request, params: dict[str, str]) -> Response:
        run_id = (request.json() or {}).get("runId", "")
        return json_response({"runMetadata": {**run(run_id), "outputs": {}}})

    router.add("GET", HISTORY_PATH + "/runs/{run}/details", "runs", details, arm=False)
    router.add("POST", HISTORY_PATH + "/rundata", "runs", run_data, action="read", arm=False)

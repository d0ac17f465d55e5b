"""Jobs: submit (PUT), get, list, cancel. Submitted jobs are handed to the job runner, which runs them.

A job answers with the status the runner gives it (NotStarted -> Queued -> Preparing -> Running ->
Finalizing -> Completed | Failed | Canceled). A PUT on an existing job may change its tags,
description and display name only, as the service allows.
"""

from __future__ import annotations

import re
from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest

from ..blob_storage import ARTIFACT_DATASTORE
from ..context import Context
from ..errors import Problem, bad_request, conflict, not_found
from ..http import Request, Response, json_response, page
from ..resources import stamp
from ..rest_models import read_body
from ..routing import PROVIDER, WORKSPACE_PATH, Router
from .assets import check_name

TERMINAL = {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}
MUTABLE = ("tags", "description", "displayName", "isArchived")


_REFERENCE = re.compile(r"/(codes|environments|components)/([^/]+)/versions/([^/]+)$|/computes/([^/]+)$", re.IGNORECASE)


def _missing_references(context: Context, properties: Any) -> list[Problem]:
    """The assets and computes a job (or a pipeline's nodes) names that the workspace does not have."""
    named = [(key, properties.get(key)) for key in ("codeId", "environmentId", "computeId", "componentId")]
    for node, spec in (properties.get("jobs") or {}).items():
        named += [(f"jobs.{node}.{key}", spec.get(key)) for key in ("componentId", "computeId")]
    problems = []
    for where, reference in named:
        found = _REFERENCE.search(str(reference or "").removeprefix("azureml:"))
        if not reference or not found:
            continue
        segments = (found[1], found[2], "versions", found[3]) if found[1] else ("computes", found[4])
        if context.store.get(*segments) is None:
            problems.append(
                Problem(
                    "NotFound",
                    f"{reference} was not found in workspace {context.scope.workspace}.",
                    f"properties.{where}",
                )
            )
    return problems


def register(router: Router, context: Context) -> None:
    scope = context.scope

    def find(name: str) -> rest.JobBase:
        found = context.store.get("jobs", name)
        if found is None:
            raise not_found(f"{PROVIDER}/workspaces/{scope.workspace}/jobs/{name}", scope.resource_group)
        return found

    def put_job(request: Request, params: dict[str, str]) -> Response:
        name = params["name"]
        check_name(name, "job")
        job = read_body(rest.JobBase, request.body)
        problems = _missing_references(context, job.properties)
        if problems:
            raise bad_request(" ".join(p.message for p in problems), problems)
        with context.store.lock:
            existing = context.store.get("jobs", name)
            if existing is not None:
                for key in MUTABLE:
                    if key in job.properties:
                        existing.properties[key] = job.properties[key]
                context.store.put(stamp(existing, scope, "jobs", name, created=False), "jobs", name)
                return json_response(existing)
            job.properties["status"] = "NotStarted"
            job.properties.setdefault("experimentName", "Default")
            job.properties["services"] = {
                "Tracking": {"jobServiceType": "Tracking", "endpoint": f"azureml://{scope.location}.api.azureml.ms"},
                "Studio": {
                    "jobServiceType": "Studio",
                    "endpoint": f"https://ml.azure.com/runs/{name}?wsid={scope.workspace_id}",
                },
            }
            # Every job has a "default" output: its logs and artifacts in the artifact store.
            job.properties["outputs"] = {
                **dict(job.properties.get("outputs") or {}),
                "default": {
                    "jobOutputType": "uri_folder",
                    "uri": f"azureml://datastores/{ARTIFACT_DATASTORE}/ExperimentRun/dcid.{name}",
                },
            }
            if job.properties.get("jobType") == "Pipeline" and not job.properties.get("settings"):
                job.properties["settings"] = {}
            stamp(job, scope, "jobs", name)
            context.store.put(job, "jobs", name)
        response = json_response(job, 201)  # as submitted, before the runner moves it on
        assert context.jobs is not None
        context.jobs.submit(name)
        return response

    def get_job(request: Request, params: dict[str, str]) -> Response:
        return json_response(find(params["name"]))

    def list_jobs(request: Request, params: dict[str, str]) -> Response:
        jobs = context.store.children("jobs")
        view = request.query.get("listViewType", "ActiveOnly")
        if view != "All":
            jobs = [j for j in jobs if bool(j.properties.get("isArchived")) == (view == "ArchivedOnly")]
        if "jobType" in request.query:
            jobs = [j for j in jobs if j.properties.get("jobType", "").lower() == request.query["jobType"].lower()]
        return page(list(reversed(jobs)))  # newest first, as the service lists them

    def cancel_job(request: Request, params: dict[str, str]) -> Response:
        """202 Accepted with a Location that reports 200 once the job has stopped."""
        job = find(params["name"])
        if job.properties.get("status") in TERMINAL:
            raise conflict(
                f"Job {params['name']} is in a terminal state ({job.properties['status']}) and cannot be canceled."
            )
        assert context.jobs is not None
        operation = context.operations.start(lambda: None)
        context.jobs.cancel(params["name"])
        return Response(202, headers=context.operation_headers(operation.id, request.query["api-version"]))

    router.add("PUT", WORKSPACE_PATH + "/jobs/{name}", "workspaces/jobs", put_job)
    router.add("GET", WORKSPACE_PATH + "/jobs/{name}", "workspaces/jobs", get_job)
    router.add("GET", WORKSPACE_PATH + "/jobs", "workspaces/jobs", list_jobs)
    router.add("POST", WORKSPACE_PATH + "/jobs/{name}/cancel", "workspaces/jobs", cancel_job, action="cancel")

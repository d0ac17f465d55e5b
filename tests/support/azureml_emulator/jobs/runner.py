"""The job runner: takes each submitted job through its states while running it for real.

NotStarted -> Queued -> Preparing -> Running -> Finalizing -> Completed, or Failed (with an error the
run history reports) or Canceled. Each job runs on its own thread in `<work dir>/<job name>/`; its
outputs are uploaded to `azureml/<job name>/<output>/` in the default datastore (the path the SDK's
`jobs.download` looks in) and its logs to `ExperimentRun/dcid.<job name>/` in the artifact store.
The environment is recorded, not built: every process runs on this machine's Python.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from ..blob_storage import ARTIFACT_CONTAINER, BlobLocation
from ..context import Context
from ..operations import now
from .command import Canceled, run_command
from .inputs import JobFailure, LocalInput, fetch, fetch_code
from .parallel import ParallelReport
from .pipeline import PipelineRun

log = logging.getLogger(__name__)
TERMINAL = ("Completed", "Failed", "Canceled")


class JobRunner:
    def __init__(self, context: Context, work_dir: Path) -> None:
        self.context = context
        self.work_dir = work_dir
        self.parallel_reports: dict[str, dict[str, ParallelReport]] = {}  # job -> node -> report
        self._threads: dict[str, threading.Thread] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    # What the routes call.

    def submit(self, name: str) -> None:
        with self._lock:
            self._cancel[name] = threading.Event()
            thread = threading.Thread(target=self._run, args=(name,), name=f"job-{name}", daemon=True)
            self._threads[name] = thread
        thread.start()

    def cancel(self, name: str) -> None:
        self.cancel_event(name).set()

    def cancel_event(self, name: str) -> threading.Event:
        with self._lock:
            return self._cancel.setdefault(name, threading.Event())

    # What tests call.

    def folder(self, name: str) -> Path:
        """The job's local folder: code, inputs, outputs and logs of each node."""
        return self.work_dir / name

    def wait(self, name: str, timeout: float = 120.0) -> str:
        """Blocks until the job ends; returns its status."""
        with self._lock:
            thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)
        return str(self.context.store.get("jobs", name).properties["status"])

    def cancel_all(self) -> None:
        with self._lock:
            events, threads = list(self._cancel.values()), list(self._threads.values())
        for event in events:
            event.set()
        for thread in threads:
            thread.join(timeout=60)

    def stop(self) -> None:
        self.cancel_all()

    # The run itself.

    def _set(self, name: str, status: str, error: str | None = None) -> None:
        store = self.context.store
        with store.lock:
            job = store.get("jobs", name)
            job.properties["status"] = status
            store.put(job, "jobs", name)
            extras = store.extras("jobs", name)
            extras["status_times"] = {**extras.get("status_times", {}), status: now()}
            if error:
                extras["error"] = error

    def _environment(self, name: str, run_id: str, properties: dict[str, Any]) -> dict[str, str]:
        scope = self.context.scope
        return {
            **os.environ,
            "AZUREML_RUN_ID": run_id,
            "AZUREML_ROOT_RUN_ID": name,
            "AZUREML_ARM_SUBSCRIPTION": scope.subscription,
            "AZUREML_ARM_RESOURCEGROUP": scope.resource_group,
            "AZUREML_ARM_WORKSPACE_NAME": scope.workspace,
            "AZUREML_ARM_PROJECT_NAME": str(properties.get("experimentName", "Default")),
            **(properties.get("environmentVariables") or {}),
        }

    def _run(self, name: str) -> None:
        folder = self.folder(name)
        # A job name is used once in a workspace; a reset workspace (a new test) may use it again: start clean.
        shutil.rmtree(folder, ignore_errors=True)
        properties = dict(self.context.store.get("jobs", name).properties)
        try:
            for status in ("Queued", "Preparing"):
                self._set(name, status)
            failure = self.context.faults.job_failure(name)
            if failure:
                raise JobFailure(failure)
            self._set(name, "Running")
            outputs = self._execute(name, properties, folder)
            self._check_canceled(name)
            self._set(name, "Finalizing")
            self._publish(name, outputs)
            self._set(name, "Completed")
        except Canceled:
            self._set(name, "Canceled")
        except JobFailure as failure:
            self._set(name, "Canceled" if self.cancel_event(name).is_set() else "Failed", str(failure))
        except Exception as error:  # an emulator bug: fail the job and say where
            log.exception("the emulator failed to run job %s", name)
            self._set(name, "Failed", f"The emulator failed to run the job: {error!r}")
        finally:
            self._upload_logs(name, folder)

    def _check_canceled(self, name: str) -> None:
        if self.cancel_event(name).is_set():
            raise Canceled

    def _execute(self, name: str, properties: dict[str, Any], folder: Path) -> dict[str, Path]:
        job_type = properties.get("jobType")
        if job_type == "Command":
            return self._command_job(name, properties, folder)
        if job_type == "Pipeline":
            pipeline = PipelineRun(
                self, name, properties, folder, lambda run_id: self._environment(name, run_id, properties)
            )
            self.parallel_reports[name] = pipeline.reports
            return pipeline.run()
        raise JobFailure(f"Job type '{job_type}' is not emulated (Command and Pipeline are).")

    def _command_job(self, name: str, properties: dict[str, Any], folder: Path) -> dict[str, Path]:
        code = (
            fetch_code(self.context, properties["codeId"], folder / "code")
            if properties.get("codeId")
            else folder / "code"
        )
        code.mkdir(parents=True, exist_ok=True)
        inputs: dict[str, LocalInput] = {
            input_name: fetch(self.context, dict(job_input), folder / "inputs" / input_name)
            for input_name, job_input in (properties.get("inputs") or {}).items()
        }
        outputs = {
            output: folder / "outputs" / output for output in (properties.get("outputs") or {}) if output != "default"
        }  # the logs, which the runner uploads itself
        limits = properties.get("limits") or {}
        timeout = _seconds(limits.get("timeout")) if limits.get("timeout") else None
        run_command(
            properties["command"],
            code,
            inputs,
            outputs,
            self._environment(name, name, properties),
            folder / "logs" / "user_logs" / "std_log.txt",
            self.cancel_event(name),
            timeout,
        )
        return outputs

    def _publish(self, name: str, outputs: dict[str, Path]) -> None:
        """Uploads the outputs and records where they went on the job, as `outputs.<name>.uri`."""
        storage = self.context.storage
        uris = {}
        for output, path in outputs.items():
            location = BlobLocation(storage.container, f"azureml/{name}/{output}")
            storage.clear(location)  # what a job of the same name left before a reset
            storage.upload(path, location)
            uris[output] = storage.azureml_uri(location)
        store = self.context.store
        with store.lock:
            job = store.get("jobs", name)
            job_outputs = dict(job.properties.get("outputs") or {})
            for output, uri in uris.items():
                job_outputs[output] = {**dict(job_outputs.get(output) or {"jobOutputType": "uri_folder"}), "uri": uri}
            job.properties["outputs"] = job_outputs
            store.put(job, "jobs", name)

    def _upload_logs(self, name: str, folder: Path) -> None:
        """Every node's `logs/` folder, to the artifact store under ExperimentRun/dcid.<job name>/."""
        try:
            storage = self.context.storage
            for logs in sorted(folder.glob("**/logs")):
                if logs.is_dir():
                    node = logs.parent.relative_to(folder).as_posix()
                    prefix = f"ExperimentRun/dcid.{name}" + ("" if node == "." else f"/{node}")
                    storage.upload(logs, BlobLocation(ARTIFACT_CONTAINER, prefix))
        except Exception:
            log.exception("could not upload the logs of job %s", name)


def _seconds(value: Any) -> float:
    """A command job's limits.timeout: an ISO 8601 duration (PT30S, PT1H) or seconds."""
    text = str(value)
    if not text.upper().startswith("P"):
        return float(text)
    import isodate

    return float(isodate.parse_duration(text).total_seconds())

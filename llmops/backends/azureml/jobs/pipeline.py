"""The pipeline job of a step: one parallel node that runs the lines of its shard files.

    inputs   lines (uri_folder): the shard files (shards.py); one file is one mini-batch
    outputs  results (uri_folder): parallel_run_step.txt, one JSON row per line (append_row_to)
             accounting (uri_folder): each worker's LLM calls, JSON lines (node/accounting_export.py)
    node     INSTANCE_COUNT nodes x MAX_CONCURRENCY_PER_INSTANCE worker processes, on the cluster COMPUTE_NAME
             or on serverless compute of INSTANCE_TYPE; a mini-batch whose worker raised, died or ran past
             its timeout is retried MAX_RETRIES more times.

FAILED_LINE_THRESHOLD maps to the node's error thresholds like this. A line whose flow failed is not an
error of the job: it comes back as a row with its error, is merged and run again next time, as locally,
and the step applies FAILED_LINE_THRESHOLD to it afterwards. The job's error_threshold counts what comes
back with no row at all: the shard files (mini-batches) that failed on every try. The job stops, Failed, once
more than FAILED_LINE_THRESHOLD of its shards are lost that way (none may be at 0); fewer lost shards leave
their lines failed ("lost on Azure ML"), to be run again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.backends.azureml.node.entry import ENTRY_SCRIPT_NAME
from llmops.backends.azureml.settings import AzureSettings

RESULTS = "results"
ACCOUNTING = "accounting"
ROWS_FILE = "parallel_run_step.txt"  # what append_row_to writes in the results output
NODE = "run_lines"
MAX_RETRIES = 2
# A shard's lines run CONCURRENCY LLM calls at a time; the timeout only catches a worker that hangs.
BASE_TIMEOUT_S = 600
TIMEOUT_PER_LINE_S = 60


@dataclass(frozen=True)
class JobShape:
    name: str
    display_name: str
    experiment: str
    tags: dict[str, str]
    shards: int
    lines_per_shard: int


def lost_shards_allowed(settings: AzureSettings, shards: int) -> int:
    return math.floor(settings.failed_line_threshold * shards)


def step_pipeline(settings: AzureSettings, shape: JobShape, bundle: Path, shards_dir: Path, environment: Any) -> Any:
    from azure.ai.ml import Input, Output, dsl
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.parallel import RunFunction, parallel_run_function

    allowed = lost_shards_allowed(settings, shape.shards)
    node = parallel_run_function(
        name=NODE,
        display_name="run the lines with the llmops engine",
        inputs={"lines": Input(type=AssetTypes.URI_FOLDER)},
        outputs={RESULTS: Output(type=AssetTypes.URI_FOLDER), ACCOUNTING: Output(type=AssetTypes.URI_FOLDER)},
        input_data="${{inputs.lines}}",
        instance_count=settings.instance_count,
        instance_type=None if settings.compute else settings.instance_type,
        max_concurrency_per_instance=settings.max_concurrency_per_instance,
        mini_batch_size="1",
        error_threshold=allowed,
        mini_batch_error_threshold=allowed,
        # Annotated as BatchRetrySettings, but a parallel node takes a dict (or its private RetrySettings).
        retry_settings={"max_retries": MAX_RETRIES,  # type: ignore[arg-type]
                        "timeout": BASE_TIMEOUT_S + TIMEOUT_PER_LINE_S * shape.lines_per_shard},
        logging_level="INFO",
        task=RunFunction(
            code=str(bundle),
            entry_script=ENTRY_SCRIPT_NAME,
            environment=environment,
            program_arguments=f"--{ACCOUNTING} ${{{{outputs.{ACCOUNTING}}}}}",
            append_row_to=f"${{{{outputs.{RESULTS}}}}}",
        ),
    )

    # No annotations on the pipeline function: azure-ai-ml reads them as input types.
    @dsl.pipeline(None, name=shape.name, compute=settings.compute or None,
                  default_compute=None if settings.compute else "serverless")
    def step(lines):  # type: ignore[no-untyped-def]  # unannotated on purpose, as said above
        run = node(lines=lines)
        return {RESULTS: run.outputs[RESULTS], ACCOUNTING: run.outputs[ACCOUNTING]}

    job = step(lines=Input(type=AssetTypes.URI_FOLDER, path=str(shards_dir)))
    job.name = shape.name
    job.display_name = shape.display_name
    job.experiment_name = shape.experiment
    job.tags = dict(shape.tags)
    return job

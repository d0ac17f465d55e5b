"""One experiment step on the Azure ML backend against the emulator, on 1, 2 and 4 nodes, against the local
run of the same specs in the same process; and the per-step overhead of going through a job at all.

    .venv/bin/python benchmarks/azureml_scaling.py [--lines 240] [--latency 0.2] [--concurrency 4]

The flow asks the gateway's simulated upstream once per line (a fixed latency per call). Locally the lines
share one gateway (CONCURRENCY calls in flight); on Azure ML each worker process has its own, so the
calls in flight grow with the nodes. The overhead is a step whose calls take no time: bundle, upload,
submission, node start-up (each worker imports prompt flow), polling, download and merge.

The emulator runs every node as a process of this machine (2 cores here), so node start-up competes with
the lines for CPU in a way separate Azure ML nodes do not, and polls come once a second (the product
polls up to every 5 s: Azure ML jobs take minutes). Needs node_modules/azurite and the /etc/hosts line of
tests/support/azureml_emulator/README.md.

Measured here (2 cores, 240 lines at 200 ms, CONCURRENCY 4): local 15.1 s; Azure ML on 1 node 29.6 s
(1.96x local), 2 nodes 21.0 s (1.39x), 4 nodes 21.2 s (1.40x); a 0-latency step 2.1 s locally, 13.3 s as a
job: 11.2 s of overhead per step. Less the overhead, 2 nodes halve the lines' time (18.4 s -> 9.8 s); 4 nodes
do not, as their 4 worker processes start prompt flow on the same 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from tests.support import azurite as azurite_support  # noqa: E402
from tests.support import generated_use_case  # noqa: E402
from tests.support.azureml_emulator.blob_storage import BlobStorage  # noqa: E402
from tests.support.azureml_emulator.emulator import AzureMLEmulator  # noqa: E402
from tests.support.azureml_emulator.fixtures import CONTAINER  # noqa: E402
from tests.support.azureml_emulator.product import clean_environment, llmops_environment  # noqa: E402
from tests.support.azureml_emulator.tls import make_loopback_tls  # noqa: E402

NAME = "scaling"
LOCAL, AZURE = "bench", "azure"


@contextlib.contextmanager
def emulator(folder: Path) -> Iterator[AzureMLEmulator]:
    """Azurite and the emulator, as the tests' session fixtures start them."""
    reason = azurite_support.missing_reason() or azurite_support.host_name_reason()
    if reason:
        raise SystemExit(f"cannot run the emulator here: {reason}")
    folder.mkdir(parents=True)
    tls = make_loopback_tls(folder, ["localhost", azurite_support.HOST_NAME])
    azurite = azurite_support.start_azurite(folder, tls.cert, tls.key)
    os.environ["REQUESTS_CA_BUNDLE"] = str(tls.ca_bundle)
    storage = BlobStorage(azurite_support.ACCOUNT_NAME, azurite_support.ACCOUNT_KEY, azurite.port, CONTAINER,
                          str(tls.ca_bundle), azurite_support.STORAGE_DOMAIN)
    started = AzureMLEmulator(storage, tls.cert, tls.key, folder / "jobs")
    try:
        yield started
    finally:
        started.stop()
        azurite.stop()


def write_use_case(root: Path, lines: int, concurrency: int, emulated: AzureMLEmulator) -> None:
    rows = [{"text": f"question number {i}"} for i in range(lines)]
    folder = generated_use_case.write(root, NAME, rows, llm_variants=1, concurrency=concurrency)
    config = json.loads((folder / "llmops_config.json").read_text())
    scope = emulated.scope
    config["envs"].append({**config["envs"][0], "ENV_NAME": AZURE, "BACKEND": "azureml",
                           "RESOURCE_GROUP_NAME": scope.resource_group, "WORKSPACE_NAME": scope.workspace})
    (folder / "llmops_config.json").write_text(json.dumps(config))
    data = json.loads((folder / "configs/data_config.json").read_text())
    data["datasets"].append({**data["datasets"][0], "ENV_NAME": AZURE, "DATASET_NAME": f"{NAME}_azure"})
    (folder / "configs/data_config.json").write_text(json.dumps(data))


def step(root: Path, state: Path, env: str, latency: float, instances: int = 1) -> float:
    """Wall time of one experiment step (data registered before the clock starts)."""
    from llmops.backends.azureml.executor import AzureMLExecutor
    from llmops.backends.azureml.settings import AzureVariables, azure_settings
    from llmops.backends.azureml.workspace import ml_client
    from llmops.backends.local import LocalBackend
    from llmops.config.use_case import load_use_case
    from llmops.config.workspace import Workspace
    from llmops.llm.open_session import open_session
    from llmops.steps.experiment import experiment
    from llmops.steps.register_data import register_data

    ws = Workspace.find(root, state_dir=state)
    uc = load_use_case(ws, NAME, check=False)
    backend = LocalBackend.at(state)
    if env == AZURE:
        settings = replace(azure_settings(uc, AZURE, AzureVariables(dict(os.environ))), instance_count=instances)
        executor = AzureMLExecutor(ws, settings, ml_client(settings), backend.registry.runs)
        backend = LocalBackend(backend.registry, executor)  # type: ignore[arg-type]
    register_data(ws, uc, env, backend)
    flow = uc.standard_flow(env)
    with open_session(ws, uc, env, [flow], provider="simulated", simulated_latency_s=latency, cache=False,
                      environ={}) as session:
        started = time.perf_counter()
        result = experiment(ws, uc, env, session, variants="defaults", backend=backend)
        elapsed = time.perf_counter() - started
    failed = sum(r.record.lines_failed for r in result.runs)
    if failed:
        raise SystemExit(f"{failed} lines failed on {env}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=240)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("azure").setLevel(logging.CRITICAL)
    from llmops.backends.azureml.jobs import tracking

    tracking.MAX_POLL_S = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with emulator(root / "emulator") as emulated:
            environment = {**clean_environment(), **llmops_environment(emulated)}  # as CI exports them; nodes inherit
            os.environ.clear()
            os.environ.update(environment)
            write_use_case(root, args.lines, args.concurrency, emulated)
            print(f"{args.lines} lines, one LLM call each at {args.latency * 1000:.0f} ms; CONCURRENCY "
                  f"{args.concurrency} (per worker process on Azure ML)")
            figures = {}
            for latency in (args.latency, 0.0):
                local = step(root, root / f"local-{latency}", LOCAL, latency)
                print(f"latency {latency:.1f} s: local {local:6.1f} s")
                for instances in ((1, 2, 4) if latency else (1,)):
                    emulated.reset()  # the same runs: a new workspace, so the step submits its job again
                    took = step(root, root / f"azure-{latency}-{instances}", AZURE, latency, instances)
                    figures[(latency, instances)] = took
                    print(f"  Azure ML, {instances} node(s): {took:6.1f} s = {took / local:.2f}x local")
                if not latency:
                    print(f"  per-step overhead of a job: {figures[(0.0, 1)] - local:.1f} s")


if __name__ == "__main__":
    main()

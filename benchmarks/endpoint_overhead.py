"""Latency the local endpoint adds per request, at 100 concurrent requests, on a flow of python nodes only.

Two phases in one run, same inputs, same concurrency:
  in process  100 threads call the deployment's FlowRunner.run_line directly (prompt flow's executor)
  endpoint    100 client threads POST /score to the endpoint server (its own process, waitress, routing,
              production log), each over one keep-alive connection

The endpoint serves the same model snapshot and variant the in-process runner uses. Added latency is
endpoint minus in process, at p50 and p99; throughput is requests per second of wall time.

    .venv/bin/python benchmarks/endpoint_overhead.py [--concurrency 100] [--calls 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from _latency import percentiles, run_threads  # noqa: E402 (benchmarks/ is the script's folder)

from llmops.backends.local.engine.flow_runner import FlowRunner  # noqa: E402
from llmops.backends.local.engine.promptflow_env import configure_promptflow  # noqa: E402
from llmops.backends.local.engine.snapshot import materialize  # noqa: E402
from llmops.backends.local.engine.variants_dag import write_variant_dag  # noqa: E402
from llmops.config.use_case import load_use_case  # noqa: E402
from llmops.config.workspace import Workspace  # noqa: E402
from llmops.serving import process  # noqa: E402
from llmops.steps.deploy import deploy, endpoint_up  # noqa: E402
from llmops.steps.register_model import register_model  # noqa: E402
from tests.support.mini_use_case import edit_json, write_use_case  # noqa: E402


def inputs(worker: int, index: int) -> dict[str, str]:
    return {"url": f"https://{'apps.' if index % 2 else ''}example.com/{worker}/{index}"}


def in_process(runner: FlowRunner) -> Callable[[int], Callable[[int], None]]:
    def make(worker: int) -> Callable[[int], None]:
        def call(index: int) -> None:
            outcome = runner.run_line(worker * 100_000 + index, inputs(worker, index))
            if outcome.error:
                raise RuntimeError(outcome.error)
        return call
    return make


def over_http(port: int) -> Callable[[int], Callable[[int], None]]:
    def make(worker: int) -> Callable[[int], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def call(index: int) -> None:
            connection.request("POST", "/score", body=json.dumps(inputs(worker, index)),
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
        return call
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--calls", type=int, default=20, help="calls per thread")
    parser.add_argument("--threads", type=int, default=8, help="endpoint server worker threads")
    args = parser.parse_args()
    total = args.concurrency * args.calls
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_use_case(root)
        edit_json(root / "use_cases/mini/configs/deployment_config.json", lambda d: d["local_endpoint"][0].update(
            {"CURRENT_DEPLOYMENT_NAME": "blue", "CURRENT_DEPLOYMENT_TRAFFIC_ALLOCATION": "100",
             "PRIOR_DEPLOYMENT_NAME": "", "PRIOR_DEPLOYMENT_TRAFFIC_ALLOCATION": ""}))
        workspace = Workspace(root, root / ".llmops", root / "reports")
        use_case = load_use_case(workspace, "mini")
        configure_promptflow(workspace.state_dir)
        model = register_model(workspace, use_case, "dev").model
        info, _ = endpoint_up(workspace, use_case, "dev", "replay", threads=args.threads)
        try:
            deployed = deploy(workspace, use_case, "dev")
            _, snapshot = materialize(model.snapshot, workspace.state_dir / "snapshots")
            dag, _ = write_variant_dag(snapshot, snapshot / "flow.dag.yaml", deployed.deployment.variant)
            runner = FlowRunner(snapshot, dag, {})
            print(f"{total} requests per phase: {args.concurrency} concurrent x {args.calls}; flow of python nodes "
                  f"only; endpoint with {args.threads} worker threads (separate process)")
            run_threads(args.concurrency, 2, in_process(runner))  # warm up both paths
            run_threads(args.concurrency, 2, over_http(info.port))
            local, local_wall = run_threads(args.concurrency, args.calls, in_process(runner))
            served, served_wall = run_threads(args.concurrency, args.calls, over_http(info.port))
            single, single_wall = run_threads(1, 200, in_process(runner))
            single_http, single_http_wall = run_threads(1, 200, over_http(info.port))
        finally:
            process.stop(workspace.state_dir, info.endpoint)
    print(f"{'phase':<28}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    rows = [("in process, 100 threads", local, local_wall, total),
            ("endpoint, 100 clients", served, served_wall, total),
            ("in process, 1 thread", single, single_wall, 200),
            ("endpoint, 1 client", single_http, single_http_wall, 200)]
    figures = {}
    for name, values, wall, count in rows:
        p50, p99 = percentiles(values)
        figures[name] = (p50, p99, count / wall)
        print(f"{name:<28}{p50:>10.2f}{p99:>10.2f}{count / wall:>10.0f}")
    (lp50, lp99, lrps), (sp50, sp99, srps) = figures["in process, 100 threads"], figures["endpoint, 100 clients"]
    print(f"added by the endpoint at 100 concurrent: p50 {sp50 - lp50:+.2f} ms, p99 {sp99 - lp99:+.2f} ms")
    print(f"ratio endpoint/in process at 100 concurrent: p50 {sp50 / lp50:.2f}x, p99 {sp99 / lp99:.2f}x, "
          f"throughput {srps / lrps:.2f}x")
    (op50, _, _), (hp50, _, _) = figures["in process, 1 thread"], figures["endpoint, 1 client"]
    print(f"added by the endpoint, one request at a time: p50 {hp50 - op50:+.2f} ms")


if __name__ == "__main__":
    main()

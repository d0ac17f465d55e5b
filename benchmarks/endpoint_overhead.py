"""What the local endpoint costs per request, against running the line in process and against `pf flow serve`,
on a flow of python nodes only, at 1 and at 100 concurrent clients.

Phases in one run, same flow snapshot and variant, same inputs:
  in process, sync    threads call FlowRunner.run_line (prompt flow's sync line API: a thread pool per line)
  in process, async   coroutines on one event loop call FlowRunner.run_line_async, nodes on one node pool
                      (how run_batches runs an experiment: the engine's best line rate)
  serving line        the same, with the line as the endpoint server runs it: no run records (FlowRunner
                      records=False); the endpoint against this row is the server's own cost alone
  endpoint            clients POST /score to the endpoint server (its own process: HTTP, routing, the
                      production log)
  endpoint, 2 workers the same server with WORKERS 2 (llmops/serving/workers.py): two processes accepting on one
                      socket, one LLM gateway in their parent; a second endpoint of the same deployment
  pf flow serve       the same clients POST /score to `pf flow serve` (prompt flow's Flask server) on a copy
                      of the same snapshot with the same variant
HTTP clients are keep-alive connections on one asyncio loop in this process (_http_load.py). Ratios compare
throughput (requests per second of wall time); p50 and p99 are per request. The phases run in turn, --rounds
times, and each phase's best round is shown: on a machine shared with other work, the best round is the one
least disturbed. CPU ms per request is the serving process's own CPU time (this process's for in-process
phases; the parent's and its workers' together for the 2-worker endpoint), which other work on the machine
disturbs far less than wall time.

    .venv/bin/python benchmarks/endpoint_overhead.py [--concurrency 100] [--calls 20] [--threads 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests.support

from _http_load import post_load  # noqa: E402 (benchmarks/ is the script's folder)
from _latency import percentiles, run_threads  # noqa: E402

from llmops.backends.endpoints import Deployment  # noqa: E402
from llmops.backends.local.engine.flow_runner import FlowRunner  # noqa: E402
from llmops.backends.local.engine.node_pool import NodePool  # noqa: E402
from llmops.backends.local.engine.promptflow_env import configure_promptflow  # noqa: E402
from llmops.backends.local.engine.snapshot import materialize  # noqa: E402
from llmops.backends.local.engine.variants_dag import write_variant_dag  # noqa: E402
from llmops.backends.local.registry import endpoints as endpoint_registry  # noqa: E402
from llmops.backends.promptflow_switches import LOCAL_ONLY_ENVIRONMENT  # noqa: E402
from llmops.backends.traffic import Split  # noqa: E402
from llmops.config.use_case import load_use_case  # noqa: E402
from llmops.config.workspace import Workspace  # noqa: E402
from llmops.serving import process  # noqa: E402
from llmops.serving.ports import listening_socket  # noqa: E402
from llmops.serving.server_settings import WORKERS_ENV  # noqa: E402
from llmops.steps.deploy import deploy, endpoint_up  # noqa: E402
from llmops.steps.register_model import register_model  # noqa: E402
from tests.support.mini_use_case import edit_json, write_use_case  # noqa: E402

Figures = tuple[list[float], float]
Measured = tuple[list[float], float, float]  # latencies in ms, wall s, CPU s of the serving process
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu_seconds(pid: int) -> float:
    """`pid`'s CPU time and its running children's (an endpoint's worker processes)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in children)


def measured(pid: int | None, phase: Callable[[], Figures]) -> Measured:
    before = tree_cpu_seconds(pid) if pid else time.process_time()
    latencies, wall = phase()
    return latencies, wall, (tree_cpu_seconds(pid) if pid else time.process_time()) - before


def workers_endpoint(workspace: Workspace, deployment: Deployment, workers: int, threads: int) -> process.ServerInfo:
    """A second endpoint serving the same deployment at 100%, with `workers` server processes."""
    name = f"{deployment.endpoint}-{workers}w"
    endpoint_registry.ensure_endpoint(workspace.state_dir, name, "mini", "dev", "replay")
    endpoint_registry.put_deployment(workspace.state_dir, replace(deployment, endpoint=name))
    endpoint_registry.set_split(workspace.state_dir, name, Split({deployment.name: 100}), "benchmark")
    os.environ[WORKERS_ENV] = str(workers)  # the server's environment is this one's
    try:
        return process.start(process.ServeOptions(
            root=workspace.root, state_dir=workspace.state_dir, use_case="mini", env="dev", endpoint=name,
            provider="replay", threads=threads))[0]
    finally:
        del os.environ[WORKERS_ENV]


def inputs(worker: int, index: int) -> dict[str, str]:
    return {"url": f"https://{'apps.' if index % 2 else ''}example.com/{worker}/{index}"}


def body(worker: int, index: int) -> bytes:
    return json.dumps(inputs(worker, index)).encode()


def in_process_sync(runner: FlowRunner) -> Callable[[int], Callable[[int], None]]:
    def make(worker: int) -> Callable[[int], None]:
        def call(index: int) -> None:
            outcome = runner.run_line(worker * 100_000 + index, inputs(worker, index))
            if outcome.error:
                raise RuntimeError(outcome.error)
        return call
    return make


def in_process_async(runner: FlowRunner, concurrency: int, calls: int) -> Figures:
    async def drive() -> Figures:
        latencies: list[float] = []

        async def worker(number: int) -> None:
            for index in range(calls):
                began = time.perf_counter()
                outcome = await runner.run_line_async(number * 100_000 + index, inputs(number, index))
                if outcome.error:
                    raise RuntimeError(outcome.error)
                latencies.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return latencies, time.perf_counter() - began

    return asyncio.run(drive())


def free_port() -> int:
    sock = listening_socket("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def start_pf_flow_serve(flow_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`pf flow serve` offline: prompt flow's home, telemetry and tracing switches as the engine sets them."""
    env = {**os.environ, **LOCAL_ONLY_ENVIRONMENT}
    pf = Path(sys.executable).parent / "pf"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(pf), "flow", "serve", "--source", str(flow_dir), "--port", str(port),
                                 "--host", "127.0.0.1", "--skip-open-browser"], stdout=out, stderr=out, env=env,
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pf flow serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"pf flow serve did not answer /health in 120 s: {log.read_text()[-2000:]}")


def pf_flow_copy(snapshot: Path, dag: str, target: Path) -> Path:
    """The snapshot with the deployment's variant as its flow.dag.yaml, as `pf flow serve --source` takes it."""
    shutil.copytree(snapshot, target, ignore=shutil.ignore_patterns("flow.variant-*.dag.yaml", "__pycache__"))
    shutil.copyfile(snapshot / dag, target / "flow.dag.yaml")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--calls", type=int, default=20, help="calls per client at the high concurrency")
    parser.add_argument("--single-calls", type=int, default=300, help="calls of the one client")
    parser.add_argument("--threads", type=int, default=8, help="endpoint server --threads")
    parser.add_argument("--rounds", type=int, default=3, help="each phase's best round is shown")
    args = parser.parse_args()
    many, total = args.concurrency, args.concurrency * args.calls
    results: dict[tuple[str, int], Measured] = {}
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
        info = endpoint_up(workspace, use_case, "dev", "replay", threads=args.threads).server
        pf_proc, two = None, None
        try:
            deployed = deploy(workspace, use_case, "dev")
            two = workers_endpoint(workspace, deployed.deployment, 2, args.threads)
            _, snapshot = materialize(model.snapshot, workspace.state_dir / "snapshots")
            dag, _ = write_variant_dag(snapshot, snapshot / "flow.dag.yaml", deployed.deployment.variant)
            pf_port = free_port()
            pf_proc = start_pf_flow_serve(pf_flow_copy(snapshot, dag, root / "pf_flow"), pf_port, root / "pf.log")
            sync_runner = FlowRunner(snapshot, dag, {})
            async_runner = FlowRunner(snapshot, dag, {})
            serving_runner = FlowRunner(snapshot, dag, {}, records=False)
            node_pool = NodePool(max(1, args.threads) * 4)
            for runner in (async_runner, serving_runner):
                runner.load()
                runner.use_node_pool(node_pool)
            print(f"flow of python nodes only; {many} concurrent clients x {args.calls} calls, and 1 client x "
                  f"{args.single_calls} calls; endpoint --threads {args.threads}; machine load "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            servers = {"endpoint": (info.port, info.pid), "endpoint, 2 workers": (two.port, two.pid),
                       "pf flow serve": (pf_port, pf_proc.pid)}
            for port, _ in servers.values():  # warm up: imports, first lines, connections
                post_load(port, 10, 5, body)
            run_threads(10, 5, in_process_sync(sync_runner))
            in_process_async(async_runner, 10, 5)
            in_process_async(serving_runner, 10, 5)
            for _ in range(args.rounds):
                for clients, calls in ((1, args.single_calls), (many, args.calls)):
                    phases: dict[str, Measured] = {
                        "in process, sync": measured(None, partial(run_threads, clients, calls,
                                                                   in_process_sync(sync_runner))),
                        "in process, async": measured(None, partial(in_process_async, async_runner, clients, calls)),
                        "serving line": measured(None, partial(in_process_async, serving_runner, clients, calls))}
                    for name, (port, pid) in servers.items():
                        phases[name] = measured(pid, partial(post_load, port, clients, calls, body))
                    for name, figures in phases.items():
                        best = results.get((name, clients))
                        if best is None or figures[1] < best[1]:
                            results[(name, clients)] = figures
        finally:
            process.stop(workspace.state_dir, info.endpoint)
            if two is not None:
                process.stop(workspace.state_dir, two.endpoint)
            if pf_proc is not None:
                pf_proc.terminate()
                pf_proc.wait(timeout=30)
    report(results, many, total, args.single_calls)


PHASES = ("in process, sync", "in process, async", "serving line", "endpoint", "endpoint, 2 workers",
          "pf flow serve")


def report(results: dict[tuple[str, int], Measured], many: int, total: int, single: int) -> None:
    print(f"{'phase':<21}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>8}{'x async':>9}"
          f"{'x sync':>8}{'x serving':>10}{'x pf serve':>11}")
    for clients, count in ((1, single), (many, total)):
        rate = {name: count / results[(name, c)][1] for name, c in results if c == clients}
        for name in PHASES:
            latencies, _, cpu = results[(name, clients)]
            p50, p99 = percentiles(latencies)
            print(f"{name:<21}{clients:>8}{rate[name]:>9.0f}{p50:>9.2f}{p99:>9.2f}{cpu * 1000 / count:>8.2f}"
                  f"{rate[name] / rate['in process, async']:>9.2f}{rate[name] / rate['in process, sync']:>8.2f}"
                  f"{rate[name] / rate['serving line']:>10.2f}{rate[name] / rate['pf flow serve']:>11.2f}")
    for clients in (1, many):
        best = min(results[("in process, sync", clients)][1], results[("in process, async", clients)][1])
        pf, serving = results[("pf flow serve", clients)][1], results[("serving line", clients)][1]
        for name in ("endpoint", "endpoint, 2 workers"):
            wall = results[(name, clients)][1]
            p50, p99 = percentiles(results[(name, clients)][0])
            print(f"{clients} client(s), {name}: {best / wall:.2f}x the better in-process line rate (the experiment "
                  f"engine's), {serving / wall:.2f}x the serving line in process (the server's own cost), "
                  f"{pf / wall:.2f}x the throughput of pf flow serve; p50 {p50:.2f} ms, p99 {p99:.2f} ms")

if __name__ == "__main__":
    main()

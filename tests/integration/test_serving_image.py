"""`llmops image build` on the mini use case: the build context, its tag and commands, and the context run as the
endpoint server without Docker.

No Docker engine runs here; the tests put a `docker` of their own first on PATH so the outcome does not depend
on the machine: one whose `docker info` fails (no engine: the commands are printed) and one that answers and
records what it was asked to do (an engine: build and push run).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from llmops.backends import default_backend
from llmops.backends.content_hash import flow_files, flow_hash
from llmops.config.use_case import load_use_case
from llmops.config.workspace import Workspace
from llmops.errors import StepFailed
from llmops.serving.client import get_json, score
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.image import run_context
from llmops.serving.image.dockerfile import copied_sources, instructions, template_text
from llmops.serving.image.plan import image_digest, planned_digest
from llmops.serving.production_log import read_entries
from tests.support.cli import llmops
from tests.support.mini_use_case import edit_json, write_use_case
from tests.support.repo_copy import copy_use_case

pytestmark = pytest.mark.timeout(300)
PLANTED_KEY = "sk-planted-0123456789abcdef-in-dotenv"
PLANTED_ENV = "sk-planted-fedcba9876543210-in-environ"
ENDPOINT_KEY = "endpoint-key-planted-0123456789"


def fake_docker(folder: Path, engine: bool, az: bool = False) -> dict[str, str]:
    """A `docker` first on PATH: `info` fails without an engine; with one, every call is recorded and succeeds. With
    `az`, an Azure CLI beside it that records its calls (az acr login / az acr build) and succeeds; without, no `az`
    on PATH at all."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.txt"
    tools = {"docker": "exit 0\n" if engine else 'if [ "$1" = info ]; then exit 1; fi\nexit 0\n'}
    if az:
        tools["az"] = "exit 0\n"
    for name, rest in tools.items():
        script = folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $@" >> "{log}"\n' + rest, encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    others = [p for p in os.environ["PATH"].split(os.pathsep) if p and not (Path(p) / "az").exists()]
    return {"PATH": os.pathsep.join([str(folder), *others])}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_use_case(root)
    return root


def with_registry(root: Path, name: str = "myacr", group: str = "rg-images") -> None:
    def add(data: dict) -> None:
        data["webapp_endpoint"] = [{"ENV_NAME": "dev", "REGISTRY_NAME": name, "REGISTRY_RG_NAME": group}]

    edit_json(root / "use_cases/mini/configs/deployment_config.json", add)


def register(root: Path) -> dict:
    done = llmops(root, "register-model", "-u", "mini", "-e", "dev", "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def build(root: Path, *extra: str, engine: bool = False, tmp: Path | None = None) -> tuple[int, str, str]:
    env = fake_docker((tmp or root.parent) / ("engine" if engine else "no-engine"), engine)
    done = llmops(root, "image", "build", "-u", "mini", "-e", "dev", *extra, env=env)
    return done.code, done.out, done.err


def tag_of(context: Path, version: int = 1) -> str:
    """The tag `image build` gives the image of this context: the version and its content digest (plan.py)."""
    return f"{version}-{image_digest(context)[:12]}"


def build_json(root: Path, *extra: str) -> dict:
    code, out, err = build(root, *extra, "--json")
    assert code == 0, err
    return json.loads(out)


def file_hashes(folder: Path) -> dict[str, str]:
    return {rel.as_posix(): hashlib.sha256((folder / rel).read_bytes()).hexdigest() for rel in flow_files(folder)}


def test_context_holds_the_snapshot_and_no_secret(repo: Path, tmp_path: Path) -> None:
    (repo / ".env").write_text(f'aoai={{"api_key": "{PLANTED_KEY}", "api_type": "azure", "api_base": '
                               f'"https://x.openai.azure.com/", "api_version": "2024-02-01"}}\n'
                               f"ENDPOINT_KEY={PLANTED_KEY}\n", encoding="utf-8")
    model = register(repo)
    context = tmp_path / "context"
    env = {**fake_docker(tmp_path / "no-engine", False), "OPENAI_API_KEY": PLANTED_ENV,
           "LLMOPS_ENDPOINT_KEY": PLANTED_ENV}
    done = llmops(repo, "image", "build", "-u", "mini", "-e", "dev", "--context-dir", str(context), "--json", env=env)
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert (result["model_version"], result["context_dir"]) == (1, str(context.resolve()))
    snapshot = Path(model["snapshot"])
    assert file_hashes(context / "flow") == file_hashes(snapshot) and flow_hash(context / "flow") == model["sha256"]
    for path in context.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PLANTED_KEY.encode() not in data and PLANTED_ENV.encode() not in data, path
    assert not [p for p in context.rglob(".env*")]
    assert PLANTED_KEY not in done.out + done.err and PLANTED_ENV not in done.out + done.err
    entry = json.loads((context / "llmops-image.json").read_text())
    assert (entry["model_name"], entry["model_version"], entry["endpoint"], entry["deployment"], entry["variant"]) == (
        "mini_dev", 1, "mini", "green", {"classify": "variant_0"})
    requirements = (context / "requirements.txt").read_text().splitlines()[1:]
    assert requirements and all("==" in line for line in requirements)
    assert any(line.startswith("promptflow==") for line in requirements)


def test_dockerfile_reads_only_what_the_context_holds(repo: Path, tmp_path: Path) -> None:
    register(repo)
    result = build_json(repo, "--context-dir", str(tmp_path / "context"))
    context = Path(result["context_dir"])
    text = (context / "Dockerfile").read_text()
    assert text == template_text() and result["dockerfile"].startswith("llmops's")
    found = instructions(text)
    keywords = [i.keyword for i in found]
    assert keywords[:2] == ["ARG", "FROM"] and "USER" in keywords and keywords[-2:] == ["ENTRYPOINT", "CMD"]
    copied = [source for i in found if i.keyword in ("COPY", "ADD") for source in copied_sources(i)]
    assert all((context / source).exists() for source in copied), copied
    # and the other way: everything in the context but the Dockerfile itself goes into the image
    assert sorted(copied) == sorted(p.name for p in context.iterdir() if p.name != "Dockerfile")
    user = next(i for i in found if i.keyword == "USER")
    assert user.arguments not in ("root", "0") and found.index(user) > max(
        found.index(i) for i in found if i.keyword in ("COPY", "RUN"))
    assert json.loads(next(i for i in found if i.keyword == "ENTRYPOINT").arguments)[:3] == [
        "python", "-m", "llmops.serving.image"]
    assert "promptflow-runtime" not in text and "pf flow serve" not in text


def test_no_engine_prints_the_commands_and_exits_0(repo: Path, tmp_path: Path) -> None:
    with_registry(repo)
    register(repo)
    context = (tmp_path / "ctx").resolve()
    code, out, err = build(repo, "--context-dir", str(context))
    assert code == 0, err
    tag = tag_of(context)
    lines = out.splitlines()
    assert f"image: myacr.azurecr.io/mini:{tag}" in lines
    assert "no Docker engine found (docker info failed): the build context is written; build the image with:" in lines
    assert f"  docker build --tag myacr.azurecr.io/mini:{tag} --file {context}/Dockerfile {context}" in lines
    assert (f"  az acr build --registry myacr --resource-group rg-images --image mini:{tag} --file "
            f"{context}/Dockerfile {context}") in lines
    assert f"  docker push myacr.azurecr.io/mini:{tag}" in lines
    calls = (tmp_path / "no-engine" / "calls.txt").read_text().splitlines()
    assert calls == ["docker info"]  # asked whether an engine runs, then built and pushed nothing


def test_push_without_an_engine_or_the_azure_cli_fails_naming_the_commands(repo: Path, tmp_path: Path) -> None:
    with_registry(repo)
    register(repo)
    context = (tmp_path / "ctx").resolve()
    code, out, err = build(repo, "--context-dir", str(context), "--push")
    tag = tag_of(context)
    reference = f"myacr.azurecr.io/mini:{tag}"
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: --push: no Docker engine answers here (docker info failed) and the Azure CLI (az) is not installed "
        f"for `az acr build`, so {reference} was neither built nor pushed; its build context is written to "
        f"{context}: run az acr build --registry myacr --resource-group rg-images --image mini:{tag} --file "
        f"{context}/Dockerfile {context} (or, where Docker runs, docker build --tag {reference} --file "
        f"{context}/Dockerfile {context} && docker push {reference})"]
    assert (context / "llmops-image.json").is_file()


def test_push_without_an_engine_builds_in_azure_container_registry(repo: Path, tmp_path: Path) -> None:
    with_registry(repo)
    register(repo)
    context = (tmp_path / "ctx").resolve()
    done = llmops(repo, "image", "build", "-u", "mini", "-e", "dev", "--context-dir", str(context), "--push", "--json",
                  env=fake_docker(tmp_path / "az", engine=False, az=True))
    assert done.code == 0, done.err
    tag = tag_of(context)
    result = json.loads(done.out)
    assert (result["built"], result["pushed"], result["builder"]) == (True, True, "acr")
    acr_build = (f"az acr build --registry myacr --resource-group rg-images --image mini:{tag} --file "
                 f"{context}/Dockerfile {context}")
    assert (tmp_path / "az" / "calls.txt").read_text().splitlines() == ["docker info", acr_build]


def test_an_engine_builds_and_pushes(repo: Path, tmp_path: Path) -> None:
    with_registry(repo, "registry.example.com:5000")
    register(repo)
    context = (tmp_path / "ctx").resolve()
    code, out, err = build(repo, "--context-dir", str(context), "--push", engine=True)
    assert code == 0, err
    reference = f"registry.example.com:5000/mini:{tag_of(context)}"
    assert f"built {reference} and pushed it" in out.splitlines()
    calls = (tmp_path / "engine" / "calls.txt").read_text().splitlines()
    assert calls == ["docker info", f"docker build --tag {reference} --file {context}/Dockerfile {context}",
                     f"docker push {reference}"]
    assert "az acr build" not in out  # not an Azure Container Registry


def test_an_engine_logs_in_to_azure_container_registry_before_pushing(repo: Path, tmp_path: Path) -> None:
    """What a GitHub runner does: Docker is there, and azure/login left an Azure CLI login to get a docker login."""
    with_registry(repo)
    register(repo)
    context = (tmp_path / "ctx").resolve()
    done = llmops(repo, "image", "build", "-u", "mini", "-e", "dev", "--context-dir", str(context), "--push",
                  env=fake_docker(tmp_path / "runner", engine=True, az=True))
    assert done.code == 0, done.err
    reference = f"myacr.azurecr.io/mini:{tag_of(context)}"
    assert (tmp_path / "runner" / "calls.txt").read_text().splitlines() == [
        "docker info", f"docker build --tag {reference} --file {context}/Dockerfile {context}",
        "az acr login --name myacr", f"docker push {reference}"]


def test_a_changed_flow_gets_a_new_tag_and_the_old_version_keeps_its_own(repo: Path) -> None:
    register(repo)
    one = build_json(repo)
    assert one["tag"] == tag_of(Path(one["context_dir"])) and one["image"] == f"mini:{one['tag']}"
    classify = repo / "use_cases/mini/flows/standard/classify.py"
    classify.write_text(classify.read_text() + "\n# tuned\n")
    register(repo)
    two = build_json(repo)
    assert (two["model_version"], two["tag"]) == (2, tag_of(Path(two["context_dir"]), 2)) and two["tag"] != one["tag"]
    again = build_json(repo, "--model-version", "1")
    assert (again["tag"], again["context_digest"]) == (one["tag"], one["context_digest"])


def test_the_tag_addresses_the_image_content_replay_or_live_not_the_names_it_runs_under(repo: Path) -> None:
    """A replay image bakes the flow's recorded answers in: it is another image of the same version, so another tag.
    The endpoint and deployment names are run-time defaults: renaming the deployment keeps the tag. A deploy target
    names the image by the same digest (planned_digest), without the context `image build` wrote."""
    register(repo)
    cassettes = repo / "use_cases/mini/cassettes"
    cassettes.mkdir(parents=True, exist_ok=True)
    (cassettes / "standard.jsonl").write_text('{"recorded": "answer"}\n', encoding="utf-8")
    live, replay = build_json(repo, "--provider", "openai"), build_json(repo, "--provider", "replay")
    assert live["tag"].split("-")[0] == replay["tag"].split("-")[0] == "1" and live["tag"] != replay["tag"]
    assert live["context_dir"] != replay["context_dir"]  # each kept beside the other
    assert [p.name for p in (Path(replay["context_dir"]) / "cassettes").iterdir()] == ["standard.jsonl"]
    (cassettes / "standard.jsonl").write_text('{"recorded": "another answer"}\n', encoding="utf-8")
    assert build_json(repo, "--provider", "replay")["tag"] != replay["tag"]  # re-recorded answers: a new image
    edit_json(repo / "use_cases/mini/configs/deployment_config.json",
              lambda data: data["local_endpoint"][0].update(CURRENT_DEPLOYMENT_NAME="renamed"))
    renamed = build_json(repo, "--provider", "openai")
    assert (renamed["deployment"], renamed["tag"]) == ("renamed", live["tag"])

    workspace = Workspace.find(repo)
    use_case = load_use_case(workspace, "mini")
    model = default_backend(workspace).registry.models.get("mini_dev", 1)
    assert f"1-{planned_digest(workspace, use_case, 'dev', model, 'openai')[:12]}" == live["tag"]


def test_the_same_model_version_gives_the_same_context(repo: Path, tmp_path: Path) -> None:
    register(repo)
    a = build_json(repo, "--context-dir", str(tmp_path / "a"))
    b = build_json(repo, "--context-dir", str(tmp_path / "b"))
    assert file_hashes(tmp_path / "a") == file_hashes(tmp_path / "b")
    assert a["context_digest"] == b["context_digest"] and a["tag"] == b["tag"]
    c = build_json(repo, "--context-dir", str(tmp_path / "a"))  # over an earlier context: replaced, same files
    assert c["context_digest"] == a["context_digest"]


def test_the_context_runs_as_the_endpoint_server(repo: Path, tmp_path: Path) -> None:
    register(repo)
    context = Path(build_json(repo, "--context-dir", str(tmp_path / "ctx"))["context_dir"])
    # The local endpoint's settings, read the same way: a deployment's ENVIRONMENT_VARIABLES, as in Azure.
    settings = {"LLMOPS_PRODUCTION_LOG_DIR": str(tmp_path / "mounted"), "LLMOPS_ENDPOINT_MAX_BODY_BYTES": "300"}
    with run_context(context, deployment="blue", state_dir=tmp_path / "state", key=ENDPOINT_KEY,
                     env_vars=settings) as running:
        assert running.url.startswith("http://127.0.0.1:")
        assert get_json(running.health_url) == (200, {"status": "healthy", "ready": True})  # a probe has no key
        assert get_json(running.readiness_url) == (200, {"status": "ready"})
        status, health = get_json(running.health_url, key=EndpointKey("K", ENDPOINT_KEY))
        assert status == 200 and health["deployments"]["blue"]["model_version"] == 1
        assert health["deployments"]["blue"]["traffic"] == 100
        refused = score(running.scoring_url, {"url": "https://apps.example.com/z"})
        assert refused.status == 401 and "LLMOPS_ENDPOINT_KEY" in refused.error_message
        reply = score(running.scoring_url, {"url": "https://apps.example.com/z"}, key=EndpointKey("K", ENDPOINT_KEY))
        assert (reply.status, reply.body, reply.deployment) == (200, {"category": "App"}, "blue")
        bad = score(running.scoring_url, {"link": "x"}, key=EndpointKey("K", ENDPOINT_KEY))
        assert bad.status == 400
        large = score(running.scoring_url, {"url": "x" * 400}, key=EndpointKey("K", ENDPOINT_KEY))
        assert large.status == 413 and large.error_message.endswith("raise LLMOPS_ENDPOINT_MAX_BODY_BYTES")
    assert running.stopped
    assert running.production_log.parent.parent == tmp_path / "mounted" / "mini"  # <dir>/<endpoint>/<host name>/
    entries = list(read_entries(running.production_log))
    # a caller without the key leaves no trace (app.py); the others are logged as the local endpoint logs them
    assert [(e["endpoint"], e["deployment"], e["status"]) for e in entries] == [
        ("mini", "blue", 200), ("mini", "blue", 400), ("mini", None, 413)]
    assert ENDPOINT_KEY not in running.log_file.read_text()


def test_a_flow_that_cannot_load_stops_the_server_with_the_reason(repo: Path, tmp_path: Path) -> None:
    """Nothing can replace an image's one deployment: it must not stay up answering 500s (nor hang unready)."""
    register(repo)
    context = Path(build_json(repo, "--context-dir", str(tmp_path / "ctx"))["context_dir"])
    (context / "flow/classify.py").write_text("import surely_not_a_module_here\n")
    entry = json.loads((context / "llmops-image.json").read_text())
    entry["sha256"] = flow_hash(context / "flow")  # as if built so: the snapshot check passes, the load fails
    (context / "llmops-image.json").write_text(json.dumps(entry))
    with pytest.raises(StepFailed) as stopped:
        run_context(context, state_dir=tmp_path / "state", timeout=120)
    assert "exited with code 1 while starting" in str(stopped.value)
    assert "error: endpoint mini could not load its deployments: deployment 'green' (model mini_dev version 1) " \
           "could not be loaded" in str(stopped.value) and "surely_not_a_module_here" in str(stopped.value)


def test_a_public_bind_without_a_key_is_refused(repo: Path, tmp_path: Path) -> None:
    register(repo)
    context = Path(build_json(repo, "--context-dir", str(tmp_path / "ctx"))["context_dir"])
    env = {k: v for k, v in os.environ.items() if k != "LLMOPS_ENDPOINT_KEY"}
    env["PYTHONPATH"] = str(context)
    done = subprocess.run([sys.executable, "-m", "llmops.serving.image", "--context", str(context), "--host",
                           "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path / "state")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0 without a key: anyone who reaches it could call the flow; set " \
           "LLMOPS_ENDPOINT_KEY to a key" in done.stderr  # the local endpoint server's rule and words


@pytest.mark.parametrize(("prepare", "args", "message"), [
    (None, (), "use case 'mini' has no model registered for env 'dev' (model 'mini_dev'); register one first: "
               "llmops register-model --use-case mini --env dev"),
    ("register", ("--model-version", "7"), "model 'mini_dev' has no version 7; versions: 1"),
    ("register", ("--push",), "--push needs a registry: set REGISTRY_NAME of the webapp_endpoint block for env 'dev'"),
    ("env", (), "unknown env of use case 'mini' 'prod'"),
    ("use_case", (), "unknown use case 'nope'"),
])
def test_errors_exit_1_with_what_to_do(repo: Path, prepare: str | None, args: tuple[str, ...], message: str) -> None:
    if prepare == "register":
        register(repo)
    use_case, env = ("nope" if prepare == "use_case" else "mini"), ("prod" if prepare == "env" else "dev")
    done = llmops(repo, "image", "build", "-u", use_case, "-e", env, *args, env=fake_docker(repo.parent / "d", False))
    assert done.code == 1, done.out
    assert message in done.err and "Traceback" not in done.err


@pytest.mark.parametrize(("dockerfile", "message"), [
    ("FROM mcr.microsoft.com/azureml/promptflow/promptflow-runtime:latest\nCOPY ./flow /flow\n"
     'CMD ["bash", "start.sh"]\n',
     "use_cases/mini/environment/Dockerfile does not start the llmops endpoint server "
     "(python -m llmops.serving.image)"),
    ('FROM python:3.11-slim\nCOPY flows/standard /flow\nENTRYPOINT ["python", "-m", "llmops.serving.image"]\n',
     "use_cases/mini/environment/Dockerfile line 2: COPY flows/standard: the build context has no 'flows/standard'"),
])
def test_a_use_case_dockerfile_that_cannot_build_this_image_is_refused(repo: Path, dockerfile: str,
                                                                       message: str) -> None:
    register(repo)
    own = repo / "use_cases/mini/environment/Dockerfile"
    own.parent.mkdir()
    own.write_text(dockerfile)
    code, _, err = build(repo)
    assert code == 1 and message in err


def test_a_use_case_dockerfile_that_extends_llmops_is_used(repo: Path, tmp_path: Path) -> None:
    register(repo)
    own = repo / "use_cases/mini/environment/Dockerfile"
    own.parent.mkdir()
    text = template_text().replace("USER llmops\n", "RUN apt-get update && apt-get install -y --no-install-recommends "
                                                    "libmagic1\nUSER llmops\n")
    own.write_text(text)
    result = build_json(repo, "--context-dir", str(tmp_path / "ctx"))
    assert result["dockerfile"] == "use_cases/mini/environment/Dockerfile"
    assert (Path(result["context_dir"]) / "Dockerfile").read_text() == text


@pytest.mark.parametrize(("line", "message"), [
    ("surely-not-installed-pkg==1.0", "'surely-not-installed-pkg==1.0' is neither installed here nor pinned"),
    ("promptflow==0.0.1", "'promptflow==0.0.1' conflicts with promptflow=="),
])
def test_flow_requirements_outside_the_pins_are_refused(repo: Path, line: str, message: str) -> None:
    (repo / "use_cases/mini/flows/standard/requirements.txt").write_text(line + "\n")
    register(repo)
    code, _, err = build(repo)
    assert code == 1 and "model mini_dev version 1: requirements.txt:" in err and message in err


def test_a_snapshot_holding_a_dotenv_is_refused(repo: Path) -> None:
    (repo / "use_cases/mini/flows/standard/.env").write_text(f"KEY={PLANTED_KEY}\n")
    register(repo)
    code, out, err = build(repo)
    assert code == 1 and "its snapshot holds .env, which would put keys into the image" in err
    assert PLANTED_KEY not in out + err


def test_a_replaying_image_of_a_shipped_use_case_answers_with_its_cassettes(tmp_path: Path) -> None:
    """What the Azure ML emulator's deployments do: no key anywhere, the recorded answers in the image."""
    root = tmp_path / "repo"
    folder = copy_use_case(root, "web_classification")
    assert llmops(root, "register-model", "-u", "web_classification", "-e", "dev").code == 0
    done = llmops(root, "image", "build", "-u", "web_classification", "-e", "dev", "--provider", "replay",
                  "--context-dir", str(tmp_path / "ctx"), "--json", env=fake_docker(tmp_path / "d", False))
    assert done.code == 0, done.err
    context = Path(json.loads(done.out)["context_dir"])
    assert [p.name for p in (context / "cassettes").iterdir()] == ["experiment.jsonl"]
    inputs = json.loads((folder / "sample-request.json").read_text())
    environ = {k: v for k, v in os.environ.items() if k not in ("aoai", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")}
    with run_context(context, environ=environ, env_vars={"LLMOPS_OFFLINE": "1"}, state_dir=tmp_path / "s") as running:
        reply = score(running.scoring_url, inputs)
    assert reply.status == 200 and reply.deployment == "blue" and set(reply.body) == {"category", "evidence"}
    assert "HTTP Request:" not in running.log_file.read_text()  # no line per LLM call in the container's log
    # A live provider without the connection in the environment: refused at start, naming the variable to set.
    with pytest.raises(StepFailed) as refused:
        run_context(context, provider="auto", environ=environ, state_dir=tmp_path / "s2", timeout=120)
    assert "connection 'aoai' has no key in the server's environment, and an image carries no embedded model; " \
           'set the variable aoai={"api_key": "<key>"' in str(refused.value)


def test_image_dockerfile_prints_llmops_dockerfile_and_build_needs_a_use_case(repo: Path) -> None:
    printed = llmops(repo, "image", "dockerfile")
    assert printed.code == 0 and printed.out == template_text()
    done = llmops(repo, "image", "build")
    assert done.code == 2 and "image build needs --use-case NAME and --env ENV" in done.err

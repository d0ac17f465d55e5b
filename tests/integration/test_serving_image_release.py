"""The image's server serves what the deployment's environment says: LLMOPS_VARIANT picks the variant, LLMOPS_MODEL
must name the image's own model version (the variables every cloud target sets, backends/targets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.errors import StepFailed
from llmops.serving.client import get_json, score
from llmops.serving.endpoint_key import EndpointKey
from llmops.serving.image import run_context
from tests.integration.test_serving_image import build_json, register, repo  # noqa: F401 (repo is a fixture)

pytestmark = pytest.mark.timeout(300)
KEY = EndpointKey("K", "endpoint-key-release-0123456789")


@pytest.fixture()
def context(repo: Path, tmp_path: Path) -> Path:  # noqa: F811 (the fixture imported above)
    register(repo)
    return Path(build_json(repo, "--context-dir", str(tmp_path / "ctx"))["context_dir"])


def test_the_deployment_variant_and_model_are_served(context: Path, tmp_path: Path) -> None:
    release = {"LLMOPS_MODEL": "mini_dev:1", "LLMOPS_VARIANT": '{"classify":"variant_1"}'}
    with run_context(context, deployment="blue", state_dir=tmp_path / "state", key=KEY.value,
                     env_vars=release) as running:
        status, health = get_json(running.health_url, key=KEY)
        reply = score(running.scoring_url, {"url": "https://apps.example.com/z"}, key=KEY)
    assert status == 200 and health["deployments"]["blue"]["variant"] == "classify.variant_1"
    assert (reply.status, reply.body) == (200, {"category": "APP"})  # variant_1 answers in upper case
    assert "variant classify.variant_1, from LLMOPS_VARIANT" in running.log_file.read_text()


def test_without_the_variables_the_image_serves_its_registered_variant(context: Path, tmp_path: Path) -> None:
    with run_context(context, state_dir=tmp_path / "state", key=KEY.value, env_vars={}) as running:
        reply = score(running.scoring_url, {"url": "https://apps.example.com/z"}, key=KEY)
    assert (reply.status, reply.body) == (200, {"category": "App"})


@pytest.mark.parametrize(("variables", "message"), [
    ({"LLMOPS_MODEL": "mini_dev:2"}, "error: LLMOPS_MODEL asks for model mini_dev version 2, but this image holds "
                                     "model mini_dev version 1; deploy the image of version 2 (llmops image build "
                                     "--use-case mini --env dev --model-version 2 --push)"),
    ({"LLMOPS_MODEL": "mini_dev"}, "error: LLMOPS_MODEL='mini_dev' is not <model name>:<version> (for example "
                                   "mini_dev:1); fix the deployment's environment"),
    ({"LLMOPS_VARIANT": '{"classify":"variant_9"}'}, "error: LLMOPS_VARIANT names classify.variant_9, which flow "
                                                     "standard in this image does not have (valid: classify.variant_0, "
                                                     "classify.variant_1)"),
    ({"LLMOPS_VARIANT": "variant_1"}, "error: LLMOPS_VARIANT='variant_1' is not a JSON object of node -> variant id "
                                      "(for example {\"classify\": \"variant_0\"}); fix the deployment's environment"),
])
def test_a_release_the_image_cannot_serve_stops_it_at_start(context: Path, tmp_path: Path,
                                                            variables: dict[str, str], message: str) -> None:
    with pytest.raises(StepFailed) as stopped:
        run_context(context, state_dir=tmp_path / "state", env_vars=variables, timeout=120)
    assert message in str(stopped.value)

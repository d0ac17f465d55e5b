from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from llmops.cli.common import add_json, out, out_json, workspace
from llmops.cli.targets import add_target

if TYPE_CHECKING:  # types only: `llmops --help` must not load the steps
    from llmops.steps.image import ImageBuildResult

NAME = "image"
HELP = ("the serving image of a registered model version: build writes its build context and builds it where a "
        "Docker engine runs (else prints the docker build / az acr build commands); dockerfile prints llmops's "
        "Dockerfile")
EXAMPLE = "llmops image build --use-case web_classification --env dev"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["build", "dockerfile"])
    parser.add_argument("--use-case", "-u", metavar="NAME", help="build: use case folder name under use_cases/")
    parser.add_argument("--env", "-e", metavar="ENV", help="build: environment name from llmops_config.json")
    parser.add_argument("--model-version", type=int, metavar="N",
                        help="build: this version of <use_case>_<env> (default: the latest registered)")
    parser.add_argument("--push", action="store_true",
                        help="build: push the image once built (docker push; to an Azure Container Registry after az "
                             "acr login); without a Docker engine, az acr build builds and pushes it in the registry, "
                             "and without that either the command fails, naming the commands to run")
    parser.add_argument("--context-dir", metavar="DIR",
                        help="build: write the build context here (default: .llmops/images/<use case>/<tag>)")
    parser.add_argument("--registry", metavar="NAME",
                        help="build: registry to name the image under (default: for an Azure ML target, the "
                             "workspace's own container registry; else REGISTRY_NAME of the env's webapp_endpoint "
                             "block); an Azure Container Registry's short name is enough")
    add_target(parser)  # build: the target the image is for, which decides the default registry
    parser.add_argument("--provider", metavar="NAME",
                        help="build: LLM provider the image runs with (default: the env's PROVIDER; replay puts the "
                             "flow's recorded answers in the image)")
    add_json(parser)


def _show(result: ImageBuildResult) -> None:
    data = result.to_dict()
    out(f"model {data['model']} version {data['model_version']} (sha256 {data['sha256'][:12]}), variant "
        f"{data['variant_label']}, served as {data['endpoint']}/{data['deployment']}")
    out(f"image: {data['image']}")
    out(f"build context: {data['context_dir']} ({data['context_files']} files, digest {data['context_digest'][:12]})")
    out(f"Dockerfile: {data['dockerfile']}")
    for note in data["notes"]:
        out(f"note: {note}")
    commands = data["commands"]
    if data["builder"] == "acr":
        out(f"built and pushed {data['image']} in Azure Container Registry (no Docker engine here): "
            f"{commands['acr_build']}")
    elif data["built"]:
        pushed = " and pushed it" if data["pushed"] else (f"; push it with: {commands['push']}" if "push" in commands
                                                          else "")
        out(f"built {data['image']}{pushed}")
    else:
        out("no Docker engine found (docker info failed): the build context is written; build the image with:")
        out(f"  {commands['build']}")
        if "acr_build" in commands:
            out("or in Azure Container Registry (no local engine needed; it pushes too):")
            out(f"  {commands['acr_build']}")
        if data["registry"]:
            out("then push it with:")
            out(f"  {commands['push']}")
    context = data["context_dir"]
    out(f"run it without Docker: PYTHONPATH={context} python -m llmops.serving.image --context {context} --port 8080")


def run(args: argparse.Namespace) -> int:
    from llmops.errors import UsageError

    if args.action == "dockerfile":
        from llmops.serving.image.dockerfile import template_text

        out(template_text().rstrip("\n"))
        return 0
    if not args.use_case or not args.env:
        raise UsageError("image build needs --use-case NAME and --env ENV")
    from pathlib import Path

    from llmops.cli.common import env_backend
    from llmops.config.use_case import load_use_case
    from llmops.steps.image import build_image

    ws = workspace(args)
    uc = load_use_case(ws, args.use_case)
    result = build_image(ws, uc, args.env, model_version=args.model_version, push=args.push,
                         context_dir=Path(args.context_dir) if args.context_dir else None, registry=args.registry,
                         provider=args.provider, backend=env_backend(args, ws, uc), target=args.target)
    if args.json:
        out_json(result.to_dict())
    else:
        _show(result)
    return 0

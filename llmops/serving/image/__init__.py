"""The serving image: one image per registered model version, the llmops endpoint server and the flow snapshot.

One Dockerfile for every use case, kept here (`Dockerfile` beside this module, package data): a python:3.11-slim
base, a non-root user, the packages pinned from constraints.txt and the flow's requirements.txt, llmops' own
source and the model version's snapshot; no prompt flow runtime or serving image. It is not copied into the use
cases, so a fix to it reaches every use case with the llmops upgrade. A use case that needs more (say, a system
library) adds its own `environment/Dockerfile`, used instead once checked (dockerfile.py): it must start
`python -m llmops.serving.image` and copy only what the context holds; the original template's prompt flow
Dockerfile is refused with what to do.

    entry.py         llmops-image.json: what the image serves (model version, variant, names); no secrets
    requirements.py  requirements.txt: every package pinned
    dockerfile.py    which Dockerfile, and a check of what its instructions read from the context
    context.py       the build context, written reproducibly
    docker.py        the docker / az acr commands, whether an engine answers (the name: backends/serving_image.py)
    fixed_records.py where the image's server takes its deployment from: the snapshot in flow/, at 100%
    server.py        the server the ENTRYPOINT starts (python -m llmops.serving.image --context /app): the local
                     endpoint's server (serving/server_assembly.py) on those fixed records
    run.py           run_context(): that server from a context folder, as a local process (no Docker)

`llmops image build` (llmops/steps/image.py) puts them together.
"""

from llmops.serving.image.run import RunningContext, run_context

__all__ = ["RunningContext", "run_context"]

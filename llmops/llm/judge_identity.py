"""Who a judge is, for a report to pin: the model that answers it, the provider that serves that model, and the
hash of its prompt. Two reports whose judges differ in any of them do not measure with the same ruler."""

from __future__ import annotations

from dataclasses import dataclass

from llmops.config.flow_base import Flow
from llmops.config.judge_flow import judge_calls, prompt_sha256
from llmops.llm.session import LlmSession


@dataclass(frozen=True)
class JudgeIdentity:
    flow: str
    model: str  # several, comma-separated, when the judge's nodes ask different models
    provider: str  # the provider profile: embedded, azure_openai, openai, openai_compatible, replay...
    prompt_sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"flow": self.flow, "model": self.model, "provider": self.provider,
                "prompt_sha256": self.prompt_sha256}


def judge_identity(flow: Flow, session: LlmSession) -> JudgeIdentity:
    models: list[str] = []
    providers: list[str] = []
    for call in judge_calls(flow):
        choice = session.choices.get(call.connection)
        profile = choice.profile if choice is not None else "unknown"
        connection = session.settings.connections.get(call.connection)
        if profile == "embedded":
            model = session.settings.embedded_model  # the embedded model answers whatever model a node names
        else:
            # A connection's own model replaces the one the node asks for (the gateway sends it upstream).
            model = (connection.model if connection is not None and connection.model else "") or call.model
        models.append(model or "(the connection's default)")
        providers.append(profile)
    return JudgeIdentity(flow=flow.name, model=", ".join(dict.fromkeys(models)),
                         provider=", ".join(dict.fromkeys(providers)), prompt_sha256=prompt_sha256(flow))

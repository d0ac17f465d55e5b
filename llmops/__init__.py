"""llmops: a GitOps LLMOps pipeline for prompt flow use cases."""

__version__ = "0.1.0"

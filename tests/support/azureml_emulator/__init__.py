"""A loopback Azure ML workspace that the real `azure-ai-ml` client talks to (see emulator.py)."""

from .credential import FakeCredential
from .emulator import AzureMLEmulator

__all__ = ["AzureMLEmulator", "FakeCredential"]

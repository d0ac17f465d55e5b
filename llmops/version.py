"""The package's version and folder, for modules that need them without importing the package's API
(`import llmops` would make every importer depend, for import-linter, on what llmops/__init__.py exports)."""

from pathlib import Path

__version__ = "0.1.0"
PACKAGE_DIR = Path(__file__).resolve().parent  # the llmops/ folder of this installation

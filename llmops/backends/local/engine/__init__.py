"""The local engine: a step's lines run in this process with prompt flow's executor (executor.py is its face)."""

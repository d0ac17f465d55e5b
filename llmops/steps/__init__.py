"""Lifecycle steps: one module each, a typed function returning a result object. Steps never parse argv,
read the environment for settings, print or exit; the CLI does that once."""

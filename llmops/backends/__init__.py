"""Backends: `local` (this machine, SQLite registry) and `azureml`, behind one small interface."""

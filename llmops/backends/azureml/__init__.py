"""The Azure ML backend. So far: reaching an env's workspace.

settings.py (what the env names, read once at the CLI edge), cloud.py (which cloud), credential.py
(DefaultAzureCredential), workspace.py (the env's MLClient), retry.py (how transient failures are
retried), errors.py (Azure failures as one line with the fix), and the reads `llmops azure check` makes:
roles.py, quota.py, key_vault.py over http.py. Modules import azure-ai-ml lazily where they can: it takes
seconds to import.
"""

"""The Azure ML backend: backend.py (AzureBackend, what `open_backend` returns for an azureml env).

Reaching an env's workspace: settings.py (what the env names, read once at the CLI edge), cloud.py (which
cloud), credential.py (DefaultAzureCredential), workspace.py (the env's MLClient), retry.py (how transient
failures are retried), errors.py (Azure failures as one line with the fix), access.py (the settings, login
and client the registries share). The registry: data_assets.py and model_assets.py (versions in the
workspace, tagged by asset_tags.py), their bytes content-addressed on the default datastore (datastore.py),
model snapshots cached on this machine (snapshot_cache.py). The executor: executor.py (a step's lines as one
Azure ML job), jobs/ (naming, bundling, submitting, tracking and merging that job), node/ (what runs on the
job's nodes: the entry script, the llmops engine and gateway, connections from Key Vault). The reads
`llmops azure check` makes: roles.py, quota.py, key_vault.py over http.py. Modules import azure-ai-ml lazily
where they can: it takes seconds to import.
"""

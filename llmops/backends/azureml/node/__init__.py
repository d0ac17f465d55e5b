"""What runs on an Azure ML node: the entry script of a step's parallel job (entry.py), the manifest it reads
(manifest.py) and the connections it builds from Key Vault (vault_connections.py). A node imports only what
a line needs: the llmops engine, the LLM session and gateway; never azure-ai-ml.
"""

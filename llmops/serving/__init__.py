"""The local endpoint: a loopback server with deployments, A/B traffic, mirroring and a production log."""

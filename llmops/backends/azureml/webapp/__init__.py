"""The web app target: App Service for containers with a staging slot (host.py says what the deploy step calls)."""

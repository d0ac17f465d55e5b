"""Placeholder."""


def register(router, context):  # type: ignore[no-untyped-def]
    pass

"""Typed models of every config file, loading and validation."""

"""Thin command line: parse args, load config, call a step, render the result, map errors to exit codes."""

"""CLI commands for this area (see cli/__init__.py)."""

commands: list = []

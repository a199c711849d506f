"""The command line: one Typer app per room, mounted by main.py."""

"""The CLI's only way to print: rich consoles for results and for one-line errors."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    """Print one readable line on stderr and exit non-zero."""
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    sys.exit(code)


def say(message: str) -> None:
    console.print(message, soft_wrap=True)


def plain(text: str) -> None:
    """Unstyled output for machines (JSON): no markup, no wrapping."""
    print(text)

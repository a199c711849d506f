"""What every command shares: settings from options and environment, the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datafactory.cli.output import fail
from datafactory.core.config import Settings
from datafactory.runtime import Runtime


def load_settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        fail(f"invalid setting {where}: {first.get('msg')}")
        raise  # unreachable: fail() exits


def open_runtime(data_dir: Path | None = None, **overrides: Any) -> Runtime:
    return Runtime(load_settings(data_dir=data_dir, **overrides))

"""The ``datafactory`` command: mounts each room's Typer app, turns errors into one line."""

from __future__ import annotations

import os
import sys

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from datafactory.cli import (
    audit,
    catalogue,
    db,
    docs,
    harvest,
    people,
    permits,
    platform,
    spe,
    ttp,
)
from datafactory.cli.output import fail
from datafactory.core.errors import DatafactoryError

app = typer.Typer(
    name="datafactory",
    help="Luxembourg's platform for sharing public-sector data safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
platform.register(app)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(people.app, name="people")
app.add_typer(docs.app, name="docs")
app.add_typer(catalogue.app, name="catalogue")
app.add_typer(harvest.app, name="harvest")
app.add_typer(permits.app, name="permits")
app.add_typer(ttp.app, name="ttp")
app.add_typer(spe.app, name="spe")


def main() -> None:
    try:
        app()
    except DatafactoryError as exc:
        fail(exc.detail)
    except OperationalError as exc:
        fail(f"cannot reach the database ({type(exc.orig).__name__})")
    except SQLAlchemyError as exc:
        fail(f"database error ({type(exc).__name__})")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # A bug of ours: one line for the user; the trace only when asked for.
        if os.environ.get("DATAFACTORY_DEBUG"):
            raise
        fail(
            f"internal error ({type(exc).__name__}); run again with "
            "DATAFACTORY_DEBUG=1 to see where"
        )


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    main()

"""Alembic migrations for every room, applied on start and by ``datafactory db upgrade``.

This package sits beside ``web`` and ``cli`` at the top of the house, because it has to know
the tables of every room.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

HERE = Path(__file__).parent


def metadata() -> MetaData:
    """Every room's tables, for autogenerate and for checks that models match migrations."""
    from datafactory.catalogue import models as catalogue  # noqa: F401
    from datafactory.catalogue import sources  # noqa: F401
    from datafactory.catalogue.harvest import models as harvest  # noqa: F401
    from datafactory.catalogue.products import models as products  # noqa: F401
    from datafactory.catalogue.quality import models as quality  # noqa: F401
    from datafactory.catalogue.search import store  # noqa: F401
    from datafactory.core import jobs, ledger  # noqa: F401  (tables register on import)
    from datafactory.core.db import Base
    from datafactory.identity import models  # noqa: F401
    from datafactory.permits import models as permits  # noqa: F401
    from datafactory.spe import models as spe  # noqa: F401
    from datafactory.spe.airlock import models as airlock  # noqa: F401
    from datafactory.spe.jobs import models as spe_jobs  # noqa: F401
    from datafactory.spe.queries import models as spe_queries  # noqa: F401
    from datafactory.ttp import linkage_models  # noqa: F401
    from datafactory.ttp import models as ttp  # noqa: F401

    return Base.metadata


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if engine is not None:
        # configparser treats % as interpolation, and URLs may carry %-escapes.
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()

"""spe: sandboxed jobs and workspace outputs

Revision ID: 0010_spe_jobs
Revises: 0009_spe_workspaces

Outputs and job logs are encrypted with the workspace key: the rows hold only sizes,
hashes, the code that produced an output and where its ciphertext is stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0010_spe_jobs"
down_revision: str | None = "0009_spe_workspaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spe_workspace_outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["people.id"],
            name=op.f("fk_spe_workspace_outputs_created_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["spe_workspaces.id"],
            name=op.f("fk_spe_workspace_outputs_workspace_id_spe_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_workspace_outputs")),
    )
    with op.batch_alter_table("spe_workspace_outputs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spe_workspace_outputs_origin"), ["origin"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spe_workspace_outputs_workspace_id"),
            ["workspace_id"],
            unique=False,
        )

    op.create_table(
        "spe_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("script_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("stdout", sa.LargeBinary(), nullable=True),
        sa.Column("stderr", sa.LargeBinary(), nullable=True),
        sa.Column("stdout_truncated", sa.Boolean(), nullable=False),
        sa.Column("stderr_truncated", sa.Boolean(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("background_job_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_spe_jobs_author_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["spe_workspaces.id"],
            name=op.f("fk_spe_jobs_workspace_id_spe_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_jobs")),
    )
    with op.batch_alter_table("spe_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spe_jobs_background_job_id"),
            ["background_job_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_spe_jobs_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spe_jobs_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spe_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spe_jobs_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_spe_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_spe_jobs_background_job_id"))
    op.drop_table("spe_jobs")
    with op.batch_alter_table("spe_workspace_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spe_workspace_outputs_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_spe_workspace_outputs_origin"))
    op.drop_table("spe_workspace_outputs")

"""spe: release requests, reviews and the public code archive

Revision ID: 0011_spe_airlock
Revises: 0010_spe_jobs

No table holds an output's content: release files point at workspace outputs, which stay
encrypted with the workspace key. The archive holds the code behind released outputs, in
clear, because it is public.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0011_spe_airlock"
down_revision: str | None = "0010_spe_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_{column}"), [column], unique=False
            )


def upgrade() -> None:
    op.create_table(
        "spe_release_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("returned_at", UTC, nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("withdrawn_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["people.id"],
            name=op.f("fk_spe_release_requests_author_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["spe_workspaces.id"],
            name=op.f("fk_spe_release_requests_workspace_id_spe_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_release_requests")),
    )
    _indexes("spe_release_requests", "author_id", "status", "workspace_id")

    op.create_table(
        "spe_release_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("underlying_output_id", sa.Integer(), nullable=True),
        sa.Column("exception", sa.Text(), nullable=True),
        sa.Column("check_status", sa.String(length=8), nullable=True),
        sa.Column("check_report", sa.JSON(), nullable=True),
        sa.Column("checked_at", UTC, nullable=True),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["output_id"],
            ["spe_workspace_outputs.id"],
            name=op.f("fk_spe_release_files_output_id_spe_workspace_outputs"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["spe_release_requests.id"],
            name=op.f("fk_spe_release_files_request_id_spe_release_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["underlying_output_id"],
            ["spe_workspace_outputs.id"],
            name=op.f(
                "fk_spe_release_files_underlying_output_id_spe_workspace_outputs"
            ),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_release_files")),
        sa.UniqueConstraint(
            "request_id", "output_id", name=op.f("uq_spe_release_files_request_id")
        ),
    )
    _indexes("spe_release_files", "output_id", "request_id")

    op.create_table(
        "spe_release_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("checker_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("file_notes", sa.JSON(), nullable=True),
        sa.Column("decided_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["people.id"],
            name=op.f("fk_spe_release_reviews_checker_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["spe_release_requests.id"],
            name=op.f("fk_spe_release_reviews_request_id_spe_release_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_release_reviews")),
        sa.UniqueConstraint(
            "request_id",
            "round",
            "checker_id",
            name=op.f("uq_spe_release_reviews_request_id"),
        ),
    )
    _indexes("spe_release_reviews", "checker_id", "request_id")

    op.create_table(
        "spe_archived_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("archived_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["permit_id"],
            ["permits.id"],
            name=op.f("fk_spe_archived_code_permit_id_permits"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["spe_release_requests.id"],
            name=op.f("fk_spe_archived_code_request_id_spe_release_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["spe_workspaces.id"],
            name=op.f("fk_spe_archived_code_workspace_id_spe_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_archived_code")),
        sa.UniqueConstraint(
            "permit_id", "sha256", name=op.f("uq_spe_archived_code_permit_id")
        ),
    )
    _indexes("spe_archived_code", "permit_id", "request_id", "workspace_id")

    op.create_table(
        "spe_permit_results",
        sa.Column("permit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["permit_id"],
            ["permits.id"],
            name=op.f("fk_spe_permit_results_permit_id_permits"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["data_products.id"],
            name=op.f("fk_spe_permit_results_product_id_data_products"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["spe_release_requests.id"],
            name=op.f("fk_spe_permit_results_request_id_spe_release_requests"),
        ),
        sa.PrimaryKeyConstraint("permit_id", name=op.f("pk_spe_permit_results")),
        sa.UniqueConstraint(
            "product_id", name=op.f("uq_spe_permit_results_product_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("spe_permit_results")
    for table, columns in (
        ("spe_archived_code", ("workspace_id", "request_id", "permit_id")),
        ("spe_release_reviews", ("request_id", "checker_id")),
        ("spe_release_files", ("request_id", "output_id")),
        ("spe_release_requests", ("workspace_id", "status", "author_id")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)

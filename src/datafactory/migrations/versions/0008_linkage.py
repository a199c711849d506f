"""linkage: runs of the identifier matcher, the person index, the clerical review queue

Revision ID: 0008_linkage
Revises: 0007_ttp

No table holds a name, a birth date or an address: a linked record is its source label
and the holder's row key, and a review pair keeps agreement levels and masked hints only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0008_linkage"
down_revision: str | None = "0007_ttp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "linkage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("link_type", sa.String(length=16), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("match_threshold", sa.Float(), nullable=False),
        sa.Column("review_threshold", sa.Float(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("linked_pairs", sa.Integer(), nullable=False),
        sa.Column("review_pairs", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pseudonym_domains.id"],
            name=op.f("fk_linkage_runs_domain_id_pseudonym_domains"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_runs")),
    )
    with op.batch_alter_table("linkage_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linkage_runs_domain_id"), ["domain_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_linkage_runs_status"), ["status"], unique=False
        )

    op.create_table(
        "linked_persons",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("merged_into", BIG_ID, nullable=True),
        sa.Column("merged_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["linked_persons.id"],
            name=op.f("fk_linked_persons_merged_into_linked_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["linkage_runs.id"],
            name=op.f("fk_linked_persons_run_id_linkage_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_persons")),
    )
    with op.batch_alter_table("linked_persons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linked_persons_run_id"), ["run_id"], unique=False
        )

    op.create_table(
        "linked_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("person_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["linked_persons.id"],
            name=op.f("fk_linked_records_person_id_linked_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["linkage_runs.id"],
            name=op.f("fk_linked_records_run_id_linkage_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_records")),
        sa.UniqueConstraint(
            "run_id", "source", "record_key", name=op.f("uq_linked_records_run_id")
        ),
    )
    with op.batch_alter_table("linked_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linked_records_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "review_pairs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("left_record_id", BIG_ID, nullable=False),
        sa.Column("right_record_id", BIG_ID, nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("agreement", sa.JSON(), nullable=False),
        sa.Column("hints", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["left_record_id"],
            ["linked_records.id"],
            name=op.f("fk_review_pairs_left_record_id_linked_records"),
        ),
        sa.ForeignKeyConstraint(
            ["right_record_id"],
            ["linked_records.id"],
            name=op.f("fk_review_pairs_right_record_id_linked_records"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["linkage_runs.id"],
            name=op.f("fk_review_pairs_run_id_linkage_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_pairs")),
    )
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_pairs_run_id"), ["run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_pairs_status"), ["status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_pairs_status"))
        batch_op.drop_index(batch_op.f("ix_review_pairs_run_id"))
    op.drop_table("review_pairs")
    with op.batch_alter_table("linked_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linked_records_person_id"))
    op.drop_table("linked_records")
    with op.batch_alter_table("linked_persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linked_persons_run_id"))
    op.drop_table("linked_persons")
    with op.batch_alter_table("linkage_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linkage_runs_status"))
        batch_op.drop_index(batch_op.f("ix_linkage_runs_domain_id"))
    op.drop_table("linkage_runs")

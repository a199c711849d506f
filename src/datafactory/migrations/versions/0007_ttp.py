"""ttp: pseudonym domains, their mapping tables, re-identification requests, key checks

Revision ID: 0007_ttp
Revises: 0006_permits

No table holds a key or a clear identifier: ``domain_pseudonyms.sealed`` is AES-SIV under a
key derived from the master key, which lives outside the database, and
``ttp_key_checks`` keeps only a one-way check value per master key version.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0007_ttp"
down_revision: str | None = "0006_permits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pseudonym_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("key_versions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("rotated_at", UTC, nullable=True),
        sa.Column("retired_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["permit_id"],
            ["permits.id"],
            name=op.f("fk_pseudonym_domains_permit_id_permits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pseudonym_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_pseudonym_domains_name")),
    )
    with op.batch_alter_table("pseudonym_domains", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pseudonym_domains_permit_id"), ["permit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pseudonym_domains_status"), ["status"], unique=False
        )

    op.create_table(
        "domain_pseudonyms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pseudonym_domains.id"],
            name=op.f("fk_domain_pseudonyms_domain_id_pseudonym_domains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_pseudonyms")),
        sa.UniqueConstraint(
            "pseudonym", "domain_id", name=op.f("uq_domain_pseudonyms_pseudonym")
        ),
    )

    op.create_table(
        "reidentification_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("legal_reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("revealed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["people.id"],
            name=op.f("fk_reidentification_requests_decided_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["pseudonym_domains.id"],
            name=op.f("fk_reidentification_requests_domain_id_pseudonym_domains"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["people.id"],
            name=op.f("fk_reidentification_requests_requested_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reidentification_requests")),
    )
    with op.batch_alter_table("reidentification_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reidentification_requests_domain_id"),
            ["domain_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_reidentification_requests_status"), ["status"], unique=False
        )

    op.create_table(
        "ttp_key_checks",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("first_used_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_ttp_key_checks")),
    )


def downgrade() -> None:
    op.drop_table("ttp_key_checks")
    with op.batch_alter_table("reidentification_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reidentification_requests_status"))
        batch_op.drop_index(batch_op.f("ix_reidentification_requests_domain_id"))

    op.drop_table("reidentification_requests")
    op.drop_table("domain_pseudonyms")
    with op.batch_alter_table("pseudonym_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pseudonym_domains_status"))
        batch_op.drop_index(batch_op.f("ix_pseudonym_domains_permit_id"))

    op.drop_table("pseudonym_domains")

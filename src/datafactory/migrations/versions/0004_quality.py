"""quality scores, link checks and data products

Revision ID: 0004_quality
Revises: 0003_harvest
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0004_quality"
down_revision: str | None = "0003_harvest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("doi", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_products")),
    )
    op.create_table(
        "link_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "checked_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_checks")),
        sa.UniqueConstraint("url", name=op.f("uq_link_checks_url")),
    )
    op.create_table(
        "data_product_datasets",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_data_product_datasets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["data_products.id"],
            name=op.f("fk_data_product_datasets_product_id_data_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "product_id", "dataset_id", name=op.f("pk_data_product_datasets")
        ),
    )
    with op.batch_alter_table("data_product_datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_product_datasets_dataset_id"),
            ["dataset_id"],
            unique=False,
        )

    op.create_table(
        "dataset_quality",
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("findability", sa.Float(), nullable=False),
        sa.Column("accessibility", sa.Float(), nullable=False),
        sa.Column("interoperability", sa.Float(), nullable=False),
        sa.Column("reusability", sa.Float(), nullable=False),
        sa.Column("contextuality", sa.Float(), nullable=False),
        sa.Column("shacl_conforms", sa.Boolean(), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column(
            "computed_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_quality_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_dataset_quality")),
    )
    with op.batch_alter_table("dataset_quality", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_quality_band"), ["band"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset_quality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_quality_band"))

    op.drop_table("dataset_quality")
    with op.batch_alter_table("data_product_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_product_datasets_dataset_id"))

    op.drop_table("data_product_datasets")
    op.drop_table("link_checks")
    op.drop_table("data_products")

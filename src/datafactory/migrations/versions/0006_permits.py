"""permits: applications, their events, attachments, permits and the inbox

Revision ID: 0006_permits
Revises: 0005_search
Create Date: 2026-11-26 06:11:42.818978
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0006_permits"
down_revision: str | None = "0005_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=True),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("regime", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "submitted_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "decided_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("reminded", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["people.id"],
            name=op.f("fk_applications_applicant_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_applications_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applications_applicant_id"), ["applicant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_permit_id"), ["permit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_state"), ["state"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column(
            "read_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "emailed_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("email_wanted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_notifications_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "application_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "uploaded_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_attachments_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_attachments")),
    )
    with op.batch_alter_table("application_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_attachments_application_id"),
            ["application_id"],
            unique=False,
        )

    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_events_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_events")),
        sa.UniqueConstraint(
            "application_id", "seq", name=op.f("uq_application_events_application_id")
        ),
    )
    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_events_application_id"),
            ["application_id"],
            unique=False,
        )

    op.create_table(
        "application_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_parties_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_application_parties_person_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_parties")),
        sa.UniqueConstraint(
            "application_id",
            "person_id",
            "party",
            name=op.f("uq_application_parties_application_id"),
        ),
    )
    with op.batch_alter_table("application_parties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_parties_application_id"),
            ["application_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_application_parties_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("regime", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "granted_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "changed_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("results_url", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_permits_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["people.id"], name=op.f("fk_permits_holder_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_permits_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permits")),
        sa.UniqueConstraint("reference", name=op.f("uq_permits_reference")),
    )
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permits_ends_on"), ["ends_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permits_holder_id"), ["holder_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_permits_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permits_status"))
        batch_op.drop_index(batch_op.f("ix_permits_holder_id"))
        batch_op.drop_index(batch_op.f("ix_permits_ends_on"))

    op.drop_table("permits")
    with op.batch_alter_table("application_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_parties_person_id"))
        batch_op.drop_index(batch_op.f("ix_application_parties_application_id"))

    op.drop_table("application_parties")
    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_events_application_id"))

    op.drop_table("application_events")
    with op.batch_alter_table("application_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_attachments_application_id"))

    op.drop_table("application_attachments")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_person_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_state"))
        batch_op.drop_index(batch_op.f("ix_applications_permit_id"))
        batch_op.drop_index(batch_op.f("ix_applications_applicant_id"))

    op.drop_table("applications")

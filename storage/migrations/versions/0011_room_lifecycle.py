"""rooms the bot opens and closes, and who attended

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new column with a server default: no table rebuild on SQLite.
    op.add_column(
        "meeting", sa.Column("lobby", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "room_sitting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("occurrence_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("room", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mail_owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start_time", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.Column("reserved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner_arrived_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rescue_planned", sa.Boolean(), nullable=False),
        sa.Column("report_planned", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("meeting_id", "occurrence_start"),
    )
    op.create_index("ix_room_sitting_meeting_id", "room_sitting", ["meeting_id"])
    op.create_table(
        "room_presence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_sitting_id", sa.Integer(), sa.ForeignKey("room_sitting.id"), nullable=False
        ),
        sa.Column("occupant_jid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("owner", sa.Boolean(), nullable=False),
        sa.Column("joined_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("room_sitting_id", "occupant_jid", "joined_at"),
    )
    op.create_index("ix_room_presence_room_sitting_id", "room_presence", ["room_sitting_id"])


def downgrade() -> None:
    op.drop_index("ix_room_presence_room_sitting_id", "room_presence")
    op.drop_table("room_presence")
    op.drop_index("ix_room_sitting_meeting_id", "room_sitting")
    op.drop_table("room_sitting")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("lobby")

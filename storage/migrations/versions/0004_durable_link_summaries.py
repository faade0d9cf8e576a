"""durable link summaries: the organizer's summary and the group note become rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link_summary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('shown', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'occurrence_start', 'kind')
    )
    with op.batch_alter_table('link_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_summary_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_summary_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_summary_status'), ['status'], unique=False)

    # Summaries already out stay out: a sitting running during the upgrade gets no second
    # summary, and its group note keeps being edited instead of posted again.
    op.execute(
        "INSERT INTO link_summary (meeting_id, occurrence_start, kind, status, attempts, due_at,"
        " chat_id, message_id, revision, updated_at)"
        " SELECT id, summary_occurrence, 'organizer', 'sent', 1, summary_occurrence,"
        " organizer_id, NULL, 0, summary_occurrence"
        " FROM meeting WHERE summary_occurrence IS NOT NULL"
    )
    op.execute(
        "INSERT INTO link_summary (meeting_id, occurrence_start, kind, status, attempts, due_at,"
        " chat_id, message_id, revision, updated_at)"
        " SELECT id, summary_occurrence, 'group', 'sent', 1, summary_occurrence,"
        " chat_id, link_message_id, 0, summary_occurrence"
        " FROM meeting WHERE summary_occurrence IS NOT NULL AND chat_id IS NOT NULL"
    )
    # meeting.link_message_id stays: dropping a column rebuilds the table on SQLite, which its
    # foreign keys forbid on a database with meetings in it.


def downgrade() -> None:
    op.execute(
        "UPDATE meeting SET link_message_id = (SELECT message_id FROM link_summary"
        " WHERE link_summary.meeting_id = meeting.id AND link_summary.kind = 'group'"
        " AND link_summary.occurrence_start = meeting.summary_occurrence)"
    )

    with op.batch_alter_table('link_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_summary_status'))
        batch_op.drop_index(batch_op.f('ix_link_summary_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_link_summary_due_at'))

    op.drop_table('link_summary')

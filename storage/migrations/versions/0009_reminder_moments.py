"""reminders at several moments: per meeting, a personal default, a personal opt-out, and the
durable reminder rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch): SQLite adds them in place, without rebuilding tables that
    # other tables' foreign keys point at.
    op.add_column('meeting', sa.Column('reminder_minutes', sa.JSON(), nullable=True))
    op.add_column('user', sa.Column('reminder_minutes', sa.JSON(), nullable=True))
    op.add_column(
        'participant',
        sa.Column('reminders_off', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table('reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('occurrence_start', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('minutes_before', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'user_id', 'occurrence_start', 'minutes_before')
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_status'))
        batch_op.drop_index(batch_op.f('ix_reminder_due_at'))
        batch_op.drop_index(batch_op.f('ix_reminder_meeting_id'))

    op.drop_table('reminder')
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no table rebuild.
    op.drop_column('participant', 'reminders_off')
    op.drop_column('user', 'reminder_minutes')
    op.drop_column('meeting', 'reminder_minutes')

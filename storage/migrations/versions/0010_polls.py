"""polls for finding a time: the poll, its slots and votes, and the audit events of a poll

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poll',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('organizer_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('closes_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_given', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('start_token', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('winner', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('shown_revision', sa.Integer(), nullable=False),
    sa.Column('shown', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_start_token'), ['start_token'], unique=True)

    op.create_table('poll_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'position')
    )
    with op.batch_alter_table('poll_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_slot_poll_id'), ['poll_id'], unique=False)

    op.create_table('poll_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('voted_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'position', 'user_id')
    )
    with op.batch_alter_table('poll_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_vote_poll_id'), ['poll_id'], unique=False)

    # A plain ADD COLUMN (no batch): SQLite adds it in place, without rebuilding audit_event.
    op.add_column('audit_event', sa.Column('poll_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_audit_event_poll_id'), 'audit_event', ['poll_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_event_poll_id'), table_name='audit_event')
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no table rebuild.
    op.drop_column('audit_event', 'poll_id')

    with op.batch_alter_table('poll_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_vote_poll_id'))
    op.drop_table('poll_vote')

    with op.batch_alter_table('poll_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_slot_poll_id'))
    op.drop_table('poll_slot')

    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_start_token'))
        batch_op.drop_index(batch_op.f('ix_poll_status'))
        batch_op.drop_index(batch_op.f('ix_poll_closes_at'))
        batch_op.drop_index(batch_op.f('ix_poll_chat_id'))
    op.drop_table('poll')

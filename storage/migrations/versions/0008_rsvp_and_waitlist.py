"""rsvp answers, capacity and the waitlist

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable): no table rebuild on SQLite, where foreign keys forbid one.
    op.add_column('meeting', sa.Column('capacity', sa.Integer(), nullable=True))
    op.add_column(
        'participant', sa.Column('rsvp', sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    op.add_column('participant', sa.Column('waitlist_ticket', sa.Integer(), nullable=True))
    op.create_table('announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('organizer_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('owed', sa.Boolean(), nullable=False),
    sa.Column('shown', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_meeting_id'), ['meeting_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_announcement_owed'), ['owed'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_owed'))
        batch_op.drop_index(batch_op.f('ix_announcement_meeting_id'))

    op.drop_table('announcement')
    # Dropping columns rebuilds the tables on SQLite: batch mode does that.
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('waitlist_ticket')
        batch_op.drop_column('rsvp')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('capacity')

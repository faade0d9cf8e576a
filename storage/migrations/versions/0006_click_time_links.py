"""click-time links: one /j/ handle per meeting and person, stored as a hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link_handle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('handle_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_opened_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_opened_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'user_id')
    )
    with op.batch_alter_table('link_handle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_handle_handle_hash'), ['handle_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_link_handle_meeting_id'), ['meeting_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('link_handle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_handle_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_link_handle_handle_hash'))

    op.drop_table('link_handle')

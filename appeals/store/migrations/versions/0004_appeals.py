"""a case is an appeal: its service lines (appeal_lines), its filed levels (filings); per-line cases
of one claim, category, member and status merge into one appeal, with every event and line kept

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2, asdecimal=True)


def _service_line() -> list[sa.Column]:
    return [sa.Column('payer', sa.String(200), nullable=False),
            sa.Column('payer_name', sa.String(200), nullable=False),
            sa.Column('claim_id', sa.String(100), nullable=False),
            sa.Column('line_number', sa.Integer(), nullable=False),
            sa.Column('service_date', sa.Date(), nullable=True),
            sa.Column('cpt_code', sa.String(20), nullable=False)]


def upgrade() -> None:
    op.create_table(
        'appeal_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('line_key', sa.String(400), nullable=False),
        *_service_line(),
        sa.Column('member_id', sa.String(100), nullable=False),
        sa.Column('provider', sa.String(200), nullable=False),
        sa.Column('billed', MONEY, nullable=False),
        sa.Column('paid', MONEY, nullable=False),
        sa.Column('at_stake', MONEY, nullable=False),
        sa.Column('recovered', MONEY, nullable=False),
        sa.Column('last_fingerprint', sa.String(64), nullable=False),
        sa.Column('record', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name='fk_appeal_lines_case_id'),
        sa.PrimaryKeyConstraint('id', name='pk_appeal_lines'),
        sa.UniqueConstraint('line_key', name='uq_appeal_lines_line_key'),
    )
    op.create_index('ix_appeal_lines_case_id', 'appeal_lines', ['case_id'])
    op.create_index('ix_appeal_lines_member_id', 'appeal_lines', ['member_id'])
    op.create_table(
        'filings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('filed_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(20), nullable=True),
        sa.Column('letter_sha256', sa.String(64), nullable=True),
        sa.Column('decision', sa.String(30), nullable=True),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.Column('amount', MONEY, nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name='fk_filings_case_id'),
        sa.PrimaryKeyConstraint('id', name='pk_filings'),
        sa.UniqueConstraint('case_id', 'level', name='uq_filings_case_id_level'),
    )
    with op.batch_alter_table('lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_before', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('lines', schema=None) as batch_op:
        batch_op.alter_column('seen_before', server_default=None)
    _merge(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("appeals merged from per-line cases cannot be split again; "
                              "restore the store from its backup")


def _typed(name: str) -> sa.ColumnClause:
    """A column of the lightweight tables below, typed where the driver needs it (amounts,
    dates: SQLite's driver takes neither Decimal nor date)."""
    if name in ('billed', 'paid', 'at_stake', 'recovered', 'amount'):
        return sa.column(name, MONEY)
    if name in ('service_date', 'first_seen', 'last_seen', 'deadline', 'on_date', 'filed_on',
                'decided_on'):
        return sa.column(name, sa.Date())
    return sa.column(name)


_cases = sa.table('cases', *[_typed(n) for n in (
    'id', 'case_key', 'payer', 'payer_name', 'claim_id', 'line_number', 'service_date',
    'cpt_code', 'member_id', 'provider', 'category', 'status', 'billed', 'paid', 'at_stake',
    'recovered', 'repeat_count', 'first_seen', 'last_seen', 'deadline', 'last_fingerprint',
    'record', 'linked_case_id', 'levels_upheld')])
_lines = sa.table('lines', sa.column('case_id'))
_events = sa.table('events', *[_typed(n) for n in (
    'id', 'case_id', 'at', 'on_date', 'who', 'kind', 'from_status', 'to_status', 'amount',
    'method', 'note', 'run_id')])
_appeal_lines = sa.table('appeal_lines', *[_typed(n) for n in (
    'case_id', 'line_key', 'payer', 'payer_name', 'claim_id', 'line_number', 'service_date',
    'cpt_code', 'member_id', 'provider', 'billed', 'paid', 'at_stake', 'recovered',
    'last_fingerprint', 'record')])
_filings = sa.table('filings', *[_typed(n) for n in (
    'case_id', 'level', 'name', 'filed_on', 'method', 'decision', 'decided_on', 'amount')])


def _money(value) -> Decimal:
    return Decimal(str(value or 0))


def _merge(conn) -> None:
    """Every per-line case becomes an appeal line; the cases of one claim, category, member and
    status become one appeal (the lowest case number), their events and recorded lines moved to
    it and a `merged` event saying which cases it absorbed. Filings are read off the events."""
    rows = [dict(r) for r in conn.execute(sa.select(_cases).order_by(_cases.c.id)).mappings()]
    if not rows:
        return
    conn.execute(_appeal_lines.insert(), [{
        'case_id': r['id'], 'line_key': r['case_key'], 'payer': r['payer'],
        'payer_name': r['payer_name'], 'claim_id': r['claim_id'],
        'line_number': r['line_number'], 'service_date': r['service_date'],
        'cpt_code': r['cpt_code'], 'member_id': r['member_id'], 'provider': r['provider'],
        'billed': r['billed'], 'paid': r['paid'], 'at_stake': r['at_stake'],
        'recovered': r['recovered'], 'last_fingerprint': r['last_fingerprint'],
        'record': r['record']} for r in rows])
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r['payer'], r['claim_id'], r['category'], r['member_id'], r['status'])].append(r)
    keys: set[str] = set()
    for members in groups.values():
        members.sort(key=lambda r: (str(r['service_date'] or ''), r['line_number'], r['id']))
        first = members[0]
        survivor = min(members, key=lambda r: r['id'])
        key = '|'.join(('appeal', first['payer'], first['claim_id'], str(first['line_number']),
                        first['category']))
        if key in keys:  # one claim's lines at two statuses: two appeals
            key = f"{key}|case{survivor['id']}"
        keys.add(key)
        others = [r['id'] for r in members if r['id'] != survivor['id']]
        values: dict = {'case_key': key}
        if others:
            values.update(
                billed=sum((_money(r['billed']) for r in members), Decimal(0)),
                paid=sum((_money(r['paid']) for r in members), Decimal(0)),
                at_stake=sum((_money(r['at_stake']) for r in members), Decimal(0)),
                recovered=sum((_money(r['recovered']) for r in members), Decimal(0)),
                repeat_count=sum(r['repeat_count'] or 0 for r in members),
                first_seen=min(r['first_seen'] for r in members),
                last_seen=max(r['last_seen'] for r in members),
                deadline=min((r['deadline'] for r in members if r['deadline']), default=None),
                line_number=first['line_number'], service_date=first['service_date'],
                cpt_code=first['cpt_code'], record=first['record'])
            for table in (_events, _lines, _appeal_lines):
                conn.execute(table.update().where(table.c.case_id.in_(others))
                             .values(case_id=survivor['id']))
            conn.execute(_cases.update().where(_cases.c.linked_case_id.in_(others))
                         .values(linked_case_id=survivor['id']))
            last = conn.execute(sa.select(_events.c.at).where(
                _events.c.case_id == survivor['id']).order_by(_events.c.id.desc())).scalar()
            conn.execute(_events.insert(), [{
                'case_id': survivor['id'], 'at': last or '1970-01-01T00:00:00+00:00',
                'on_date': values['last_seen'],
                'who': 'store migration 0004', 'kind': 'merged', 'from_status': None,
                'to_status': None, 'amount': None, 'method': None, 'run_id': None,
                'note': 'one appeal for the lines of claim ' + first['claim_id'] + ' ('
                        + first['category'] + '): cases ' + ', '.join(map(str, others))
                        + ' merged into this one'}])
        conn.execute(_cases.update().where(_cases.c.id == survivor['id']).values(values))
        if others:
            conn.execute(_cases.delete().where(_cases.c.id.in_(others)))
    _filings_from_events(conn)


def _filings_from_events(conn) -> None:
    """Each `sent` mark opened a level (merged lines sent while it was open are that level); the
    next decision (outcome) closed it."""
    filings: list[dict] = []
    open_level: dict[int, dict] = {}
    count: dict[int, int] = defaultdict(int)
    for e in conn.execute(sa.select(_events).order_by(_events.c.id)).mappings():
        case_id = e['case_id']
        if e['to_status'] == 'sent':
            if case_id in open_level:  # merged lines sent together: one level
                continue
            count[case_id] += 1
            name = 'first_level' if count[case_id] == 1 else f'level_{count[case_id]}'
            open_level[case_id] = {'case_id': case_id, 'level': count[case_id], 'name': name,
                                   'filed_on': e['on_date'], 'method': e['method'],
                                   'decision': None, 'decided_on': None, 'amount': None}
            filings.append(open_level[case_id])
        elif e['kind'] == 'outcome' and case_id in open_level:
            level = open_level.pop(case_id)
            level.update(decision=e['to_status'], decided_on=e['on_date'], amount=e['amount'])
    if filings:
        conn.execute(_filings.insert(), filings)

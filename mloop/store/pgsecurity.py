"""Who is who on a PostgreSQL store, enforced by the server itself.

Several people share one server: each connects as their own login role, and
the privacy rules are the database's, not only mloop's:

- three group roles (NOLOGIN): ``mloop_participant`` and ``mloop_coordinator``
  (a login role joins one of them, by the participant's roles) and
  ``mloop_content`` (a coordinator who may read loop content, e.g. to export
  it whole);
- row-level security on every table of a program: a participant's role sees
  the rows of the loops it is a member of (feedback: only its own, private
  goals: only its own) and the people of those loops; a coordinator's role
  sees the rows of the programs it coordinates;
- column privileges: a coordinator's role reads no loop content (goal and task
  titles, agendas, notes, actions, feedback comments) unless it is also a
  member of ``mloop_content``.

A login role is a participant when the participant's ``db_role`` names it,
or, without one, when it is their lower-cased email.  The identity is the
login (``session_user``): ``SET ROLE`` does not change who mloop and the
policies take you for.  The store's owner (the role owning its tables, or a
superuser) is not subject to any of this: it acts as on SQLite.

``apply`` is idempotent: ``mloop init`` runs it, and so does ``mloop db
grant``, so a store made by an older mloop gets it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mloop.errors import Forbidden, UsageError

PARTICIPANT_GROUP = "mloop_participant"
COORDINATOR_GROUP = "mloop_coordinator"
CONTENT_GROUP = "mloop_content"
GROUPS = (PARTICIPANT_GROUP, COORDINATOR_GROUP, CONTENT_GROUP)
MAX_ROLE_BYTES = 63  # PostgreSQL cuts longer identifiers short (NAMEDATALEN - 1)

# What a coordinator's role may not read: the loop's own words.
CONTENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "meeting": ("agenda", "notes", "actions"),
    "goal": ("title",),
    "task": ("title",),
    "feedback": ("comment",),
}

# The columns a role may change in rows its policies let it update (absent: all).
_PROFILE = ("name", "offers", "seeks", "timezone", "department", "goals")
_ENDING = ("ended_at", "outcome", "end_reason")

# Functions the policies ask; SECURITY DEFINER, so they read the tables as
# their owner and a policy never recurses into another table's policy.
_ME = "coalesce(p.db_role, p.email_key) = session_user::text"
_FUNCTIONS = {
    "mloop_my_ids": f"SELECT p.id FROM participant p WHERE {_ME}",
    "mloop_my_programs": f"SELECT p.program_id FROM participant p WHERE {_ME}",
    "mloop_coordinated_programs": f"SELECT p.program_id FROM participant p WHERE {_ME} AND p.is_coordinator",
    "mloop_my_loops": (
        "SELECT l.id FROM loop l JOIN participant p ON p.id IN (l.mentor_id, l.mentee_id) "
        f"WHERE {_ME}"
    ),
    "mloop_partners": (
        "SELECT o.id FROM participant p JOIN loop l ON p.id IN (l.mentor_id, l.mentee_id) "
        f"JOIN participant o ON o.id IN (l.mentor_id, l.mentee_id) WHERE {_ME}"
    ),
    "mloop_coordinated_loops": (
        "SELECT l.id FROM loop l WHERE l.program_id IN "
        f"(SELECT p.program_id FROM participant p WHERE {_ME} AND p.is_coordinator)"
    ),
}

_P, _C = PARTICIPANT_GROUP, COORDINATOR_GROUP
_BOTH = f"{_P}, {_C}"
_MY_LOOP = "loop_id IN (SELECT mloop_my_loops())"
_COORD_LOOP = "loop_id IN (SELECT mloop_coordinated_loops())"
_MY_PROGRAM = "program_id IN (SELECT mloop_my_programs())"
_COORD_PROGRAM = "program_id IN (SELECT mloop_coordinated_programs())"
_VISIBLE_GOAL = "(shared_at IS NOT NULL OR author_id IS NULL OR author_id IN (SELECT mloop_my_ids()))"


@dataclass(frozen=True)
class Policy:
    name: str
    command: str  # ALL | SELECT | INSERT | UPDATE | DELETE
    roles: str
    using: str | None
    check: str | None = None


def _rw(name: str, roles: str, rule: str) -> Policy:
    return Policy(name, "ALL", roles, rule, rule)


# table -> its policies.  Policies of one command OR together.
POLICIES: dict[str, tuple[Policy, ...]] = {
    "program": (
        Policy("mloop_read", "SELECT", _BOTH, "id IN (SELECT mloop_my_programs())"),
        Policy("mloop_coordinate", "UPDATE", _C, "id IN (SELECT mloop_coordinated_programs())",
               "id IN (SELECT mloop_coordinated_programs())"),
    ),
    "participant": (
        Policy("mloop_self_and_partners", "SELECT", _BOTH,
               "id IN (SELECT mloop_my_ids()) OR id IN (SELECT mloop_partners())"),
        Policy("mloop_own_profile", "UPDATE", _BOTH, "id IN (SELECT mloop_my_ids())", "id IN (SELECT mloop_my_ids())"),
        _rw("mloop_coordinate", _C, _COORD_PROGRAM),
    ),
    "loop": (
        Policy("mloop_member_read", "SELECT", _BOTH, "id IN (SELECT mloop_my_loops())"),
        Policy("mloop_member_end", "UPDATE", _BOTH, "id IN (SELECT mloop_my_loops())", "id IN (SELECT mloop_my_loops())"),
        _rw("mloop_coordinate", _C, _COORD_PROGRAM),
    ),
    "meeting": (_rw("mloop_member", _BOTH, _MY_LOOP), _rw("mloop_coordinate", _C, _COORD_LOOP)),
    "goal": (
        _rw("mloop_member", _BOTH, f"{_MY_LOOP} AND {_VISIBLE_GOAL}"),
        _rw("mloop_coordinate", _C, f"{_COORD_LOOP} AND {_VISIBLE_GOAL}"),
    ),
    # A task is seen and changed with its goal (the goal's own policies apply in the subquery).
    "task": (_rw("mloop_with_goal", _BOTH, "goal_id IN (SELECT id FROM goal)"),),
    "feedback": (
        _rw("mloop_author", _BOTH, f"author_id IN (SELECT mloop_my_ids()) AND {_MY_LOOP}"),
        Policy("mloop_coordinate", "SELECT", _C, _COORD_LOOP),
    ),
    "journey_share": (_rw("mloop_member", _BOTH, _MY_LOOP), _rw("mloop_coordinate", _C, _COORD_LOOP)),
    "agreement": (_rw("mloop_member", _BOTH, _MY_LOOP), _rw("mloop_coordinate", _C, _COORD_LOOP)),
    "pairing_fit": (_rw("mloop_member", _BOTH, _MY_LOOP), _rw("mloop_coordinate", _C, _COORD_LOOP)),
    "milestone": (Policy("mloop_read", "SELECT", _BOTH, _MY_PROGRAM), _rw("mloop_coordinate", _C, _COORD_PROGRAM)),
    "milestone_done": (
        _rw("mloop_member", _BOTH, f"participant_id IN (SELECT mloop_my_ids()) OR {_MY_LOOP}"),
        _rw("mloop_coordinate", _C, "participant_id IN (SELECT id FROM participant p WHERE "
                                    "p.program_id IN (SELECT mloop_coordinated_programs()))"),
    ),
    "starter_goal": (Policy("mloop_read", "SELECT", _BOTH, _MY_PROGRAM), _rw("mloop_coordinate", _C, _COORD_PROGRAM)),
    "nudge": (
        Policy("mloop_own", "SELECT", _BOTH, "participant_id IN (SELECT mloop_my_ids())"),
        _rw("mloop_coordinate", _C, _COORD_PROGRAM),
    ),
    "nudge_template": (_rw("mloop_coordinate", _C, _COORD_PROGRAM),),
}

# table -> (participant's privileges, coordinator's privileges); "SELECT*" is
# SELECT on every column but the table's content columns.
GRANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "program": (("SELECT",), ("SELECT", "UPDATE")),
    "participant": (("SELECT", f"UPDATE ({', '.join(_PROFILE)})"),
                    ("SELECT", "INSERT", f"UPDATE ({', '.join((*_PROFILE, 'capacity'))})", "DELETE")),
    "loop": (("SELECT", f"UPDATE ({', '.join(_ENDING)})"), ("SELECT", "INSERT", f"UPDATE ({', '.join(_ENDING)})")),
    "meeting": (("SELECT", "INSERT", "UPDATE", "DELETE"), ("SELECT*", "INSERT", "UPDATE", "DELETE")),
    "goal": (("SELECT", "INSERT", "UPDATE", "DELETE"), ("SELECT*", "INSERT", "UPDATE", "DELETE")),
    "task": (("SELECT", "INSERT", "UPDATE", "DELETE"), ("SELECT*", "INSERT", "UPDATE", "DELETE")),
    "feedback": (("SELECT", "INSERT", "UPDATE", "DELETE"), ("SELECT*", "INSERT", "UPDATE", "DELETE")),
    "journey_share": (("SELECT", "INSERT", "UPDATE", "DELETE"),) * 2,
    "agreement": (("SELECT", "INSERT", "UPDATE", "DELETE"),) * 2,
    "pairing_fit": (("SELECT", "INSERT", "UPDATE", "DELETE"),) * 2,
    "milestone": (("SELECT",), ("SELECT", "INSERT", "UPDATE", "DELETE")),
    "milestone_done": (("SELECT", "INSERT", "UPDATE", "DELETE"),) * 2,
    "starter_goal": (("SELECT",), ("SELECT", "INSERT", "UPDATE", "DELETE")),
    "nudge": (("SELECT",), ("SELECT", "INSERT", "UPDATE", "DELETE")),
    "nudge_template": ((), ("SELECT", "INSERT", "UPDATE", "DELETE")),
}


def is_postgresql(conn) -> bool:
    return conn.dialect.name == "postgresql"


def _quote(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _columns(conn, table: str) -> list[str]:
    return [row[0] for row in conn.execute(sa.text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = :table ORDER BY ordinal_position"
    ), {"table": table})]


def _privileges(conn, table: str, wanted: tuple[str, ...]) -> list[str]:
    out = []
    for privilege in wanted:
        if privilege == "SELECT*":
            hidden = CONTENT_COLUMNS.get(table, ())
            shown = [c for c in _columns(conn, table) if c not in hidden]
            privilege = f"SELECT ({', '.join(_quote(conn, c) for c in shown)})"
        out.append(privilege)
    return out


def _refused(error: sa.exc.DBAPIError, doing: str) -> Forbidden:
    from mloop.store.db import driver_message

    return Forbidden(f"{doing}: the server refused ({driver_message(error)}); "
                     "run it as the store's owner or a superuser")


def apply(conn: sa.Connection) -> None:
    """Create the group roles, the policy functions, the policies and the grants (idempotent)."""
    try:
        for group in GROUPS:
            conn.exec_driver_sql(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') "
                f"THEN CREATE ROLE {group} NOLOGIN; END IF; END $$"
            )
        schema = _quote(conn, conn.exec_driver_sql("SELECT current_schema()").scalar_one())
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {_BOTH}")
        for name, body in _FUNCTIONS.items():
            conn.exec_driver_sql(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS SETOF integer LANGUAGE sql STABLE "
                f"SECURITY DEFINER SET search_path = {schema}, pg_temp AS $mloop$ {body} $mloop$"
            )
        conn.exec_driver_sql(f"GRANT SELECT ON mloop_meta TO {_BOTH}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {_BOTH}")
        for table, policies in POLICIES.items():
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            existing = conn.execute(sa.text(
                "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = :table"
            ), {"table": table}).scalars().all()
            for name in existing:
                conn.exec_driver_sql(f"DROP POLICY {_quote(conn, name)} ON {table}")
            for policy in policies:
                using = f" USING ({policy.using})" if policy.using else ""
                check = f" WITH CHECK ({policy.check})" if policy.check else ""
                conn.exec_driver_sql(f"CREATE POLICY {policy.name} ON {table} FOR {policy.command} "
                                     f"TO {policy.roles}{using}{check}")
        for table, (participant, coordinator) in GRANTS.items():
            # Revoking the table's privileges revokes its column privileges too: a clean slate.
            conn.exec_driver_sql(f"REVOKE ALL ON {table} FROM {', '.join(GROUPS)}")
            for group, wanted in ((PARTICIPANT_GROUP, participant), (COORDINATOR_GROUP, coordinator)):
                privileges = _privileges(conn, table, wanted)
                if privileges:
                    conn.exec_driver_sql(f"GRANT {', '.join(privileges)} ON {table} TO {group}")
        for table in CONTENT_COLUMNS:
            conn.exec_driver_sql(f"GRANT SELECT ON {table} TO {CONTENT_GROUP}")
    except (sa.exc.ProgrammingError, sa.exc.InternalError) as error:
        raise _refused(error, "setting up the database roles and policies") from None


# --- who is connected -------------------------------------------------------


@dataclass(frozen=True)
class Login:
    role: str  # the login role (session_user)
    is_owner: bool  # owns the store's tables, or is a superuser
    reads_content: bool  # the owner, or a member of mloop_content
    withholds_content: bool  # a coordinator's role without mloop_content: content columns are not its to read


def login(conn: sa.Connection) -> Login | None:
    """Who is connected to a PostgreSQL store (None on SQLite), in one query."""
    if not is_postgresql(conn):
        return None
    member = "coalesce((SELECT pg_has_role(session_user, g.oid, 'MEMBER') FROM pg_roles g WHERE g.rolname = '{}'), false)"
    role, is_owner, content, coordinator = conn.execute(sa.text(
        "SELECT session_user::text, r.rolsuper OR coalesce(pg_has_role(session_user, c.relowner, 'MEMBER'), false), "
        f"{member.format(CONTENT_GROUP)}, {member.format(COORDINATOR_GROUP)} "
        "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('participant') WHERE r.rolname = session_user"
    )).one()
    content = bool(is_owner or content)
    return Login(role, bool(is_owner), content, not content and bool(coordinator))


def login_of(session) -> Login | None:
    """``login`` for a session, asked once per session."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    if "mloop_login" not in session.info:
        session.info["mloop_login"] = login(session.connection())
    return session.info["mloop_login"]


def withholds_content(session) -> bool:
    """Whether this session's login may not read content columns (a coordinator's role)."""
    found = login_of(session)
    return found is not None and found.withholds_content


# --- reading rows without their content --------------------------------------
#
# The ORM selects every mapped column, and a coordinator's role may not read
# the content ones: for such a session every ORM query leaves them out
# (deferred) and a loaded row holds None there, so coordinator read paths
# (the report, cards, goal and task states, feedback ratings) work unchanged
# and a stray content attribute reads as None instead of a refused query.


def readable(session, column):
    """``column`` in a Core select, or NULL under its name for a login that may not read it."""
    if column.key in CONTENT_COLUMNS.get(column.table.name, ()) and withholds_content(session):
        return sa.null().label(column.key)
    return column


def readable_columns(session, model) -> list:
    """Every column of ``model``'s table for a Core select, content ones as NULL where withheld."""
    return [readable(session, column) for column in model.__table__.columns]


def _content_attributes():
    from mloop.store.models import Feedback, Goal, Meeting, Task

    return {model: CONTENT_COLUMNS[model.__tablename__] for model in (Meeting, Goal, Task, Feedback)}


def _defer_content(state) -> None:
    if not state.is_select or not withholds_content(state.session):
        return
    from sqlalchemy.orm import defer

    present = {mapper.class_ for mapper in state.all_mappers}
    options = [defer(getattr(model, name)) for model, names in _content_attributes().items() if model in present
               for name in names]
    if options:
        state.statement = state.statement.options(*options)


def _blank_content(target, _context) -> None:
    from sqlalchemy.orm import object_session
    from sqlalchemy.orm.attributes import set_committed_value

    session = object_session(target)
    if session is None or not withholds_content(session):
        return
    for name in CONTENT_COLUMNS[target.__tablename__]:
        if name not in target.__dict__:
            set_committed_value(target, name, None)


def _listen() -> None:
    from sqlalchemy import event
    from sqlmodel import Session

    event.listen(Session, "do_orm_execute", _defer_content)
    for model in _content_attributes():
        event.listen(model, "load", _blank_content)


_listen()


# --- roles for people -------------------------------------------------------


def check_role_name(name: str, *, what: str = "--db-role") -> str:
    """A login role's name as PostgreSQL keeps it: not empty, at most 63 bytes, no control characters."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{what} needs a role name (text)")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        raise UsageError(f"{what} {name!r} has control characters: give a plain role name")
    if len(name.encode()) > MAX_ROLE_BYTES:
        raise UsageError(f"{what} {name!r} is longer than PostgreSQL's {MAX_ROLE_BYTES} bytes: give a shorter one")
    return name


def role_name(person) -> str:
    """The login role that is ``person``: their db_role, else their lower-cased email."""
    if person.db_role:
        return person.db_role
    if len(person.email_key.encode()) > MAX_ROLE_BYTES:
        raise UsageError(f"{person.email} is longer than PostgreSQL's {MAX_ROLE_BYTES} bytes, too long for a role "
                         "name: add them with 'mloop participant add ... --db-role NAME'")
    return person.email_key


@dataclass(frozen=True)
class Granted:
    role: str
    created: bool
    group: str
    content: bool


def grant(conn: sa.Connection, person, *, content: bool, password: str | None) -> Granted:
    """Create ``person``'s login role if missing (with ``password``, or none for trust/peer
    authentication), or set the password of an existing one when given, and put it in
    the group of its roles: coordinators in mloop_coordinator, everyone else in
    mloop_participant (and out of the other), plus mloop_content when ``content``."""
    from psycopg import sql

    if content and not person.is_coordinator:
        raise UsageError(f"--content is for coordinators and {person.email} is not one: "
                         "participants read their own loops' content already")
    name = role_name(person)
    raw = conn.connection.driver_connection
    role = sql.Identifier(name)
    group = COORDINATOR_GROUP if person.is_coordinator else PARTICIPANT_GROUP
    other = PARTICIPANT_GROUP if person.is_coordinator else COORDINATOR_GROUP
    try:
        exists = conn.execute(sa.text(
            "SELECT r.rolsuper OR r.rolcreaterole OR pg_has_role(r.oid, c.relowner, 'MEMBER') "
            "FROM pg_roles r, pg_class c WHERE r.rolname = :name AND c.oid = to_regclass('participant')"
        ), {"name": name}).first()
        if exists is not None and exists[0]:
            raise UsageError(f"role {name!r} is a superuser, may create roles or owns this store: it cannot be "
                             f"{person.email}'s login; give them another --db-role")
        secret = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password is not None else sql.SQL("")
        if exists is None:
            conn.exec_driver_sql(sql.SQL("CREATE ROLE {} LOGIN").format(role).as_string(raw)
                                 + secret.as_string(raw))
        elif password is not None:
            conn.exec_driver_sql(sql.SQL("ALTER ROLE {}").format(role).as_string(raw) + secret.as_string(raw))
        conn.exec_driver_sql(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role).as_string(raw))
        conn.exec_driver_sql(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), role).as_string(raw))
        verb = "GRANT {} TO {}" if content else "REVOKE {} FROM {}"
        conn.exec_driver_sql(sql.SQL(verb).format(sql.Identifier(CONTENT_GROUP), role).as_string(raw))
    except (sa.exc.ProgrammingError, sa.exc.InternalError) as error:
        raise _refused(error, f"granting role {name!r}") from None
    return Granted(name, exists is None, group, content)

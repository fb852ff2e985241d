"""Which program a command works on and who is acting.

Identity is an email (``--as`` / ``MLOOP_USER``); mloop is a local tool, so
this is about keeping people to their own loops and keeping feedback private,
not about authentication.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from mloop import rules
from mloop.errors import Forbidden, NotFound, UsageError, valid_id
from mloop.store.checks import check_loop_open, check_name, normal_email
from mloop.store.models import Loop, Participant, Program

DEFAULT_PROGRAM_NAME = "Mentoring program"


def email_key(email: str) -> str:
    """The key a participant is stored and found under (see checks.normal_email)."""
    return normal_email(email)


def email_keys(email: str) -> set[str]:
    """The keys an email may be stored under: ``email_key``, and the plain
    lower case that a store written before NFKC normalisation holds, so that
    everyone already in a store is still found."""
    return {email_key(email), email.strip().lower()}


def find_program(session: Session, name: str | None) -> Program | None:
    if name:
        return session.exec(select(Program).where(Program.name == name)).first()
    return session.exec(
        select(Program).order_by(Program.is_default.desc(), Program.id)
    ).first()


def current_program(session: Session, name: str | None, *, now: datetime | None = None) -> Program:
    """The named program, else the default one.

    When ``now`` is given and the store has no program at all, a default
    program is created so that a first ``participant add`` just works.
    """
    program = find_program(session, name)
    if program is not None:
        return program
    from mloop.store.pgsecurity import login_of

    login = login_of(session)
    if login is not None and not login.is_owner:
        # The policies show a login role only the programs it is a participant of.
        raise Forbidden(
            f"you are connected as role {login.role!r}, which is no participant of "
            f"{repr(name) if name else 'any program in this store'}: connect as your own role, "
            "or ask the store's owner to run 'mloop db grant EMAIL' for you"
        )
    if name:
        known = session.exec(select(Program.name)).all()
        hint = f" (programs: {', '.join(known)})" if known else ""
        raise NotFound(f"no program named {name!r}{hint}: check --program or create it with mloop init --program {name!r}")
    if now is None:
        raise NotFound("this store has no program yet: run 'mloop init' (or 'mloop demo' for a sample program)")
    return create_program(session, DEFAULT_PROGRAM_NAME, now=now)


def check_program_numbers(*, stall_days: int | None = None, momentum_meetings: int | None = None,
                          min_group: int | None = None) -> None:
    """A program's stall threshold and momentum are whole numbers of at least 1,
    its smallest group one from 0 to MAX_MIN_GROUP (None: not given)."""
    if min_group is not None and not 0 <= min_group <= rules.MAX_MIN_GROUP:
        raise UsageError(f"--min-group must be 0 to {rules.MAX_MIN_GROUP} (0 or 1: show every count), not {min_group}")
    if stall_days is not None and not 1 <= stall_days <= rules.MAX_STALL_DAYS:
        raise UsageError(f"--stall-days must be 1 to {rules.MAX_STALL_DAYS}, not {stall_days}")
    if momentum_meetings is not None and momentum_meetings < 1:
        raise UsageError(f"--momentum-meetings must be at least 1, not {momentum_meetings}")


def create_program(
    session: Session,
    name: str,
    *,
    now: datetime,
    stall_days: int = rules.DEFAULT_STALL_DAYS,
    momentum_meetings: int = rules.DEFAULT_MOMENTUM_MEETINGS,
) -> Program:
    name = check_name(name, "program name")
    if not name:
        raise UsageError("a program needs a name: --program NAME")
    check_program_numbers(stall_days=stall_days, momentum_meetings=momentum_meetings)
    has_default = session.exec(select(func.count()).where(Program.is_default)).one() > 0
    program = Program(
        name=name.strip(),
        stall_days=stall_days,
        momentum_meetings=momentum_meetings,
        is_default=not has_default,
        created_at=now,
    )
    session.add(program)
    session.flush()
    return program


def find_participant(session: Session, program: Program, email: str) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.program_id == program.id, Participant.email_key.in_(email_keys(email))
        )
    ).first()


def get_participant(session: Session, program: Program, email: str, *, what: str = "participant") -> Participant:
    person = find_participant(session, program, email)
    if person is None:
        raise NotFound(
            f"no {what} with email {email!r} in {program.name}: check the spelling or add them with 'mloop participant add'"
        )
    return person


@dataclass
class Actor:
    """Who is acting: a participant, or the program's owner before any coordinator exists."""

    person: Participant | None
    is_coordinator: bool

    @property
    def email(self) -> str | None:
        return self.person.email if self.person else None

    def label(self) -> str:
        return self.person.email if self.person else "the program owner"


def actor(session: Session, program: Program, email: str | None) -> Actor:
    """Who acts: on PostgreSQL, the participant the login role is (see
    ``pgsecurity``), who may act as someone else only as a coordinator; on
    SQLite, and for a PostgreSQL store's owner, whoever --as/MLOOP_USER names
    (one store file is one trust domain), else the program's one coordinator."""
    from mloop.store.pgsecurity import login_of

    login = login_of(session)
    if login is not None and not login.is_owner:
        return _login_actor(session, program, email, login.role)
    if email:
        person = find_participant(session, program, email)
        if person is None:
            raise NotFound(
                f"acting user {email!r} is not in {program.name}: fix --as/MLOOP_USER or add them with 'mloop participant add'"
            )
        return Actor(person, person.is_coordinator)
    coordinators = session.exec(
        select(Participant).where(Participant.program_id == program.id, Participant.is_coordinator).limit(2)
    ).all()
    if len(coordinators) == 1:
        return Actor(coordinators[0], True)
    if not coordinators:
        # A program nobody coordinates yet is run by whoever owns the store.
        return Actor(None, True)
    return Actor(None, False)


def _login_actor(session: Session, program: Program, email: str | None, role: str) -> Actor:
    """The participant of ``program`` that login role ``role`` is, or the one it may act as."""
    people = session.exec(
        select(Participant).where(Participant.program_id == program.id,
                                  func.coalesce(Participant.db_role, Participant.email_key) == role)
    ).all()
    if len(people) != 1:
        which = "no participant" if not people else f"{len(people)} participants"
        raise Forbidden(
            f"you are connected as role {role!r}, which is {which} of {program.name}: connect as your own role, "
            "or ask the store's owner to run 'mloop db grant EMAIL' for you"
        )
    me = people[0]
    if not email or email_key(email) == me.email_key:
        return Actor(me, me.is_coordinator)
    if not me.is_coordinator:
        raise Forbidden(
            f"--as {email}: you are connected as role {role} (participant {me.email}); "
            "only a coordinator's role may act as someone else"
        )
    person = find_participant(session, program, email)
    if person is None:
        raise NotFound(
            f"acting user {email!r} is not in {program.name}: fix --as/MLOOP_USER or add them with 'mloop participant add'"
        )
    return Actor(person, person.is_coordinator)


def require_coordinator(who: Actor, doing: str) -> None:
    if who.is_coordinator:
        return
    if who.person is None:
        raise Forbidden(
            f"{doing} needs a coordinator and this program has several: say which one you are with --as EMAIL or MLOOP_USER"
        )
    raise Forbidden(f"{doing} is for coordinators and {who.person.email} is not one: ask a coordinator")


def get_loop(session: Session, program: Program, loop_id: int) -> Loop:
    loop = session.get(Loop, loop_id) if valid_id(loop_id) else None
    if loop is None or loop.program_id != program.id:
        raise NotFound(f"no loop {loop_id} in {program.name}: see 'mloop match list'")
    return loop


def is_member(loop: Loop, person: Participant | None) -> bool:
    return person is not None and person.id in (loop.mentor_id, loop.mentee_id)


def loop_for(session: Session, program: Program, who: Actor, loop_id: int, *, doing: str, members_only: bool = False) -> Loop:
    """The loop ``who`` may act on: a member's own loop, or any loop for a coordinator."""
    loop = get_loop(session, program, loop_id)
    if is_member(loop, who.person):
        return loop
    if who.is_coordinator and not members_only:
        return loop
    if members_only and who.is_coordinator:
        raise Forbidden(
            f"{doing} is done by the loop's mentor or mentee, not a coordinator: act as one of them with --as EMAIL"
        )
    who_label = who.person.email if who.person else "you"
    raise Forbidden(f"{who_label} is not in loop {loop_id}: you can only act in your own loops (see 'mloop status')")


def loop_active_at(now: datetime):
    """rules.is_active as an SQL condition on Loop: matched by now and not ended by then."""
    import sqlalchemy as sa

    return sa.and_(Loop.matched_at <= now, sa.or_(Loop.ended_at.is_(None), Loop.ended_at > now))


def require_active(loop: Loop, now: datetime, doing: str) -> None:
    """A stored loop takes new facts only while it runs (see checks.check_loop_open)."""
    check_loop_open(loop.id, matched_at=loop.matched_at, ended_at=loop.ended_at, outcome=loop.outcome, at=now,
                    doing=doing)


# What a view shows in place of content its reader may not see, where the
# field cannot simply be left out (an export's required goal and task titles).
WITHHELD = "(withheld)"


def sees_content(who: Actor, loop, *, author_id: int | None = None) -> bool:
    """May ``who`` read what is written inside ``loop``?

    Content is the free text members write in their loop: goal and task
    titles, meeting agendas, notes, actions and places, feedback comments.
    Its mentor and mentee read it; coordinators see stages, counts and
    ratings, never content.  Content with an ``author_id`` (a feedback
    comment, a private goal) is its author's alone: the partner never reads
    it.  ``loop`` is anything with ``mentor_id`` and ``mentee_id``.
    """
    if not is_member(loop, who.person):
        return False
    return author_id is None or author_id == who.person.id


CONTENT_ROLE = "mloop_content"  # on PostgreSQL, the role whose members may export content


def require_content_right(session: Session) -> None:
    """Refuse ``export --include-content`` unless this connection may read all content.

    On SQLite, the OS user who owns the store file may: the file is one trust
    domain and its owner can read all of it anyway.  On PostgreSQL, a login
    role that is a member of ``mloop_content`` may (no such role: nobody).
    """
    import sqlalchemy as sa

    bind = session.get_bind().engine
    if bind.dialect.name == "sqlite":
        database = bind.url.database
        try:
            if database not in (None, "", ":memory:") and os.stat(database).st_uid == os.getuid():
                return
        except OSError:
            pass
        raise Forbidden(f"--include-content is for the store's owner, the user who owns {database}: "
                        "export without it, or ask the owner")
    if bind.dialect.name == "postgresql":
        allowed = session.connection().execute(sa.text(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) "
            "THEN pg_has_role(current_user, :role, 'MEMBER') ELSE false END"
        ), {"role": CONTENT_ROLE}).scalar()
        if allowed:
            return
        raise Forbidden(f"--include-content needs a database login in the role {CONTENT_ROLE} "
                        "(mloop db grant EMAIL --content): export without it")
    raise Forbidden(f"--include-content is not available on {bind.dialect.name}: export without it")

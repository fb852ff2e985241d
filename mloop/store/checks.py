"""The rules a write must keep, each written once.

A command checks them against the store, and ``mloop import`` against the
records of its file as it reads them (from running tallies, so that a large
program stays one pass): both refuse the same things with the same one-line
message.  Each check therefore takes plain values — emails, counts, times,
statuses, and a loop, meeting or goal as its caller names it (a store id, or
an import file's ref) — and raises the error the command shows.
"""

from __future__ import annotations

from datetime import datetime, timezone

from mloop import rules
from mloop.errors import Conflict, Forbidden, MloopError, NotFound, UsageError, one_of
from mloop.timeparse import WhenError, format_local


# --- the clock -------------------------------------------------------------------------

def check_not_ahead(moment: datetime, now: datetime, *, what: str, instead: str,
                    error: type[MloopError] = UsageError) -> None:
    """Something recorded as done cannot be dated after now.  Often it is the
    clock that is off (a walk-through's fixed dates, a fixture), so the
    message shows now and says how to move it."""
    if moment > now:
        raise error(f"{what} {format_local(moment, timezone.utc)} is still ahead "
                    f"(now is {format_local(now, timezone.utc)}): {instead}, or set --now/MLOOP_NOW to a later time")


def check_not_past(moment: datetime, now: datetime, *, what: str, instead: str) -> None:
    """A booking is for a time still to come; what has already happened is logged instead."""
    if moment < now:
        raise UsageError(f"{what} {format_local(moment, timezone.utc)} has passed "
                         f"(now is {format_local(now, timezone.utc)}): {instead}")


# --- matches ---------------------------------------------------------------------------

def check_not_self_match(mentor_email: str, *, same_person: bool) -> None:
    if same_person:
        raise Conflict(f"{mentor_email} cannot mentor themselves: pick a different mentor or mentee")


def check_match_roles(mentor_email: str, is_mentor: bool, mentee_email: str, is_mentee: bool) -> None:
    if not is_mentor:
        raise Conflict(f"{mentor_email} is not a mentor: add the role or pick a mentor from 'mloop participant list --role mentor'")
    if not is_mentee:
        raise Conflict(f"{mentee_email} is not a mentee: pick a mentee from 'mloop participant list --role mentee'")


def check_pair_free(mentor_email: str, mentee_email: str, active_loop: int | str | None) -> None:
    """``active_loop``: the pair's loop that is still active, if any."""
    if active_loop is not None:
        raise Conflict(
            f"{mentor_email} and {mentee_email} already have an active loop ({active_loop}): "
            f"end it first with 'mloop match end {active_loop}'"
        )


def check_capacity(mentor_email: str, active_loops: int, capacity: int) -> None:
    """A mentor takes a new loop only below their capacity (a mentee has none: DESIGN §2)."""
    if active_loops >= capacity:
        raise Conflict(
            f"{mentor_email} is at capacity ({active_loops} of {capacity} active loops): end a loop or raise their capacity"
        )


# --- dates before the program's existence -----------------------------------------------

# No mentoring loop tracked here is older than this: a date before it is a typo
# (0001-01-01 would make a loop stalled for 739,767 days).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _before_earliest(moment: datetime, what: str) -> None:
    if moment < EARLIEST:
        raise UsageError(f"{what} {format_local(moment, timezone.utc)} is before {EARLIEST:%Y-%m-%d}, "
                         "earlier than any loop mloop tracks: check the date")


def check_match_date(matched_at: datetime, *, what: str = "--at") -> None:
    """A match starts no earlier than 1970.  (A match dated before one of its
    people joined stays allowed: stores and exports hold such loops, the rules
    count each fact from its own time, and an export must import again.)"""
    _before_earliest(matched_at, what)


def meeting_date_problem(start: datetime, loop: int | str, matched_at: datetime | None) -> str | None:
    """Why a meeting cannot start at ``start`` in a loop matched at ``matched_at``
    ("is before loop 2 was matched (2026-03-02)"), or None."""
    if start < EARLIEST:
        return f"is before {EARLIEST:%Y-%m-%d}, earlier than any loop mloop tracks"
    if matched_at is not None and start < matched_at:
        return f"is before loop {loop} was matched ({matched_at:%Y-%m-%d})"
    return None


def check_meeting_date(start: datetime, loop: int | str, matched_at: datetime | None, *, what: str = "--at") -> None:
    """A meeting starts no earlier than 1970 and no earlier than its loop's match."""
    problem = meeting_date_problem(start, loop, matched_at)
    if problem is not None:
        raise UsageError(f"{what} {format_local(start, timezone.utc)} {problem}: check the date")


# --- loops -----------------------------------------------------------------------------

def check_loop_open(loop: int | str, *, matched_at: datetime, ended_at: datetime | None, outcome: str | None,
                    at: datetime, doing: str) -> None:
    """A loop takes new facts only while it runs: from its match until it ends (then it is read-only)."""
    if ended_at is not None and ended_at <= at:
        raise Forbidden(f"loop {loop} ended on {ended_at:%Y-%m-%d} ({outcome}) and is read-only: cannot {doing}")
    if matched_at > at:
        raise Forbidden(f"loop {loop} starts on {format_local(matched_at, timezone.utc)}: cannot {doing} before then")


# --- feedback --------------------------------------------------------------------------

def check_rating(rating: int) -> None:
    if rating not in rules.RATINGS:
        raise MloopError(f"rating {rating} is out of range: give {min(rules.RATINGS)} (poor) to {max(rules.RATINGS)} (great)")


def check_meeting_in_loop(meeting: int | str, loop: int | str, *, found: bool) -> None:
    """``found``: the meeting exists and belongs to ``loop``."""
    if not found:
        raise NotFound(f"no meeting {meeting} in loop {loop}: see 'mloop meet list --loop {loop}'")


def check_meeting_held(meeting: int | str, *, held: bool) -> None:
    """Feedback on a meeting needs the meeting held."""
    if not held:
        raise Conflict(f"meeting {meeting} has not been held yet: mark it done with 'mloop meet done {meeting}' first")


# --- goals and tasks -------------------------------------------------------------------

def check_goal_title(title: str | None) -> str:
    """The title, stripped; an empty one is refused."""
    if not title or not title.strip():
        raise UsageError("a goal needs a title: mloop goal add LOOP 'Give a conference talk'")
    return title.strip()


def check_term(term) -> str:
    if term not in rules.TERMS:
        raise UsageError(f"unknown term {term!r}: use {' or '.join(rules.TERMS)}")
    return term


def check_goal_unlocked(goal: int | str, title: str, *, locked: bool, deleting: bool = False) -> None:
    """A locked goal (a program's starter goal) can be completed, never edited or deleted."""
    if locked:
        what = "it cannot be deleted" if deleting else "it can be completed but not edited"
        raise Forbidden(f"goal {goal} ({title!r}) is a locked program goal: {what}")


def check_task_title(title: str | None) -> str:
    if not title or not title.strip():
        raise UsageError("a task needs a title")
    return title.strip()


# --- custom milestones -----------------------------------------------------------------

def check_milestone_definition(name: str | None, *, kind: str, role: str, due: str) -> tuple[str, str, str, str]:
    """(name, kind, role, due) as stored: stripped, the words made canonical, the offset readable."""
    name = (name or "").strip()
    if not name:
        raise UsageError("a milestone needs a name: mloop milestone define NAME --kind ... --role ... --due ...")
    kind = one_of(kind, rules.MILESTONE_KINDS, "--kind")
    role = one_of(role, rules.MILESTONE_ROLES, "--role")
    due = " ".join(due.split())
    try:
        rules.milestone_offset(due)
    except WhenError as error:
        raise UsageError(f"--due: {error}") from None
    return name, kind, role, due


def check_milestone_name_free(program_name: str, name: str, *, taken: bool) -> None:
    if taken:
        raise Conflict(f"{program_name} already has a milestone named {name!r}: pick another name")


def check_no_loop_for_program_milestone(name: str, *, loop_given: bool) -> None:
    if loop_given:
        raise UsageError(f"milestone {name!r} is a program milestone, not one of a loop: leave out --loop")


def check_program_mark(name: str, role: str, email: str, *, has_role: bool) -> None:
    """A program milestone is marked by a person who holds its role."""
    if not has_role:
        raise Forbidden(f"only {role}s can mark milestone {name!r}, and {email} is not a {role}")


def check_marker_in_loop(loop: int | str, email: str, *, member: bool) -> None:
    """A relationship milestone is marked by a member of its loop."""
    if not member:
        raise Forbidden(f"{email} is not in loop {loop}: you can only mark milestones in your own loops "
                        "(see 'mloop status')")


def check_marker_role(name: str, role: str, loop: int | str, email: str, *, held_role: str) -> None:
    """A command marks a relationship milestone only for the member who holds its
    role.  An import keeps a file's marks by either member (the activity report
    tallies them by the role the marker held), so it checks membership alone."""
    if held_role != role:
        raise Forbidden(f"only the {role} of loop {loop} can mark milestone {name!r}, and {email} is its {held_role}")

"""The rules a write must keep, each written once.

A command checks them against the store, and ``mloop import`` against the
records of its file as it reads them (from running tallies, so that a large
program stays one pass): both refuse the same things with the same one-line
message.  Each check therefore takes plain values — emails, counts, times,
statuses, and a loop, meeting or goal as its caller names it (a store id, or
an import file's ref) — and raises the error the command shows.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from functools import lru_cache

from mloop import rules
from mloop.errors import Conflict, Forbidden, MloopError, NotFound, UsageError, one_of
from mloop.text import BIDI_CONTROLS, first_control, first_unsafe
from mloop.timeparse import EVERY_EXAMPLES, WhenError, format_local, parse_offset


# --- text ------------------------------------------------------------------------------
# What people type is shown to others, on terminals and in spreadsheets.  A name
# or a title is one line of printable text; free text (notes, agendas, actions,
# comments, locations, reasons, descriptions) may run over several lines and
# hold tabs, and nothing else of the control characters.  Each has a length
# limit, so that no field can fill a screen or a store.

NAME_LIMIT = 200
TITLE_LIMIT = 500
TEXT_LIMIT = 20_000


def _code(character: str) -> str:
    return f"U+{ord(character):04X}"


def check_line(value: str, field: str, *, limit: int) -> str:
    """A name or a title as stored (stripped): one line of printable
    characters, no bidirectional controls, at most ``limit`` characters."""
    bad = first_unsafe(value)
    if bad is not None:
        what = ("a line break" if bad in "\r\n" else "a bidirectional control character" if bad in BIDI_CONTROLS
                else "a control character")
        raise UsageError(f"{field} contains {what} ({_code(bad)}); remove it")
    value = value.strip()
    if len(value) > limit:
        raise UsageError(f"{field} is too long ({len(value):,} characters; at most {limit:,})")
    return value


def check_name(value: str, field: str = "name") -> str:
    return check_line(value, field, limit=NAME_LIMIT)


def check_title(value: str, field: str = "title") -> str:
    return check_line(value, field, limit=TITLE_LIMIT)


EMAIL_LIMIT = 320  # the longest address the mail standards allow (64 + 1 + 255)


def normal_email(email: str) -> str:
    """An email as mloop compares, stores and looks it up: stripped, in
    Unicode's compatibility form (NFKC: a full-width 'ａ' is an 'a'), lower case."""
    return unicodedata.normalize("NFKC", email.strip()).lower()


def check_email(email: str) -> str:
    """A new or changed email, as stored (see ``normal_email``): one line of
    printable characters that email-validator takes for an address (its
    syntax rules; no DNS look-up), so that a look-alike of a real address
    (a zero-width space in it, two dots, a leading dot or hyphen, a
    400-character local part) is refused, with the reason."""
    given = check_line(email, "email", limit=EMAIL_LIMIT)
    address = normal_email(given)
    plain = _PLAIN_EMAIL.fullmatch(address)
    if plain and len(address) <= EMAIL_VALIDATOR_LIMIT and _domain_takes_email(plain.group(1)):
        return address
    from email_validator import EmailNotValidError, validate_email  # only the writes that take an email load it

    try:
        checked = validate_email(address, check_deliverability=False, strict=True)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise UsageError(f"email {given!r} is not valid: {reason[:1].lower()}{reason[1:]}; "
                         "use the form name@example.org") from None
    return normal_email(checked.normalized)


# An import of a large program checks 100,000 addresses of a few domains, and
# email-validator spends two thirds of its time on the domain.  So an address
# whose local part is plain (lower-case ASCII letters, digits, '_', '+', '-',
# single inner dots: a part of what email-validator takes) has its domain
# checked once, by email-validator; any other address gets its full check.
EMAIL_VALIDATOR_LIMIT = 254
_PLAIN_EMAIL = re.compile(r"(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@([a-z0-9.-]+)")


@lru_cache(maxsize=1024)
def _domain_takes_email(domain: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(f"x@{domain}", check_deliverability=False, strict=True)
    except EmailNotValidError:
        return False
    return True


def check_text(value: str | None, field: str) -> str | None:
    """Free text as given (None stays None): newlines (a Windows CR LF too)
    and tabs are allowed, other control characters (a lone CR among them,
    which overwrites a line on a terminal) are not; at most TEXT_LIMIT characters."""
    if value is None:
        return None
    bad = first_control(value.replace("\r\n", "\n"), lines=True)
    if bad is not None:
        raise UsageError(f"{field} contains a control character ({_code(bad)}); remove it")
    if len(value) > TEXT_LIMIT:
        raise UsageError(f"{field} is too long ({len(value):,} characters; at most {TEXT_LIMIT:,})")
    return value


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


def check_capacity(email: str, active_loops: int, capacity: int, *, as_mentee: bool = False) -> None:
    """A person takes a new loop only below their capacity, counted in each role
    apart: a mentor's active loops with mentees, a mentee's with mentors."""
    if active_loops >= capacity:
        role = " as a mentee" if as_mentee else ""
        raise Conflict(
            f"{email} is at capacity{role} ({active_loops} of {capacity} active loops): "
            "end a loop or raise their capacity"
        )


# --- dates before the program's existence -----------------------------------------------

# No mentoring loop tracked here is older than this: a date before it is a typo
# (0001-01-01 would make a loop stalled for 739,767 days).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _before_earliest(moment: datetime, what: str) -> None:
    if moment < EARLIEST:
        raise UsageError(f"{what} {format_local(moment, timezone.utc)} is before {EARLIEST:%Y-%m-%d}, "
                         "earlier than any loop mloop tracks: check the date")


def check_match_date(matched_at: datetime, *, joined: tuple[tuple[str, datetime | None], ...] = (),
                     what: str = "--at") -> None:
    """A match starts no earlier than 1970, and not before either of its people
    joined (``joined``: each one's email and joined time, None where unknown)."""
    _before_earliest(matched_at, what)
    for email, joined_at in joined:
        if joined_at is not None and matched_at < joined_at:
            raise UsageError(f"{what} {format_local(matched_at, timezone.utc)} is before {email} joined "
                             f"({format_local(joined_at, timezone.utc)}): check the date, or the date they joined "
                             "('mloop participant edit EMAIL --joined WHEN')")


def check_joined_date(joined_at: datetime, *, first_match: tuple[int | str, datetime] | None = None,
                      what: str = "--joined") -> None:
    """A person joins no earlier than 1970, and not after their first loop
    started (``first_match``: that loop and its start)."""
    _before_earliest(joined_at, what)
    if first_match is not None and joined_at > first_match[1]:
        loop, matched_at = first_match
        raise UsageError(f"{what} {format_local(joined_at, timezone.utc)} is after loop {loop} started "
                         f"({format_local(matched_at, timezone.utc)}): they joined by then")


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


def check_agreement(cadence: str, ends_at: datetime | None, matched_at: datetime) -> str:
    """A mentoring agreement's cadence ("2w", "1 month"), read and returned
    stripped, and its end, which comes after the match."""
    cadence = cadence.strip()
    try:
        parse_offset(cadence, what="a meeting cadence", examples=EVERY_EXAMPLES)
    except WhenError as error:
        raise UsageError(str(error)) from None
    if ends_at is not None and ends_at <= matched_at:
        raise UsageError("--ends must be after the match: the agreement runs from the match to its end")
    return cadence


def check_fit_after_first_meeting(loop: int | str, *, held: bool) -> None:
    """A pairing fit is a member's word after the loop's first held meeting."""
    if not held:
        raise Conflict(f"loop {loop} has not held its first meeting yet: a pairing fit comes after it "
                       f"(mark a meeting done with 'mloop meet done MEETING')")


# --- goals and tasks -------------------------------------------------------------------

def check_goal_title(title: str | None) -> str:
    """The title, stripped; an empty one is refused."""
    if not title or not title.strip():
        raise UsageError("a goal needs a title: mloop goal add LOOP 'Give a conference talk'")
    return check_title(title, "goal title")


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
    return check_title(title, "task title")


# --- custom milestones -----------------------------------------------------------------

def check_milestone_definition(name: str | None, *, kind: str, role: str, due: str) -> tuple[str, str, str, str]:
    """(name, kind, role, due) as stored: stripped, the words made canonical, the offset readable."""
    name = check_name(name or "", "milestone name")
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

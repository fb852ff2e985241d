"""Nudges: one message per stalled person, from a template per stage.

Each stage a person can stall in has a built-in template; a program may
replace any of them (``NudgeTemplate``).  Whom to nudge is the coordinator
report's stalled list; anyone nudged in the last ``NUDGE_QUIET_DAYS`` (same
person, same loop) is skipped, so nobody gets two nudges in a week.  Every
message sent is kept as written (``Nudge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import UsageError
from mloop.store.checks import check_text, check_title
from mloop.store.models import Loop, Nudge, NudgeTemplate, Participant, Program

NUDGE_QUIET_DAYS = 7
PLACEHOLDERS = ("name", "first_name", "partner", "loop", "days", "stage", "program", "coordinator")
# Completed is the last stage: nobody stalls there, so it has no nudge.
NUDGE_STAGES = rules.STALL_STAGES  # nobody is nudged once Completed

BUILT_IN: dict[str, tuple[str, str]] = {
    rules.GETTING_STARTED: (
        "{program}: let's find you a match",
        "Hi {first_name},\n\n"
        "You have been waiting {days} days for a match in {program}. Tell us what you would like "
        "to learn or share, and we will find you a partner; reply to this message if anything is in the way.\n\n"
        "{coordinator}\n",
    ),
    rules.MATCHED: (
        "{program}: book your first meeting with {partner}",
        "Hi {first_name},\n\n"
        "You were matched with {partner} (loop {loop}) {days} days ago. The first meeting is the hardest "
        "step: pick a time this week and book it with 'mloop meet schedule'.\n\n"
        "{coordinator}\n",
    ),
    rules.FIRST_MEETING: (
        "{program}: how did your first meeting with {partner} go?",
        "Hi {first_name},\n\n"
        "It has been {days} days since your first meeting with {partner} (loop {loop}). Take two minutes "
        "to give feedback on it with 'mloop feedback give', and book the next one.\n\n"
        "{coordinator}\n",
    ),
    rules.GROW_TOGETHER: (
        "{program}: keep the momentum with {partner}",
        "Hi {first_name},\n\n"
        "Your loop with {partner} (loop {loop}) has been in the same stage for {days} days. Keep the "
        "momentum: book your next meeting and share a goal you are working towards with 'mloop goal share'.\n\n"
        "{coordinator}\n",
    ),
    rules.LEVELLING_UP: (
        "{program}: finish your goals or share your journey",
        "Hi {first_name},\n\n"
        "You and {partner} (loop {loop}) are nearly there: it has been {days} days in this last stretch. "
        "Finish your open goals, or share your journey with 'mloop share' to close the loop.\n\n"
        "{coordinator}\n",
    ),
}


def parse_nudge_stage(text: str) -> str:
    """A stage someone can be nudged in (every stage but completed)."""
    from mloop.store.funnel import parse_stage

    stage = parse_stage(text)
    if stage not in NUDGE_STAGES:
        raise UsageError(f"nobody is nudged at {stage}: use one of {', '.join(NUDGE_STAGES)}")
    return stage


def check_template(text: str, what: str) -> str:
    """``text`` if every placeholder in it is a known one, written plainly as ``{name}``."""
    from string import Formatter

    try:
        fields = list(Formatter().parse(text))
    except ValueError as error:
        raise UsageError(f"the {what} is not a valid template ({error}): write placeholders as {{name}}, "
                         "and a literal brace as {{ or }}") from None
    for _literal, field, spec, conversion in fields:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise UsageError(f"unknown placeholder {{{field}}} in the {what}: use "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return text


def templates(session: Session, program: Program) -> dict[str, dict]:
    """stage -> {"stage", "subject", "body", "custom"}: the program's own where set, else the built-in one."""
    own = {
        stage: (subject, body)
        for stage, subject, body in session.connection().execute(
            sa.select(NudgeTemplate.stage, NudgeTemplate.subject, NudgeTemplate.body)
            .where(NudgeTemplate.program_id == program.id)
        ).all()
    }
    found = {}
    for stage in NUDGE_STAGES:
        subject, body = own.get(stage, BUILT_IN[stage])
        found[stage] = {"stage": stage, "subject": subject, "body": body, "custom": stage in own}
    return found


def check_template_pair(subject: str, body: str) -> None:
    """The checks a program's own template passes: known placeholders, a one-line subject, a body."""
    check_template(subject, "subject")
    check_template(body, "body")
    if not subject.strip() or "\n" in subject or "\r" in subject:
        raise UsageError("the subject must be one non-empty line")
    check_title(subject, "subject")
    check_text(body, "body")
    if not body.strip():
        raise UsageError("the body is empty: write the message in the --body-file")


def set_template(session: Session, program: Program, stage: str, subject: str, body: str) -> dict:
    check_template_pair(subject, body)
    row = _own_template(session, program, stage)
    if row is None:
        row = NudgeTemplate(program_id=program.id, stage=stage, subject=subject, body=body)
    else:
        row.subject, row.body = subject, body
    session.add(row)
    session.flush()
    return {"stage": stage, "subject": subject, "body": body, "custom": True}


def reset_templates(session: Session, program: Program, stage: str | None) -> list[str]:
    """Drop the program's own template for ``stage`` (every stage when None); the stages reset."""
    query = sa.select(NudgeTemplate.stage).where(NudgeTemplate.program_id == program.id)
    if stage is not None:
        query = query.where(NudgeTemplate.stage == stage)
    stages = sorted(session.connection().execute(query).scalars(), key=NUDGE_STAGES.index)
    if stages:
        session.connection().execute(
            sa.delete(NudgeTemplate).where(NudgeTemplate.program_id == program.id, NudgeTemplate.stage.in_(stages))
        )
    return stages


def _own_template(session: Session, program: Program, stage: str) -> NudgeTemplate | None:
    from sqlmodel import select

    return session.exec(
        select(NudgeTemplate).where(NudgeTemplate.program_id == program.id, NudgeTemplate.stage == stage)
    ).first()


@dataclass
class NudgePlan:
    sent: list[dict]  # the messages, in the stalled list's order (longest wait first)
    skipped: list[dict]  # stalled people nudged in the last NUDGE_QUIET_DAYS


def plan_nudges(session: Session, program: Program, now: datetime, *, coordinator: Participant | None,
                stage: str | None = None) -> NudgePlan:
    """The messages to send to the stalled people (at ``stage``), and who is skipped."""
    from mloop.store.funnel import coordinator_report

    document, _ = coordinator_report(session, program, now, stalled=True)
    stalled = [row for row in document["stalled"] if stage is None or row["stage"] == stage]
    if not stalled:
        return NudgePlan([], [])
    conn = session.connection()
    people = {
        email: (person_id, name)
        for person_id, email, name in conn.execute(
            sa.select(Participant.id, Participant.email, Participant.name).where(Participant.program_id == program.id)
        ).all()
    }
    names = {person_id: name for person_id, name in people.values()}
    loop_ids = {row["loop_id"] for row in stalled if row["loop_id"] is not None}
    partners: dict[tuple[int, int], int] = {}
    if loop_ids:
        for loop_id, mentor_id, mentee_id in conn.execute(
            sa.select(Loop.id, Loop.mentor_id, Loop.mentee_id).where(Loop.program_id == program.id)
        ).all():
            if loop_id in loop_ids:
                partners[(loop_id, mentor_id)] = mentee_id
                partners[(loop_id, mentee_id)] = mentor_id
    chosen = templates(session, program)
    signature = coordinator.name if coordinator is not None else f"The {program.name} coordinators"
    sent, skipped = [], []
    for row in stalled:
        person_id, name = people[row["email"]]
        loop_id = row["loop_id"]
        # The report's row says when this person was last nudged for this loop
        # (whole days: fewer than NUDGE_QUIET_DAYS is exactly "within the last week").
        days_ago = row["nudged_days_ago"]
        if days_ago is not None and days_ago < NUDGE_QUIET_DAYS:
            skipped.append({
                "email": row["email"], "name": name, "loop_id": loop_id, "stage": row["stage"],
                "last_nudged_at": row["last_nudged_at"], "nudged_days_ago": days_ago,
            })
            continue
        partner_id = partners.get((loop_id, person_id)) if loop_id is not None else None
        values = {
            "name": name,
            "first_name": name.split()[0] if name.split() else name,
            "partner": names.get(partner_id, "") if partner_id is not None else "",
            "loop": "" if loop_id is None else str(loop_id),
            "days": str(row["days_in_stage"]),
            "stage": rules.STAGE_LABELS[row["stage"]],
            "program": program.name,
            "coordinator": signature,
        }
        template = chosen[row["stage"]]
        sent.append({
            "participant_id": person_id,
            "email": row["email"],
            "name": name,
            "loop_id": loop_id,
            "stage": row["stage"],
            "days_in_stage": row["days_in_stage"],
            "subject": template["subject"].format_map(values),
            "body": template["body"].format_map(values),
        })
    return NudgePlan(sent, skipped)


def record_nudges(session: Session, program: Program, now: datetime, messages: list[dict]) -> None:
    """One ``Nudge`` row per message, as sent."""
    session.add_all([
        Nudge(program_id=program.id, participant_id=m["participant_id"], loop_id=m["loop_id"], stage=m["stage"],
              days_in_stage=m["days_in_stage"], subject=m["subject"], body=m["body"], sent_at=now)
        for m in messages
    ])
    session.flush()


def eml_name(index: int, message: dict) -> str:
    """A message's file name: its place in the run, the address and the loop."""
    loop = "unmatched" if message["loop_id"] is None else f"loop-{message['loop_id']}"
    safe = "".join(c if c.isalnum() or c in "@._+-" else "_" for c in message["email"])
    return f"{index:04d}-{safe}-{loop}.eml"


def as_email(message: dict, now: datetime, sender: Participant | None) -> bytes:
    """The message as an RFC 5322 email (UTF-8), ready to hand to a mail client."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime

    mail = EmailMessage()
    if sender is not None:
        mail["From"] = _address(Address, sender.name, sender.email)
    mail["To"] = _address(Address, message["name"], message["email"])
    mail["Subject"] = message["subject"]
    mail["Date"] = format_datetime(now)
    mail.set_content(message["body"])
    return bytes(mail)


def _address(address_type, name: str, email: str):
    user, _, domain = email.rpartition("@")
    return address_type(display_name=name, username=user, domain=domain)

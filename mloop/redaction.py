"""A redacted export: the program's records with people pseudonymised and free text removed.

A ``Redactor`` maps each record ``export_records`` yields, field by field, by
the treatment ``FIELDS`` names for it: a person's email becomes a pseudonym
(HMAC-SHA256 of the lower-cased email under the export's key), a person's name
becomes "Person" and the same digits, each free text people wrote becomes the
marker ``REDACTED`` (an empty one stays empty, each action one marker), and
profile details that single people out are dropped.  Dates, ratings, stages,
refs and the program's own design (its name, milestones, starter goals, nudge
templates, the skills vocabulary) are kept, so the file imports and gives the
same funnel.

Every field of every record type is named in ``FIELDS``: a field or a type
that is not (one added to the export later) is refused rather than passed on,
so that nothing new reaches a redacted file by default.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from mloop.errors import MloopError

REDACTED = "(redacted)"
PSEUDONYM_DOMAIN = "redacted.example"  # .example is reserved for examples, and email-validator takes it
PSEUDONYM_DIGITS = 16  # 64 bits: a collision among a million people is about one in 36 million

# What happens to a field.
KEEP = "keep"  # the program's design, dates, ratings, states, refs
PERSON = "person"  # an email naming a person: its pseudonym
NAME = "name"  # a participant's name: "Person" and the digits of their email's pseudonym
TEXT = "text"  # free text a person wrote: the marker (empty stays empty)
CALENDAR_ID = "calendar id"  # a meeting's calendar UID or series: may come from someone's calendar, so hashed
DROP = "drop"  # a profile detail that singles a person out

FIELDS: dict[str, dict[str, str]] = {
    "program": {"type": KEEP, "name": KEEP, "stall_days": KEEP, "momentum_meetings": KEEP,
                "stage_stall_days": KEEP, "health_weights": KEEP, "min_group": KEEP},
    "starter_goal": {"type": KEEP, "title": KEEP, "term": KEEP, "locked": KEEP, "created_at": KEEP},
    "milestone": {"type": KEEP, "name": KEEP, "kind": KEEP, "role": KEEP, "due": KEEP, "description": KEEP},
    "participant": {"type": KEEP, "email": PERSON, "name": NAME, "roles": KEEP, "joined_at": KEEP, "capacity": KEEP,
                    "offers": KEEP, "seeks": KEEP, "timezone": DROP, "department": DROP, "goals": DROP,
                    "db_role": DROP},
    "match": {"type": KEEP, "ref": KEEP, "mentor": PERSON, "mentee": PERSON, "matched_at": KEEP, "ended_at": KEEP,
              "outcome": KEEP, "end_reason": TEXT},
    "meeting": {"type": KEEP, "ref": KEEP, "loop": KEEP, "start": KEEP, "duration_min": KEEP, "status": KEEP,
                "created_at": KEEP, "agenda": TEXT, "notes": TEXT, "where": TEXT, "actions": TEXT,
                "uid": CALENDAR_ID, "sequence": KEEP, "series": CALENDAR_ID},
    "goal": {"type": KEEP, "ref": KEEP, "loop": KEEP, "title": TEXT, "term": KEEP, "created_at": KEEP,
             "shared_at": KEEP, "completed_at": KEEP, "due": KEEP, "locked": KEEP, "author": PERSON},
    "task": {"type": KEEP, "goal": KEEP, "title": TEXT, "due": KEEP, "done_at": KEEP},
    "feedback": {"type": KEEP, "loop": KEEP, "meeting": KEEP, "author": PERSON, "rating": KEEP, "created_at": KEEP,
                 "comment": TEXT},
    "share": {"type": KEEP, "loop": KEEP, "author": PERSON, "created_at": KEEP},
    "milestone_done": {"type": KEEP, "milestone": KEEP, "loop": KEEP, "by": PERSON, "done_at": KEEP},
    "agreement": {"type": KEEP, "loop": KEEP, "notes_by": KEEP, "agenda_by": KEEP, "cadence": KEEP, "ends_at": KEEP,
                  "by": PERSON, "created_at": KEEP, "updated_at": KEEP},
    "fit": {"type": KEEP, "loop": KEEP, "author": PERSON, "fit": KEEP, "created_at": KEEP},
    "nudge_template": {"type": KEEP, "stage": KEEP, "subject": KEEP, "body": KEEP},
    # A nudge as sent greets its person and names their partner.
    "nudge": {"type": KEEP, "email": PERSON, "loop": KEEP, "stage": KEEP, "days_in_stage": KEEP, "subject": TEXT,
              "body": TEXT, "sent_at": KEEP},
}


def new_key() -> bytes:
    """A key for one export only: its pseudonyms match no other export's."""
    return secrets.token_bytes(32)


class Redactor:
    """Maps exported records to their redacted form under one key."""

    def __init__(self, key: bytes):
        self.key = key
        self.digits: dict[str, str] = {}  # email key -> its pseudonym's digits
        self.owners: dict[str, str] = {}  # digits -> the email key they were made for

    def person_digits(self, email: str) -> str:
        """The pseudonym's hex digits for a person, the same for every record of the export."""
        email_key = email.lower()
        digits = self.digits.get(email_key)
        if digits is None:
            digits = hmac.new(self.key, email_key.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_DIGITS]
            if self.owners.setdefault(digits, email_key) != email_key:
                raise MloopError("two people got the same pseudonym; export again with another --key")
            self.digits[email_key] = digits
        return digits

    def email(self, email: str) -> str:
        return f"person-{self.person_digits(email)}@{PSEUDONYM_DOMAIN}"

    def calendar_id(self, value: str) -> str:
        return hmac.new(self.key, b"calendar:" + value.encode(), hashlib.sha256).hexdigest()[:32] + "@mloop"

    def record(self, record: dict) -> dict:
        kind = record.get("type")
        fields = FIELDS.get(kind)
        if fields is None:
            raise MloopError(f"unexpected record type {kind!r} in a redacted export; report it")
        redacted = {}
        for name, value in record.items():
            treatment = fields.get(name)
            if treatment is None:
                raise MloopError(f"unexpected field {name!r} of a {kind} record in a redacted export; report it")
            if treatment == DROP:
                continue
            if value is None or treatment == KEEP:
                redacted[name] = value
            elif treatment == PERSON:
                redacted[name] = self.email(value)
            elif treatment == NAME:
                redacted[name] = f"Person {self.person_digits(record['email'])}"
            elif treatment == TEXT:
                redacted[name] = [REDACTED for _ in value] if isinstance(value, list) else (REDACTED if value else value)
            else:  # CALENDAR_ID
                redacted[name] = self.calendar_id(value)
        return redacted

    def records(self, records):
        for record in records:
            yield self.record(record)

"""People: add, list, show and import from a spreadsheet (CSV) or JSON Lines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from mloop.rules import COORDINATOR, MENTEE, MENTOR, PARTICIPANT_ROLES
from mloop.errors import BadFile, Conflict, UsageError
from mloop.store.access import email_key, find_participant
from mloop.store.checks import NAME_LIMIT, check_email, check_joined_date, check_line, check_name, check_text
from mloop.store.models import Participant, Program

def split_skills(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;]", str(value))
    skills = []
    for item in items:
        skill = check_line(str(item), "skill", limit=NAME_LIMIT).lower()
        if skill and skill not in skills:
            skills.append(skill)
    return skills


def join_skills(skills: Iterable[str]) -> str:
    return ",".join(skills)


def skills_of(text: str) -> list[str]:
    return [s for s in text.split(",") if s]


def roles_of(person: Participant) -> list[str]:
    return [
        role
        for role, flag in (
            ("mentor", person.is_mentor),
            ("mentee", person.is_mentee),
            ("coordinator", person.is_coordinator),
        )
        if flag
    ]


def parse_roles(value) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;/ ]+", str(value or ""))
    roles = []
    for item in items:
        role = str(item).strip().lower()
        if not role:
            continue
        if role not in PARTICIPANT_ROLES:
            raise UsageError(f"unknown role {item!r}: use mentor, mentee or coordinator")
        if role not in roles:
            roles.append(role)
    if not roles:
        raise UsageError("a participant needs a role: mentor, mentee or coordinator")
    return roles


@dataclass
class NewPerson:
    name: str
    email: str
    roles: list[str]
    joined_at: datetime
    capacity: int = 1
    offers: list[str] | None = None
    seeks: list[str] | None = None
    timezone: str | None = None
    department: str | None = None
    goals: str | None = None
    db_role: str | None = None  # their PostgreSQL login role, when not their email


PROFILE_LIMITS = {"timezone": 64, "department": 200}


def check_timezone(name: str | None) -> str | None:
    """An IANA time zone name as given (None for none), or a usage error."""
    if name is None or not name.strip():
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"time zone {name!r} is not known: use an IANA name such as Europe/Lisbon or America/New_York") from None
    return name


def optional_text(value, what: str) -> str | None:
    """Free text for a profile field: stripped, None when empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text, not {value!r}")
    value = check_text(value, what).strip()
    limit = PROFILE_LIMITS.get(what)
    if limit is not None and len(value) > limit:
        raise UsageError(f"{what} is too long ({len(value)} characters; at most {limit})")
    return value or None


def check_person(new: NewPerson, *, joined_what: str = "--joined") -> None:
    """Checks a new person, and puts their name and email in the form they are stored in."""
    new.name = check_name(new.name or "")
    if not new.name:
        raise UsageError("a participant needs a name: --name 'Ana Lima'")
    new.email = check_email(new.email)
    check_joined_date(new.joined_at, what=joined_what)
    if new.capacity < 0:
        raise UsageError(f"capacity must be 0 or more, not {new.capacity}")
    new.timezone = check_timezone(optional_text(new.timezone, "timezone"))
    new.department = optional_text(new.department, "department")
    new.goals = optional_text(new.goals, "goals")
    if new.db_role is not None:
        from mloop.store.pgsecurity import check_role_name

        new.db_role = check_role_name(new.db_role)


def check_role_free(session: Session, program: Program, role: str, email: str) -> None:
    """One login role is one participant of a program: refuse a role (a db_role,
    or an email when no db_role is given) that already names someone else."""
    taken = session.exec(select(Participant.email).where(
        Participant.program_id == program.id,
        func.coalesce(Participant.db_role, Participant.email_key) == role,
        Participant.email_key != email_key(email),
    )).first()
    if taken is not None:
        raise Conflict(f"database role {role!r} is already {taken}'s in {program.name}: give another --db-role")


def add_participant(session: Session, program: Program, new: NewPerson) -> Participant:
    check_person(new)
    if find_participant(session, program, new.email) is not None:
        raise Conflict(
            f"{new.email} is already in {program.name}: see 'mloop participant show {new.email.strip()}'"
        )
    check_role_free(session, program, new.db_role or email_key(new.email), new.email)
    person = Participant(
        program_id=program.id,
        email=new.email.strip(),
        email_key=email_key(new.email),
        name=new.name.strip(),
        is_mentor="mentor" in new.roles,
        is_mentee="mentee" in new.roles,
        is_coordinator="coordinator" in new.roles,
        joined_at=new.joined_at,
        capacity=new.capacity,
        offers=join_skills(new.offers or []),
        seeks=join_skills(new.seeks or []),
        timezone=new.timezone,
        department=new.department,
        goals=new.goals,
        db_role=new.db_role,
    )
    session.add(person)
    session.flush()
    return person


def list_participants(session: Session, program: Program, role: str | None = None) -> list[Participant]:
    query = select(Participant).where(Participant.program_id == program.id)
    if role == "mentor":
        query = query.where(Participant.is_mentor)
    elif role == "mentee":
        query = query.where(Participant.is_mentee)
    elif role == "coordinator":
        query = query.where(Participant.is_coordinator)
    elif role is not None:
        raise UsageError(f"unknown role {role!r}: use mentor, mentee or coordinator")
    return list(session.exec(query.order_by(Participant.name, Participant.id)))


def person_record(person: Participant) -> dict:
    return {
        "email": person.email,
        "name": person.name,
        "roles": roles_of(person),
        "joined_at": person.joined_at,
        "capacity": person.capacity,
        "offers": skills_of(person.offers),
        "seeks": skills_of(person.seeks),
        # The matching profile appears only when set, so older outputs keep their shape.
        **{key: value for key, value in (
            ("timezone", person.timezone), ("department", person.department), ("goals", person.goals),
            ("db_role", person.db_role),
        ) if value is not None},
    }


@dataclass
class ProfileChanges:
    """What 'participant edit' changes; None leaves a field as it is, "" clears an optional one."""

    name: str | None = None
    capacity: int | None = None
    offers: str | None = None
    seeks: str | None = None
    timezone: str | None = None
    department: str | None = None
    goals: str | None = None
    joined_at: datetime | None = None

    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


def edit_participant(session: Session, program: Program, who, email: str, changes: ProfileChanges) -> Participant:
    """Change a profile: coordinators edit anyone's; a person edits their own, except capacity."""
    from mloop.errors import Forbidden
    from mloop.store.access import get_participant

    if changes.empty():
        raise UsageError("nothing to change: give --name, --capacity, --offers, --seeks, --timezone, --department, "
                         "--goals or --joined")
    person = get_participant(session, program, email)
    own = who.person is not None and who.person.id == person.id
    if not who.is_coordinator:
        if not own:
            raise Forbidden(f"{who.label()} cannot edit {person.email}'s profile: only a coordinator or the person themselves can")
        if changes.capacity is not None:
            raise Forbidden("a person's capacity is set by a coordinator: ask one to change it")
        if changes.joined_at is not None:
            raise Forbidden("the date a person joined is set by a coordinator: ask one to change it")
    if changes.name is not None:
        name = check_name(changes.name)
        if not name:
            raise UsageError("a participant needs a name: --name 'Ana Lima'")
        person.name = name
    if changes.capacity is not None:
        if changes.capacity < 0:
            raise UsageError(f"capacity must be 0 or more, not {changes.capacity}")
        person.capacity = changes.capacity
    if changes.offers is not None:
        person.offers = join_skills(split_skills(changes.offers))
    if changes.seeks is not None:
        person.seeks = join_skills(split_skills(changes.seeks))
    if changes.timezone is not None:
        person.timezone = check_timezone(optional_text(changes.timezone, "timezone"))
    if changes.department is not None:
        person.department = optional_text(changes.department, "department")
    if changes.goals is not None:
        person.goals = optional_text(changes.goals, "goals")
    if changes.joined_at is not None:
        check_joined_date(changes.joined_at, first_match=first_match(session, person))
        person.joined_at = changes.joined_at
    session.add(person)
    session.flush()
    return person


# --- import -----------------------------------------------------------------

# Words a people list may use for roles (hosted platforms write "Mentor", "Both",
# "Mentor & Mentee", "Program Manager"...): each stands for one or more of mloop's roles.
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    MENTOR: (MENTOR,),
    MENTEE: (MENTEE,),
    "both": (MENTOR, MENTEE),
    COORDINATOR: (COORDINATOR,),
    "admin": (COORDINATOR,),
    "administrator": (COORDINATOR,),
    "program manager": (COORDINATOR,),
    "programme manager": (COORDINATOR,),
}
_ROLE_SEPARATORS = re.compile(r"\s*(?:[,;/&+|]|\band\b)\s*", re.IGNORECASE)


def parse_role_words(value) -> list[str]:
    """The roles of a spreadsheet cell such as 'Mentor', 'mentees', 'Both' or
    'Mentor & Mentee' (words of ROLE_WORDS, case and plural forgiven, joined by
    , ; / & + or 'and'), or a usage error naming the word that is not one."""
    def meaning(word: str) -> tuple[str, ...] | None:
        return ROLE_WORDS.get(word) or (ROLE_WORDS.get(word[:-1]) if word.endswith("s") else None)

    roles: list[str] = []
    for item in _ROLE_SEPARATORS.split(str(value or "")):
        words = item.lower().split()
        if not words:
            continue
        # 'program manager' is one word of ROLE_WORDS; 'mentor mentee' (as mloop's CSV took it) two
        found = meaning(" ".join(words))
        meanings = [found] if found else [meaning(word) for word in words]
        if None in meanings:
            raise UsageError(f"unknown role {item.strip()!r}: use {', '.join(ROLE_WORDS)} "
                             "(several joined by , ; / or &)")
        roles += [role for each in meanings for role in each if role not in roles]
    if not roles:
        raise UsageError("a participant needs a role: mentor, mentee, both or coordinator")
    return roles


# The fields a CSV column can fill, and whether several columns joined with '+' in
# --map may fill it (joined by this text).
PEOPLE_FIELDS: dict[str, str | None] = {
    "name": " ", "email": None, "role": None, "capacity": None, "offers": ",", "seeks": ",",
    "joined_at": None, "timezone": None, "department": " ", "goals": " ", "db_role": None,
}
REQUIRED_FIELDS = ("name", "email", "role")

# Header spellings recognised without --map, compared by header_key().  first_name and
# last_name are not fields: together (or either alone) they make the name.
HEADER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "display name"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "email": ("email", "e-mail", "email address", "e-mail address", "work email"),
    "role": ("role", "roles", "type", "participant type", "user type", "program role"),
    "capacity": ("capacity", "max mentees", "mentee capacity", "mentor capacity", "max matches"),
    "offers": ("offers", "skills offered", "expertise"),
    "seeks": ("seeks", "skills sought", "development areas", "interests"),
    "joined_at": ("joined_at", "joined", "date joined", "joined date", "signup date", "sign-up date"),
    "timezone": ("timezone", "time zone"),
    "department": ("department", "team", "business unit"),
    "goals": ("goals",),
    "db_role": ("db_role", "database role"),
}


def header_key(header: str) -> str:
    """A header as compared: case, spaces, underscores, hyphens and punctuation
    dropped, so 'E-mail', 'Email Address' and 'email_address' meet their spelling."""
    return re.sub(r"[\W_]+", "", header.casefold())


_HEADER_FIELD = {header_key(s): field for field, spellings in HEADER_SPELLINGS.items() for s in spellings}


def recognised_field(header: str) -> str | None:
    """The field (or first_name/last_name) a header is recognised as without --map."""
    return _HEADER_FIELD.get(header_key(header))


def parse_column_map(specs: Iterable[str]) -> dict[str, str]:
    """--map items ('First Name+Last Name=name,Email Address=email'; comma-separated,
    the option repeatable, a header with a comma in double quotes) as field -> the
    columns' text (split on '+' later, when the file's header is known)."""
    import csv

    mapping: dict[str, str] = {}
    for spec in specs:
        for item in next(csv.reader([spec], skipinitialspace=True), []):
            if not item.strip():
                continue
            columns, equals, field = item.rpartition("=")
            field = field.strip().lower()
            if not equals or not columns.strip():
                raise UsageError(f"--map item {item!r} needs the form Header=field, such as 'Email Address=email'")
            field = "role" if field == "roles" else field
            if field not in PEOPLE_FIELDS:
                raise UsageError(f"--map: unknown field {field!r} in {item!r}: use {', '.join(PEOPLE_FIELDS)}")
            if field in mapping:
                raise UsageError(f"--map gives {field} twice ({mapping[field]!r} and {columns.strip()!r}): keep one")
            mapping[field] = columns.strip()
    return mapping


@dataclass
class CsvColumns:
    """Which columns fill which field, and the columns nothing reads."""

    sources: dict[str, list[int]]
    ignored: list[str]


def plan_columns(header: list[str], column_map: dict[str, str], path: str) -> CsvColumns:
    """Columns named by --map first, then the recognised headers of the rest.
    A --map naming a missing column is a usage error; two columns recognised as
    one field, or a header lacking a required field, a BadFile on line 1."""
    sources: dict[str, list[int]] = {}
    taken: set[int] = set()
    for field, columns in column_map.items():
        found = _find_column(header, columns, path)
        if found is not None:
            indexes = [found]
        else:
            indexes = []
            for part in columns.split("+"):
                index = _find_column(header, part.strip(), path)
                if index is None:
                    raise UsageError(f"--map: {path} has no column {part.strip()!r}; its columns are "
                                     f"{', '.join(repr(h) for h in header)}")
                indexes.append(index)
            if len(indexes) > 1 and PEOPLE_FIELDS[field] is None:
                raise UsageError(f"--map: {field} comes from one column, not {columns!r}; joining with + is for "
                                 f"{', '.join(f for f, joiner in PEOPLE_FIELDS.items() if joiner)}")
        sources[field] = indexes
        taken.update(indexes)

    recognised: dict[str, list[int]] = {}
    ignored: list[str] = []
    for index, text in enumerate(header):
        if index in taken or not text.strip():
            continue
        field = recognised_field(text)
        fills = "name" if field in ("first_name", "last_name") else field
        if field is None or fills in sources:
            ignored.append(text.strip())
        else:
            recognised.setdefault(field, []).append(index)
    for field, indexes in recognised.items():
        if len(indexes) > 1:
            _both_fill(header, indexes[0], indexes[1], field)
    name_parts = [i for part in ("first_name", "last_name") for i in recognised.pop(part, [])]
    if name_parts and "name" in recognised:
        _both_fill(header, recognised["name"][0], name_parts[0], "name",
                   choice="+".join(header[i].strip() for i in name_parts))
    if name_parts:
        recognised["name"] = name_parts
    sources.update(recognised)

    missing = sorted(field for field in REQUIRED_FIELDS if field not in sources)
    if missing:
        unread = f"; columns not recognised: {', '.join(ignored)}" if ignored else ""
        raise BadFile(
            f"line 1: the CSV header lacks {', '.join(missing)}: it needs name,email,role "
            f"(optional: {','.join(f for f in PEOPLE_FIELDS if f not in REQUIRED_FIELDS)}){unread}; "
            f"name the columns with --map 'HEADER={missing[0]}'"
        )
    return CsvColumns(sources, ignored)


def _find_column(header: list[str], wanted: str, path: str) -> int | None:
    """The column a --map header names: exactly as written, else by header_key()."""
    for same in (lambda h: h.strip() == wanted, lambda h: header_key(h) == header_key(wanted) != ""):
        found = [i for i, h in enumerate(header) if same(h)]
        if len(found) > 1:
            raise UsageError(f"--map: {path} has {len(found)} columns called {wanted!r}: rename one in the file")
        if found:
            return found[0]
    return None


def _both_fill(header: list[str], first: int, second: int, field: str, *, choice: str | None = None):
    """Two columns recognised as one field: an error, for mloop does not guess which."""
    a, b = header[first].strip(), header[second].strip()
    target = "name" if field in ("first_name", "last_name") else field
    raise BadFile(f"line 1: columns {a!r} and {b!r} both give the {field.replace('_', ' ')}: "
                  f"choose with --map '{choice or b}={target}'")


@dataclass
class PeopleFile:
    """The people of a file, each with their line, and the CSV columns left unread."""

    people: list[tuple[int, NewPerson]]
    ignored_columns: list[str]


def read_people_file(path: str, text: str, *, now: datetime, tz, column_map: dict[str, str] | None = None) -> PeopleFile:
    """Parse a CSV (a header row with mloop's names, other platforms' spellings or
    the columns ``column_map`` names; comma-, semicolon- or tab-separated; UTF-8
    with or without BOM; any line ending) or JSON Lines file of people.  Raises
    BadFile naming the line of the first bad record: all or nothing."""
    text = text.lstrip("\ufeff")
    is_jsonl = path.lower().endswith((".jsonl", ".ndjson", ".json"))
    if is_jsonl and column_map:
        raise UsageError(f"--map is for CSV files, and {path} is JSON Lines: its fields have mloop's names")
    if not is_jsonl and not (path.lower().endswith(".csv") or path == "-"):
        raise UsageError(f"cannot tell the format of {path}: name it .csv or .jsonl")
    people = []
    ignored: list[str] = []
    seen: dict[str, int] = {}
    try:
        if is_jsonl:
            rows = _jsonl_rows(text)
        else:
            rows, ignored = _csv_rows(text, column_map or {}, path)
        for line, raw in rows:
            try:
                person = _person_from_raw(raw, now=now, tz=tz, role_words=not is_jsonl)
                check_person(person, joined_what="joined_at")
            except UsageError as error:
                raise BadFile(f"line {line}: {error}") from None
            key = email_key(person.email)
            if key in seen:
                raise BadFile(f"line {line}: {person.email} already appears on line {seen[key]}")
            seen[key] = line
            people.append((line, person))
    except BadFile as error:
        raise BadFile(f"{path} {error}; nothing was imported") from None
    return PeopleFile(people, ignored)


def _jsonl_rows(text: str):
    import json

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise BadFile(f"line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(raw, dict):
            raise BadFile(f"line {number}: expected a JSON object")
        if raw.get("type", "participant") != "participant":
            continue
        yield number, raw


def sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon (Excel in much of Europe) or tab: whichever splits the
    header line into the most columns; a comma when they tie."""
    import csv

    counts = {d: len(next(csv.reader([header_line], delimiter=d), [])) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _csv_rows(text: str, column_map: dict[str, str], path: str):
    """The rows of a CSV as (line, {field: text}) and the ignored columns' headers;
    the header is read (and checked) at once, the rows as they are iterated."""
    import csv
    import io

    first_line = next(iter(text.splitlines()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        header = next(reader)
    except StopIteration:
        raise BadFile("line 1: the file is empty; it needs a header row with name,email,role") from None
    except csv.Error as error:
        raise BadFile(f"line 1: not valid CSV ({error})") from None
    columns = plan_columns(header, column_map, path)

    def rows():
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(header):
                    raise BadFile(f"line {reader.line_num}: {len(row)} cells, but the header has {len(header)}")
                raw = {}
                for field, indexes in columns.sources.items():
                    cells = [row[i] for i in indexes if i < len(row)]  # a short row lacks its last fields
                    if len(cells) == 1 and len(indexes) == 1:
                        raw[field] = cells[0]
                    elif cells:
                        raw[field] = PEOPLE_FIELDS[field].join(cell.strip() for cell in cells if cell.strip())
                yield reader.line_num, raw
        except csv.Error as error:
            raise BadFile(f"line {reader.line_num}: not valid CSV ({error})") from None

    return rows(), columns.ignored


def _person_from_raw(raw: dict, *, now: datetime, tz, role_words: bool = False) -> NewPerson:
    """A person from a record's fields; ``role_words`` takes a spreadsheet's role
    words ('Both', 'Mentors', 'Mentor & Mentee') as well as mloop's roles."""
    from mloop.timeparse import WhenError, parse_iso

    roles = raw.get("roles", raw.get("role"))
    capacity = raw.get("capacity")
    if isinstance(capacity, str):
        capacity = capacity.strip()
    if capacity in (None, ""):
        capacity = 1
    try:
        capacity = int(capacity)
    except (TypeError, ValueError):
        raise UsageError(f"capacity {capacity!r} is not a whole number") from None
    joined = raw.get("joined_at")
    if joined:
        try:
            joined = parse_iso(str(joined), tz)
        except WhenError as error:
            raise UsageError(str(error)) from None
    email = raw.get("email")
    if not isinstance(email, str):
        raise UsageError("a participant needs an email")
    name = raw.get("name")
    return NewPerson(
        name=str(name) if name is not None else "",
        email=email,
        roles=parse_role_words(roles) if role_words else parse_roles(roles),
        joined_at=joined or now,
        capacity=capacity,
        offers=split_skills(raw.get("offers")),
        seeks=split_skills(raw.get("seeks")),
        timezone=raw.get("timezone"),
        department=raw.get("department"),
        goals=raw.get("goals"),
        db_role=raw.get("db_role") or None,
    )


def import_people(session: Session, program: Program, people: list[tuple[int, NewPerson]], path: str) -> list[Participant]:
    added = []
    for line, new in people:
        if find_participant(session, program, new.email) is not None:
            raise Conflict(f"{path} line {line}: {new.email} is already in {program.name}; nothing was imported")
        added.append(add_participant(session, program, new))
    return added


def active_loop_count(session: Session, person: Participant, now: datetime, *, as_mentee: bool = False) -> int:
    """Active loops the person has as of ``now``, as a mentor (or as a mentee)."""
    from mloop.store.access import loop_active_at
    from mloop.store.models import Loop

    member = Loop.mentee_id if as_mentee else Loop.mentor_id
    return session.exec(select(func.count()).where(member == person.id, loop_active_at(now))).one()


def first_match(session: Session, person: Participant) -> tuple[int, datetime] | None:
    """The person's earliest loop, as a mentor or a mentee: its id and start."""
    from sqlmodel import or_

    from mloop.store.models import Loop

    return session.exec(
        select(Loop.id, Loop.matched_at).where(or_(Loop.mentor_id == person.id, Loop.mentee_id == person.id))
        .order_by(Loop.matched_at, Loop.id).limit(1)
    ).first()

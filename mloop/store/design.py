"""A program's design as a file: what `mloop program dump` writes and
`mloop program apply` reads.

The design is what a coordinator sets up rather than what participants do:
the stall thresholds, the momentum for Levelling Up, the custom milestones,
the starter goals and the program's own nudge texts.  ``read_design`` gathers
it from the store as plain data, ``to_toml``/``parse`` turn it into TOML and
back, ``plan`` lists what applying a design would change, and ``apply`` makes
those changes through the same functions the single commands use, so a design
file passes exactly the checks `program set`, `milestone define`, `program goal
add` and `coordinator nudge-template set` apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import BadFile, Conflict
from mloop.store.access import Actor, require_coordinator
from mloop.store.milestones import define_milestone, list_milestones
from mloop.store.models import MilestoneDone, NudgeTemplate, Program
from mloop.store.nudges import NUDGE_STAGES, check_template_pair, set_template
from mloop.store.programs import (
    add_starter_goal, list_starter_goals, own_health_weights, stage_stall_days, update_program,
)

HEADER = "# A mloop program design: review it, keep it in version control, apply it with\n# 'mloop program apply FILE' (add --dry-run to see the changes first).\n"

# What each table of the file may hold, and the kind of each value.
PROGRAM_KEYS = {"name": str, "stall_days": int, "momentum_meetings": int, "stage_stall_days": dict,
                "health_weights": dict, "min_group": int}
MILESTONE_KEYS = {"name": str, "kind": str, "role": str, "due": str, "description": str}
STARTER_KEYS = {"title": str, "term": str, "locked": bool}
TEMPLATE_KEYS = {"subject": str, "body": str}
TOP_KEYS = ("program", "milestone", "starter_goal", "nudge_template")


def read_design(session: Session, program: Program) -> dict:
    """The program's design as plain data, in the file's order."""
    milestones = []
    for m in list_milestones(session, program):
        record = {"name": m.name, "kind": m.kind, "role": m.role, "due": m.due}
        if m.description:
            record["description"] = m.description
        milestones.append(record)
    own = {
        stage: {"subject": subject, "body": body}
        for stage, subject, body in session.connection().execute(
            sa.select(NudgeTemplate.stage, NudgeTemplate.subject, NudgeTemplate.body)
            .where(NudgeTemplate.program_id == program.id)
        ).all()
    }
    return {
        "program": {
            "name": program.name,
            "stall_days": program.stall_days,
            "momentum_meetings": program.momentum_meetings,
            "stage_stall_days": stage_stall_days(program),
            "health_weights": own_health_weights(program),
            "min_group": program.min_group,
        },
        "milestone": milestones,
        "starter_goal": [{"title": g.title, "term": g.term, "locked": g.locked}
                         for g in list_starter_goals(session, program)],
        "nudge_template": {stage: own[stage] for stage in NUDGE_STAGES if stage in own},
    }


def empty_design(name: str) -> dict:
    """The design of a new program called ``name``: the defaults, nothing of its own."""
    return {
        "program": {"name": name, "stall_days": rules.DEFAULT_STALL_DAYS,
                    "momentum_meetings": rules.DEFAULT_MOMENTUM_MEETINGS, "stage_stall_days": {},
                    "health_weights": {}, "min_group": 0},
        "milestone": [], "starter_goal": [], "nudge_template": {},
    }


def to_toml(design: dict) -> str:
    """The design as a TOML document (empty tables and lists, and a min_group that is off, left out)."""
    import tomli_w

    document = {key: value for key, value in design.items() if value}
    document["program"] = {key: value for key, value in document["program"].items()
                           if value != {} and not (key == "min_group" and value == 0)}
    return HEADER + "\n" + tomli_w.dumps(document, multiline_strings=True)


def parse(text: str, source: str) -> dict:
    """A design file's content as the plain data ``read_design`` gives, or
    one line saying what is wrong and where."""
    import tomllib

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadFile(f"{source}: not valid TOML ({error})") from None
    unknown = [key for key in document if key not in TOP_KEYS]
    if unknown:
        raise BadFile(f"{source}: unknown table {unknown[0]!r}: a design has {', '.join(TOP_KEYS)}")
    program = _table(document.get("program"), PROGRAM_KEYS, f"{source}: [program]")
    if "name" not in program or not program["name"].strip():
        raise BadFile(f"{source}: [program] needs a name")
    stage_days = program.get("stage_stall_days", {})
    for stage, days in stage_days.items():
        if stage not in rules.STALL_STAGES:
            raise BadFile(f"{source}: [program.stage_stall_days] unknown stage {stage!r}: use one of "
                          f"{', '.join(rules.STALL_STAGES)}")
        if not _whole(days) or days < 1:
            raise BadFile(f"{source}: [program.stage_stall_days] {stage} must be a whole number of days of at least 1")
    weights = program.get("health_weights", {})
    for part, weight in weights.items():
        if part not in rules.HEALTH_PARTS:
            raise BadFile(f"{source}: [program.health_weights] unknown part {part!r}: use one of "
                          f"{', '.join(rules.HEALTH_PARTS)}")
        if not _whole(weight) or not 0 <= weight <= 1000:
            raise BadFile(f"{source}: [program.health_weights] {part} must be a whole number from 0 to 1000")
    for key in ("stall_days", "momentum_meetings"):
        if key in program and program[key] < 1:
            raise BadFile(f"{source}: [program] {key} must be at least 1, not {program[key]}")
    if not 0 <= program.get("min_group", 0) <= rules.MAX_MIN_GROUP:
        raise BadFile(f"{source}: [program] min_group must be 0 to {rules.MAX_MIN_GROUP} (0 or 1: show every count), "
                      f"not {program['min_group']}")
    milestones = [_table(m, MILESTONE_KEYS, f"{source}: [[milestone]] {i}") for i, m in
                  enumerate(_list(document.get("milestone"), f"{source}: milestone"), 1)]
    for i, m in enumerate(milestones, 1):
        missing = [key for key in ("name", "kind", "role", "due") if key not in m]
        if missing:
            raise BadFile(f"{source}: [[milestone]] {i} needs {', '.join(missing)}")
    for m in milestones:
        m["name"] = m["name"].strip()
    _no_twice([m["name"] for m in milestones], f"{source}: milestone")
    starters = [_table(g, STARTER_KEYS, f"{source}: [[starter_goal]] {i}") for i, g in
                enumerate(_list(document.get("starter_goal"), f"{source}: starter_goal"), 1)]
    for i, g in enumerate(starters, 1):
        if "title" not in g:
            raise BadFile(f"{source}: [[starter_goal]] {i} needs a title")
        g.setdefault("term", rules.TERMS[0])
        g.setdefault("locked", False)
    _no_twice([g["title"].strip() for g in starters], f"{source}: starter goal")
    templates_in = document.get("nudge_template", {})
    if not isinstance(templates_in, dict):
        raise BadFile(f"{source}: nudge_template must be a table of stages")
    templates = {}
    for stage, template in templates_in.items():
        if stage not in NUDGE_STAGES:
            raise BadFile(f"{source}: [nudge_template.{stage}] unknown stage: use one of {', '.join(NUDGE_STAGES)}")
        template = _table(template, TEMPLATE_KEYS, f"{source}: [nudge_template.{stage}]")
        if set(template) != set(TEMPLATE_KEYS):
            raise BadFile(f"{source}: [nudge_template.{stage}] needs a subject and a body")
        templates[stage] = template
    return {
        "program": {
            "name": program["name"].strip(),
            "stall_days": program.get("stall_days", rules.DEFAULT_STALL_DAYS),
            "momentum_meetings": program.get("momentum_meetings", rules.DEFAULT_MOMENTUM_MEETINGS),
            "stage_stall_days": {stage: stage_days[stage] for stage in rules.STAGES if stage in stage_days},
            "health_weights": {part: weights[part] for part in rules.HEALTH_PARTS if part in weights},
            "min_group": program.get("min_group", 0),
        },
        "milestone": milestones,
        "starter_goal": starters,
        "nudge_template": {stage: templates[stage] for stage in NUDGE_STAGES if stage in templates},
    }


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _table(value: Any, keys: dict[str, type], where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadFile(f"{where} must be a table")
    for key, item in value.items():
        if key not in keys:
            raise BadFile(f"{where}: unknown key {key!r}: use {', '.join(keys)}")
        kind = keys[key]
        fits = _whole(item) if kind is int else isinstance(item, kind)
        if not fits:
            word = {int: "a whole number", str: "a string", bool: "true or false", dict: "a table"}[kind]
            raise BadFile(f"{where}: {key} must be {word}")
    return dict(value)


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadFile(f"{where} must be an array of tables ([[...]])")
    return value


def _no_twice(names: list[str], what: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise BadFile(f"{what} {name!r} is given twice")
        seen.add(name)


@dataclass(frozen=True)
class Change:
    """One difference between the store and a design: ``action`` is add, change or remove."""

    action: str
    what: str
    detail: str = ""

    def record(self) -> dict:
        return {"action": self.action, "what": self.what, "detail": self.detail}

    def line(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        return f"{sign} {self.what}" + (f": {self.detail}" if self.detail else "")


def plan(current: dict, wanted: dict) -> list[Change]:
    """What applying ``wanted`` to a program whose design is ``current`` changes, in the file's order."""
    changes: list[Change] = []
    before, after = current["program"], wanted["program"]
    for key in ("stall_days", "momentum_meetings", "min_group"):
        if before[key] != after[key]:
            changes.append(Change("change", key, f"{before[key]} -> {after[key]}"))
    for stage in rules.STALL_STAGES:
        old, new = before["stage_stall_days"].get(stage), after["stage_stall_days"].get(stage)
        if old != new:
            changes.append(Change("change", f"stall days at {stage}", f"{old or 'default'} -> {new or 'default'}"))
    for part in rules.HEALTH_PARTS:
        old, new = before["health_weights"].get(part), after["health_weights"].get(part)
        if old != new:
            changes.append(Change("change", f"health weight of {part}",
                                  f"{'default' if old is None else old} -> {'default' if new is None else new}"))
    changes += _diff_named(current["milestone"], wanted["milestone"], "name", "milestone")
    changes += _diff_named(current["starter_goal"], wanted["starter_goal"], "title", "starter goal")
    for stage in NUDGE_STAGES:
        old, new = current["nudge_template"].get(stage), wanted["nudge_template"].get(stage)
        if old == new:
            continue
        if old is None:
            changes.append(Change("add", f"nudge template {stage}", new["subject"]))
        elif new is None:
            changes.append(Change("remove", f"nudge template {stage}", "the built-in one is used again"))
        else:
            parts = [key for key in TEMPLATE_KEYS if old[key] != new[key]]
            changes.append(Change("change", f"nudge template {stage}", " and ".join(parts)))
    return changes


def _diff_named(old: list[dict], new: list[dict], key: str, what: str) -> list[Change]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    changes = []
    for name, item in after.items():
        if name not in before:
            changes.append(Change("add", f"{what} {name!r}"))
        elif _normal(before[name]) != _normal(item):
            fields = sorted(field for field in item.keys() | before[name].keys()
                            if before[name].get(field) != item.get(field))
            changes.append(Change("change", f"{what} {name!r}", "; ".join(
                _change_of(field, before[name].get(field), item.get(field)) for field in fields)))
    changes += [Change("remove", f"{what} {name!r}") for name in before if name not in after]
    return changes


def _change_of(field: str, old: Any, new: Any) -> str:
    """'due: 2 weeks -> 3 weeks'; a long text just by its name."""
    if old in (None, ""):
        return f"{field} added"
    if new in (None, ""):
        return f"{field} removed"
    if len(str(old)) > 30 or len(str(new)) > 30:
        return f"{field} rewritten"
    return f"{field}: {old} -> {new}"


def _normal(item: dict) -> dict:
    return {key: value for key, value in item.items() if value not in (None, "")}


def apply(session: Session, program: Program, who: Actor, wanted: dict, *, now: datetime) -> list[Change]:
    """Make the program's design ``wanted``, in the caller's transaction; the changes made."""
    require_coordinator(who, "applying a program design")
    current = read_design(session, program)
    changes = plan(current, wanted)
    if not changes:
        return changes
    target = wanted["program"]
    stage_days: dict[str, int | None] = {stage: target["stage_stall_days"].get(stage) for stage in rules.STALL_STAGES}
    weights: dict[str, int | None] = {part: target["health_weights"].get(part) for part in rules.HEALTH_PARTS}
    update_program(session, program, who, stall_days=target["stall_days"],
                   momentum_meetings=target["momentum_meetings"], stage_days=stage_days, weights=weights,
                   min_group=target["min_group"])
    _apply_milestones(session, program, who, wanted["milestone"])
    _apply_starters(session, program, who, wanted["starter_goal"], now)
    _apply_templates(session, program, current["nudge_template"], wanted["nudge_template"])
    return changes


def _apply_milestones(session: Session, program: Program, who: Actor, new: list[dict]) -> None:
    rows = {m.name: m for m in list_milestones(session, program)}
    wanted = {m["name"]: m for m in new}
    checked = {name: _checked_milestone(target) for name, target in wanted.items()}
    for name, row in rows.items():
        target = wanted.get(name)
        marked = session.connection().execute(
            sa.select(sa.func.count()).where(MilestoneDone.milestone_id == row.id)).scalar_one()
        if target is None:
            if marked:
                raise Conflict(f"milestone {name!r} cannot be removed: it is marked done {marked} time(s); "
                               "keep it in the file")
            session.delete(row)
            continue
        if marked and checked[name][:2] != (row.kind, row.role):
            raise Conflict(f"milestone {name!r} is marked done {marked} time(s): its kind and role cannot change")
    session.flush()
    for name, target in wanted.items():
        row = rows.get(name)
        if row is not None:
            # Checked as 'milestone define' checks it; the row (and its marks) keeps its id.
            row.kind, row.role, row.due = checked[name]
            row.description = (target.get("description") or "").strip() or None
            session.add(row)
        else:
            define_milestone(session, program, who, name, kind=target["kind"], role=target["role"],
                             due=target["due"], description=target.get("description"))
    session.flush()


def _checked_milestone(target: dict) -> tuple[str, str, str]:
    from mloop.store.checks import check_milestone_definition

    _name, kind, role, due = check_milestone_definition(target["name"], kind=target["kind"], role=target["role"],
                                                        due=target["due"])
    return kind, role, due


def _apply_starters(session: Session, program: Program, who: Actor, new: list[dict], now: datetime) -> None:
    rows = {g.title: g for g in list_starter_goals(session, program)}
    wanted = {g["title"].strip(): g for g in new}
    for title, row in rows.items():
        if title not in wanted:
            session.delete(row)
    session.flush()
    for title, target in wanted.items():
        row = rows.get(title)
        if row is None:
            add_starter_goal(session, program, who, title=title, term=target["term"], locked=target["locked"], now=now)
        else:
            from mloop.store.checks import check_term

            check_term(target["term"])
            row.term, row.locked = target["term"], target["locked"]
            session.add(row)
    session.flush()


def _apply_templates(session: Session, program: Program, old: dict, new: dict) -> None:
    for stage in NUDGE_STAGES:
        if stage in new:
            check_template_pair(new[stage]["subject"], new[stage]["body"])
            if old.get(stage) != new[stage]:
                set_template(session, program, stage, new[stage]["subject"], new[stage]["body"])
        elif stage in old:
            session.connection().execute(sa.delete(NudgeTemplate).where(
                NudgeTemplate.program_id == program.id, NudgeTemplate.stage == stage))

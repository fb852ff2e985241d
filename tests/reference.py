"""A deliberately naive, independent reading of DESIGN §3, for cross-checking.

It works on the parsed JSON Lines records of DESIGN §4 (a list of dicts) and
knows nothing of ``mloop.rules`` or ``mloop.store``: everything is recomputed
from the text of the design with plain loops, so that a shared mistake is
unlikely.  Speed does not matter here; clarity does.

The product's decisions it follows where the design leaves room:

- a meeting is booked from its created_at unless it is cancelled;
- a held meeting counts from max(start, created_at), once that is <= now, and
  the k-th held meeting is the k-th by that time;
- feedback on a meeting counts for grow_together only if the meeting is held;
- a loop is active at now iff matched_at <= now and (no ended_at or ended_at > now);
- a mentor or mentee who joined by now and has no active loop (coordinators
  are not counted; both roles count once): never matched -> getting started
  since joined_at; their latest loop ended by now ended cancelled -> getting
  started since that end; it ended completed (a tie between two loops ending
  at once goes to completed) -> an alumnus, counted apart from the stages;
- stalled: stage != completed and now - stage_since > stall_days days;
- at risk: the latest feedback (by created_at, then file order) by a member of
  an active loop, as of now, has a rating <= 2;
- days_in_stage: whole days, rounded down.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

STAGE_ORDER = (
    "getting_started",
    "matched",
    "first_meeting",
    "grow_together",
    "levelling_up",
    "completed",
)


def parse_time(text):
    """ISO 8601 with Z or an offset -> aware UTC datetime; None stays None."""
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:  # the generators here always give an offset
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _earliest(times):
    times = [t for t in times if t is not None]
    if not times:
        return None
    smallest = times[0]
    for t in times[1:]:
        if t < smallest:
            smallest = t
    return smallest


def _all_goals_done_time(goals, not_before, now):
    """Earliest t in [not_before, now] with >= 1 goal shared by t and every goal
    shared by t completed by t.  Naive: try every moment at which anything about
    the goals changes, plus not_before itself."""
    moments = {not_before}
    for goal in goals:
        for t in (goal["shared_at"], goal["completed_at"]):
            if t is not None and not_before <= t <= now:
                moments.add(t)
    for t in sorted(moments):
        shared_by_t = [g for g in goals if g["shared_at"] is not None and g["shared_at"] <= t]
        if not shared_by_t:
            continue
        if all(g["completed_at"] is not None and g["completed_at"] <= t for g in shared_by_t):
            return t
    return None


def _membership_stage(loop, member, meetings, feedback, goals, shares, now, k):
    """History [(stage, reached_at), ...] of one member in one active loop."""
    history = [("matched", loop["matched_at"])]
    t1 = loop["matched_at"]

    bookings = [m["created_at"] for m in meetings if m["status"] != "cancelled" and m["created_at"] <= now]
    first_booking = _earliest(bookings)
    if first_booking is None:
        return history
    t2 = max(t1, first_booking)
    history.append(("first_meeting", t2))

    held_times = []
    for m in meetings:
        if m["status"] == "held":
            counts_from = max(m["start"], m["created_at"])
            if counts_from <= now:
                held_times.append(counts_from)
    held_times.sort()
    held_status = {m["ref"]: m["status"] for m in meetings}
    my_feedback_on_held = [
        f["created_at"]
        for f in feedback
        if f["author"] == member
        and f["meeting"] is not None
        and held_status.get(f["meeting"]) == "held"
        and f["created_at"] <= now
    ]
    if not held_times or not my_feedback_on_held:
        return history
    t3 = max(t2, held_times[0], _earliest(my_feedback_on_held))
    history.append(("grow_together", t3))

    shared = [g["shared_at"] for g in goals if g["shared_at"] is not None and g["shared_at"] <= now]
    my_good_loop_feedback = [
        f["created_at"]
        for f in feedback
        if f["author"] == member and f["meeting"] is None and f["rating"] >= 4 and f["created_at"] <= now
    ]
    if len(held_times) < k or not shared or not my_good_loop_feedback:
        return history
    t4 = max(t3, held_times[k - 1], _earliest(shared), _earliest(my_good_loop_feedback))
    history.append(("levelling_up", t4))

    my_share = _earliest([s["created_at"] for s in shares if s["author"] == member and s["created_at"] <= now])
    # Goals are only known once shared, and completions only once they happened.
    known_goals = [
        {
            "shared_at": g["shared_at"] if g["shared_at"] is not None and g["shared_at"] <= now else None,
            "completed_at": g["completed_at"] if g["completed_at"] is not None and g["completed_at"] <= now else None,
        }
        for g in goals
    ]
    goals_done = _all_goals_done_time(known_goals, t4, now)
    finish = _earliest([my_share, goals_done])
    if finish is None:
        return history
    history.append(("completed", max(t4, finish)))
    return history


def whole_days(since, now):
    days = 0
    while since + timedelta(days=days + 1) <= now:
        days += 1
    return days


def compute(records, now):
    """The coordinator report as the design describes it, at ``now``.

    Returns {"stages": {stage: count}, "alumni": N, "stalled": {(email, loop_ref, stage,
    days_in_stage)}, "at_risk": {loop_ref}, "memberships": [...]}.
    """
    stall_days = 21
    k = 3
    people = {}
    person_order = []
    loops = []
    meetings = {}
    feedback = []
    goals = {}
    shares = {}
    for position, record in enumerate(records):
        kind = record.get("type")
        if kind == "program":
            stall_days = record.get("stall_days", 21)
            k = record.get("momentum_meetings", 3)
        elif kind == "participant":
            email = record["email"].lower()
            roles = record.get("roles") or [record.get("role")]
            people[email] = {"email": record["email"], "roles": set(roles), "joined_at": parse_time(record["joined_at"])}
            person_order.append(email)
        elif kind == "match":
            loops.append(
                {
                    "ref": record["ref"],
                    "mentor": record["mentor"].lower(),
                    "mentee": record["mentee"].lower(),
                    "matched_at": parse_time(record["matched_at"]),
                    "ended_at": parse_time(record.get("ended_at")),
                    "outcome": record.get("outcome"),
                }
            )
        elif kind == "meeting":
            meetings.setdefault(record["loop"], []).append(
                {
                    "ref": record["ref"],
                    "status": record.get("status", "scheduled"),
                    "start": parse_time(record["start"]),
                    "created_at": parse_time(record["created_at"]),
                }
            )
        elif kind == "feedback":
            feedback.append(
                {
                    "loop": record["loop"],
                    "meeting": record.get("meeting"),
                    "author": record["author"].lower(),
                    "rating": record["rating"],
                    "created_at": parse_time(record["created_at"]),
                    "position": position,
                }
            )
        elif kind == "goal":
            goals.setdefault(record["loop"], []).append(
                {"shared_at": parse_time(record.get("shared_at")), "completed_at": parse_time(record.get("completed_at"))}
            )
        elif kind == "share":
            shares.setdefault(record["loop"], []).append(
                {"author": record["author"].lower(), "created_at": parse_time(record["created_at"])}
            )

    def active(loop):
        return loop["matched_at"] <= now and (loop["ended_at"] is None or loop["ended_at"] > now)

    memberships = []
    people_in_loops = set()
    at_risk = set()
    for loop in loops:
        if not active(loop):
            continue
        ref = loop["ref"]
        loop_feedback = [f for f in feedback if f["loop"] == ref]
        for role in ("mentor", "mentee"):
            member = loop[role]
            people_in_loops.add(member)
            history = _membership_stage(
                loop, member, meetings.get(ref, []), loop_feedback, goals.get(ref, []), shares.get(ref, []), now, k
            )
            stage, since = history[-1]
            memberships.append(
                {"email": people[member]["email"], "loop": ref, "role": role, "stage": stage, "since": since, "history": history}
            )
        members = (loop["mentor"], loop["mentee"])
        latest = None
        for f in loop_feedback:
            if f["author"] not in members or f["created_at"] > now:
                continue
            if latest is None or (f["created_at"], f["position"]) > (latest["created_at"], latest["position"]):
                latest = f
        if latest is not None and latest["rating"] <= 2:
            at_risk.add(ref)

    alumni = 0
    for email in person_order:
        person = people[email]
        if not ({"mentor", "mentee"} & person["roles"]):
            continue
        if email in people_in_loops or person["joined_at"] > now:
            continue
        latest = None
        for loop in loops:
            if email not in (loop["mentor"], loop["mentee"]):
                continue
            if loop["ended_at"] is None or loop["ended_at"] > now:
                continue
            if (latest is None or loop["ended_at"] > latest["ended_at"]
                    or (loop["ended_at"] == latest["ended_at"] and loop["outcome"] == "completed")):
                latest = loop
        if latest is not None and latest["outcome"] == "completed":
            alumni += 1
            continue
        since = person["joined_at"] if latest is None else max(person["joined_at"], latest["ended_at"])
        role = "mentor" if "mentor" in person["roles"] else "mentee"
        memberships.append(
            {
                "email": person["email"],
                "loop": None,
                "role": role,
                "stage": "getting_started",
                "since": since,
                "history": [("getting_started", since)],
            }
        )

    stages = {stage: 0 for stage in STAGE_ORDER}
    stalled = set()
    for m in memberships:
        stages[m["stage"]] += 1
        m["days_in_stage"] = whole_days(m["since"], now)
        m["stalled"] = m["stage"] != "completed" and (now - m["since"]) > timedelta(days=stall_days)
        if m["stalled"]:
            stalled.add((m["email"], m["loop"], m["stage"], m["days_in_stage"]))
    return {"stages": stages, "alumni": alumni, "stalled": stalled, "at_risk": at_risk, "memberships": memberships}

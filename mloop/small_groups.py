"""Small groups left out of a report (``coordinator report --min-group N``).

The report's and the activity report's documents go through ``report`` and
``activity`` once, before any rendering: each count from 1 to N-1 becomes the
string "<N" (``rules.hides_count`` decides), and the lists that name people
(stalled, at risk, up for re-pairing) are left out, their lengths kept as
counts.  The renderers then draw what they are given: ``magnitude`` gives a
hidden count no bar, and ``total`` refuses to add up hidden counts, since a
sum would give them away.
"""

from __future__ import annotations

from mloop import rules

# The report's lists of people, and the count each one leaves behind.
PEOPLE_LISTS = {"stalled": "stalled_total", "at_risk": "at_risk_total", "re_pairing": "re_pairing_total"}


def shown(count: int, min_group: int) -> int | str:
    """A count as a report with this min_group shows it."""
    return rules.hidden_count(min_group) if rules.hides_count(count, min_group) else count


def magnitude(value: int | str) -> int:
    """A shown count's size, for drawing: a hidden count draws nothing."""
    return value if isinstance(value, int) else 0


def total(values) -> int | None:
    """The sum of shown counts, or None when one of them is hidden."""
    values = list(values)
    return sum(values) if all(isinstance(value, int) for value in values) else None


def is_on(min_group: int) -> bool:
    return min_group > 1


def chosen_min_group(option: int | None, program) -> int:
    """The smallest group a report shows a count of: --min-group, else the program's setting."""
    from mloop.store.access import check_program_numbers

    if option is None:
        return program.min_group
    check_program_numbers(min_group=option)
    return option


def _counts(mapping: dict, min_group: int) -> dict:
    return {key: _counts(value, min_group) if isinstance(value, dict) else shown(value, min_group)
            for key, value in mapping.items()}


def report(document: dict, min_group: int) -> dict:
    """The coordinator report's document with small counts hidden and no list of people."""
    if not is_on(min_group):
        return document
    hidden = {key: value for key, value in document.items() if key not in PEOPLE_LISTS and not key.endswith("_total")}
    hidden["stages"] = _counts(document["stages"], min_group)
    hidden["alumni"] = shown(document["alumni"], min_group)
    hidden["activity"] = _counts(document["activity"], min_group)
    hidden["checkins_overdue"] = shown(document["checkins_overdue"], min_group)
    hidden["milestones"] = [dict(m, done=shown(m["done"], min_group), overdue=shown(m["overdue"], min_group))
                            for m in document["milestones"]]
    for key, count_key in PEOPLE_LISTS.items():
        hidden[count_key] = shown(document.get(count_key, len(document[key])), min_group)
    hidden["min_group"] = min_group
    hidden["left_out"] = list(PEOPLE_LISTS)
    return hidden


def report_rows(document: dict) -> list[dict]:
    """A report with hidden counts as (section, key, count) rows, for CSV in place of its rows of people."""
    rows = [{"section": "stages", "key": stage, "count": n} for stage, n in document["stages"].items()]
    rows.append({"section": "alumni", "key": "alumni", "count": document["alumni"]})
    for section, counts in document["activity"].items():
        if isinstance(counts, dict):
            rows += [{"section": section, "key": key, "count": n} for key, n in counts.items()]
        else:
            rows.append({"section": section, "key": section, "count": counts})
    rows.append({"section": "checkins", "key": "overdue", "count": document["checkins_overdue"]})
    for m in document["milestones"]:
        rows += [{"section": "milestones", "key": f"{m['name']} ({what})", "count": m[what]} for what in ("done", "overdue")]
    rows += [{"section": "people", "key": key, "count": document[count_key]} for key, count_key in PEOPLE_LISTS.items()]
    return rows


def activity(document: dict, min_group: int) -> dict:
    """The activity report's document with small counts hidden."""
    if not is_on(min_group):
        return document
    hidden = dict(document)
    hidden["meetings"] = {"held": shown(document["meetings"]["held"], min_group),
                          "per_week": [dict(w, held=shown(w["held"], min_group))
                                       for w in document["meetings"]["per_week"]]}
    hidden["weeks"] = [{key: shown(value, min_group) if isinstance(value, int) else value for key, value in w.items()}
                       for w in document["weeks"]]
    hidden["feedback"] = _counts(document["feedback"], min_group)
    hidden["goals"] = _counts(document["goals"], min_group)
    hidden["milestones"] = [dict(m, completed=shown(m["completed"], min_group)) for m in document["milestones"]]
    hidden["matches"] = _counts(document["matches"], min_group)
    hidden["min_group"] = min_group
    return hidden

"""--min-group N: the report and the activity report show each count from 1 to
N-1 as "<N" in every format and name nobody; 0 stays 0; the program's setting
is the default, the option beats it."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest

DEMO_NOW = "2026-06-01T09:00:00Z"
SINCE = ("--since", "2026-04-01")


@pytest.fixture(scope="module")
def demo(make_cli, tmp_path_factory):
    cli = make_cli(tmp_path_factory.mktemp("min_group") / "demo.db")
    cli.ok("demo", now=DEMO_NOW)
    return cli


def test_json_shows_small_counts_as_strings_and_lists_nobody(demo):
    full = demo.json("coordinator", "report", now=DEMO_NOW)
    hidden = demo.json("coordinator", "report", "--min-group", 5, now=DEMO_NOW)
    for stage, count in full["stages"].items():
        assert hidden["stages"][stage] == ("<5" if 0 < count < 5 else count)
    assert full["stages"]["first_meeting"] == hidden["stages"]["first_meeting"] == 6
    assert full["alumni"] == hidden["alumni"] == 0  # a 0 singles nobody out
    assert hidden["activity"]["loops"]["completed"] == "<5" and hidden["activity"]["meetings"]["held"] == 30
    assert "stalled" not in hidden and "at_risk" not in hidden and "re_pairing" not in hidden
    assert hidden["stalled_total"] == len(full["stalled"]) == 9 and hidden["at_risk_total"] == "<5"
    assert hidden["min_group"] == 5 and hidden["left_out"] == ["stalled", "at_risk", "re_pairing"]
    assert demo.json("coordinator", "report", "--min-group", 1, now=DEMO_NOW) == full


def test_the_table_and_csv_show_the_marker_and_no_person(demo):
    people = [row["email"] for row in demo.json("coordinator", "report", now=DEMO_NOW)["stalled"]]
    table = demo.ok("coordinator", "report", "--min-group", 5, now=DEMO_NOW).stdout
    assert re.search(r"Getting Started\s+<5", table) and re.search(r"First Meeting\s+6", table)
    assert "Stalled: 9 · at risk: <5" in table
    rows = list(csv.DictReader(io.StringIO(demo.ok("coordinator", "report", "--min-group", 5, "--csv",
                                                   now=DEMO_NOW).stdout)))
    counts = {(r["section"], r["key"]): r["count"] for r in rows}
    assert counts[("stages", "matched")] == "<5" and counts[("stages", "grow_together")] == "6"
    assert counts[("people", "stalled")] == "9"
    for output in (table, str(rows)):
        assert not any(email in output for email in people)


def test_the_activity_report_hides_small_counts_in_json_csv_and_table(demo):
    full = demo.json("coordinator", "report", "--activity", *SINCE, now=DEMO_NOW)
    hidden = demo.json("coordinator", "report", "--activity", *SINCE, "--min-group", 5, now=DEMO_NOW)
    for week, shown in zip(full["meetings"]["per_week"], hidden["meetings"]["per_week"]):
        assert shown["held"] == ("<5" if 0 < week["held"] < 5 else week["held"])
    assert {w["held"] for w in hidden["meetings"]["per_week"]} == {"<5", 0, 5}
    assert hidden["feedback"]["positive"] == 12 and hidden["feedback"]["negative"] == "<5"
    rows = list(csv.DictReader(io.StringIO(
        demo.ok("coordinator", "report", "--activity", *SINCE, "--min-group", 5, "--csv", now=DEMO_NOW).stdout)))
    assert {"section": "feedback", "key": "neutral", "count": "<5"} in rows
    assert {"section": "feedback", "key": "positive", "count": "12"} in rows
    table = demo.ok("coordinator", "report", "--activity", *SINCE, "--min-group", 5, now=DEMO_NOW).stdout
    assert "Counts under 5 are shown as <5." in table and re.search(r"positive\s+12", table)


class _Values(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values, self.left_out = {}, []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if "data-key" in found and "data-value" in found:
            self.values[found["data-key"]] = found["data-value"]
        if "data-left-out" in found:
            self.left_out.append(found["data-left-out"])


def test_the_html_page_shows_the_marker_and_names_nobody(demo):
    people = [row["email"] for row in demo.json("coordinator", "report", now=DEMO_NOW)["stalled"]]
    page = demo.ok("coordinator", "report", "--html", "-", "--min-group", 5, now=DEMO_NOW).stdout
    values = _Values()
    values.feed(page)
    assert values.values["matched"] == "<5" and values.values["first_meeting"] == "6"
    assert values.values["alumni"] == "0"
    assert values.left_out == ["stalled", "at-risk"]
    assert not any(email in page for email in people)
    assert 'data-series="held" data-value="&lt;5"' in page


def test_the_programs_setting_is_the_default_and_the_option_beats_it(demo, tmp_path):
    cli = type(demo)(tmp_path / "own.db")
    cli.copy_from(demo.db)
    cli.ok("program", "set", "--min-group", 7, now=DEMO_NOW)
    assert cli.json("program", "show", now=DEMO_NOW)["min_group"] == 7
    assert cli.json("coordinator", "report", now=DEMO_NOW)["stages"]["grow_together"] == "<7"
    assert cli.json("coordinator", "report", "--min-group", 0, now=DEMO_NOW)["stages"]["grow_together"] == 6
    cli.fails("coordinator", "report", "--stalled", code=2, match="drop --stage, --stalled and --at-risk", now=DEMO_NOW)
    assert cli.json("coordinator", "report", "--stalled", "--min-group", 0, now=DEMO_NOW)["stalled"]
    # export / import and the program file carry it.
    exported = cli.ok("export", now=DEMO_NOW).stdout
    assert '"min_group": 7' in exported.splitlines()[0]
    assert "min_group = 7" in cli.ok("program", "dump", now=DEMO_NOW).stdout


@pytest.mark.parametrize("args, code, message", [
    (("coordinator", "report", "--min-group", -1), 2, "--min-group must be 0 to 1000"),
    (("coordinator", "report", "--health", "--min-group", 5), 2, "--health lists every active loop"),
    (("program", "set", "--min-group", 1001), 2, "--min-group must be 0 to 1000"),
])
def test_bad_min_groups_are_refused_in_one_line(demo, args, code, message):
    before = demo.snapshot()
    demo.fails(*args, code=code, match=message, now=DEMO_NOW)
    assert demo.snapshot() == before

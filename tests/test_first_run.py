"""A newcomer's first commands: the demo run again, a read on a store that is
not there, times that name their zone, a program imported twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DEMO_PROGRAM = "Spring 2026 Mentoring"
DEMO_NOW = "2026-06-01T09:00:00Z"
NO_STORE = "create one with 'mloop init', 'mloop demo' (a sample program) or 'mloop import FILE.jsonl'"
ANA, BO, CORA = "ana@example.org", "bo@example.org", "cora@example.org"


# --- times shown to people carry their zone -------------------------------------------------


@pytest.fixture
def loop(cli, make_program, add_person, make_loop) -> int:
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", as_user=CORA)
    add_person(ANA, "mentee", as_user=CORA)
    return make_loop(BO, ANA, as_user=CORA)


def test_times_shown_to_people_name_their_zone_and_json_stays_utc(cli, loop):
    berlin = {"tz": "Europe/Berlin", "user": ANA}
    booked = cli.ok("meet", "schedule", loop, "--at", "2026-03-10 15:00", **berlin)
    assert booked.stdout == f"Booked meeting 1 in loop {loop} for 2026-03-10 15:00 CET.\n"
    assert "2026-03-10 14:00 UTC" in cli.ok("meet", "list", user=ANA).stdout
    assert "2026-03-10 15:00 CET" in cli.ok("meet", "list", **berlin).stdout
    assert "Next meeting: 2026-03-10 15:00 CET (meeting 1)" in cli.ok("status", **berlin).stdout
    assert cli.json("meet", "list", **berlin)[0]["start"] == "2026-03-10T14:00:00Z"
    summer = cli.ok("meet", "schedule", loop, "--at", "2026-07-01 09:30", **berlin).stdout
    assert "2026-07-01 09:30 CEST" in summer


def test_the_report_says_which_zone_its_moment_is_in(cli, loop):
    assert "as of 2026-03-02 09:00 UTC" in cli.ok("coordinator", "report").stdout
    assert "as of 2026-03-02 10:00 CET" in cli.ok("coordinator", "report", tz="Europe/Berlin").stdout

"""The journey certificate (mloop share) and the coordinator's participant card.

Three layers: the pure rendering in mloop/certificate.py (escaping, the
LinkedIn fields, well-formed SVG and HTML), the store's refusal before
Levelling Up, and the CLI (files written, JSON shape, a stable credential id,
sharing again), plus the card's nudges and its privacy.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop import certificate, rules
from mloop.certificate import CertificateFacts, Milestone

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"

CORA, BO, ANA, CY = "cora@example.org", "bo@example.org", "ana@example.org", "cy@example.org"
TRICKY = "Ana <b>\"Beltrán\"</b> & 'Ñúñez' 🎓"


def t(days: float = 0, hours: float = 0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def facts(**changes) -> CertificateFacts:
    base = dict(
        program="Spring <2026> & \"Co\"", issuer="Acme & Sons", loop_id=3, holder_name=TRICKY,
        holder_email="Ana@Example.org", holder_role="mentee", mentor_name="Bo [mentor] *star*", mentee_name=TRICKY,
        matched_at=T0, shared_at=T0 + timedelta(days=20), completed_at=T0 + timedelta(days=20),
        milestones=(
            Milestone("Matched", T0), Milestone("First Meeting", T0 + timedelta(days=1)),
            Milestone("Mid-cycle <check-in> & review", T0 + timedelta(days=10), kind="custom"),
            Milestone("Completed", T0 + timedelta(days=20)),
        ),
    )
    base.update(changes)
    return CertificateFacts(**base)


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return [element.text or "" for element in root.iter() if element.tag in (f"{SVG}text", f"{SVG}title")]


class _TextOf(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        if data.strip():
            self.texts.append(data)


def html_texts(page: str) -> list[str]:
    parser = _TextOf()
    parser.feed(page)
    parser.close()
    assert parser.open == [], f"unclosed tags: {parser.open}"
    return parser.texts


# --- pure rendering -----------------------------------------------------------------


def test_svg_is_well_formed_and_shows_user_text_exactly():
    svg = certificate.render_svg(facts(), UTC)
    texts = svg_texts(svg)
    assert TRICKY in texts, "the holder's name, as written"
    assert any("Mentor: Bo [mentor] *star* · Mentee: " + TRICKY == x for x in texts)
    assert any("Mid-cycle <check-in> & review" in x for x in texts)
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_html_is_well_formed_and_shows_user_text_exactly():
    page = certificate.render_html(facts(), UTC)
    texts = html_texts(page)
    assert TRICKY in texts
    assert "<b>" not in page
    assert '<meta charset="utf-8">' in page


def test_markdown_escapes_user_text():
    text = certificate.render_markdown(facts(), UTC)
    assert "<b>" not in text and "\\<b\\>" in text
    assert "Bo \\[mentor\\] \\*star\\*" in text
    assert "\\&" in text
    assert "Ñúñez" in text and "🎓" in text


@pytest.mark.parametrize("render", [certificate.render_svg, certificate.render_html, certificate.render_markdown])
def test_every_format_carries_the_linkedin_fields_and_the_milestones(render):
    out = render(facts(), UTC)
    for label in ("Name", "Issuing organization", "Issue date", "Credential ID"):
        assert label in out
    assert "Mentoring journey — Spring" in out
    assert "Acme" in out and "March 2026" in out
    assert certificate.credential_id("Spring <2026> & \"Co\"", 3, "ana@example.org") in out
    for when, name in (("2026-03-02", "Matched"), ("2026-03-03", "First Meeting"), ("2026-03-22", "Completed")):
        assert when in out and name in out
    assert "2026-03-12" in out, "a custom milestone's date"


def test_linkedin_fields_and_issue_date_in_local_time():
    late = facts(shared_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    assert certificate.issue_date(late, UTC) == "March 2026"
    assert certificate.issue_date(late, timezone(timedelta(hours=2))) == "April 2026"
    fields = certificate.linkedin_fields(facts(), UTC)
    assert list(fields) == ["Name", "Issuing organization", "Issue date", "Credential ID"]
    assert fields["Issuing organization"] == "Acme & Sons"


def test_credential_id_is_stable_and_tells_journeys_apart():
    one = certificate.credential_id("Spring 2026", 3, "ana@example.org")
    assert re.fullmatch(r"ML-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", one)
    assert one == certificate.credential_id("Spring 2026", 3, " ANA@example.org ")
    others = {certificate.credential_id("Spring 2026", 4, "ana@example.org"),
              certificate.credential_id("Autumn 2026", 3, "ana@example.org"),
              certificate.credential_id("Spring 2026", 3, "bo@example.org")}
    assert one not in others and len(others) == 3
    assert facts().credential_id == certificate.credential_id(facts().program, 3, "ana@example.org")


def test_file_names_are_ascii_and_deterministic():
    assert certificate.file_stem(3, "Ana Beltrán") == "mloop-certificate-loop-3-ana-beltran"
    assert certificate.file_stem(3, TRICKY) == "mloop-certificate-loop-3-ana-b-beltran-b-nunez"
    assert certificate.file_stem(12, "李雷") == "mloop-certificate-loop-12-participant"
    assert certificate.file_stem(1, "../../etc/passwd") == "mloop-certificate-loop-1-etc-passwd"


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=40), program=st.text(min_size=1, max_size=30))
def test_any_name_renders_to_well_formed_svg_and_html(name, program):
    shown = re.sub(r"\s+", " ", re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", name))
    one = facts(holder_name=name, mentee_name=name, program=program, issuer=program)
    svg = svg_texts(certificate.render_svg(one, UTC))
    assert f"Certificate of mentoring — {shown}" in svg
    page = certificate.render_html(one, UTC)
    html_texts(page)
    assert f"Certificate of mentoring — {shown}".strip() in "".join(html_texts(page)) or not shown.strip()


def test_still_needed_names_each_missing_fact():
    """The certificate's refusal lists what the rules say is missing for Levelling Up."""
    def still_needed(facts, held):
        return [rules.describe_missing(item, loop_id=7, held_meetings=held, momentum_meetings=3)
                for item in rules.missing(facts, held, NOW_RULES, momentum_meetings=3, through=rules.LEVELLING_UP)]

    matched = rules.MembershipFacts(NOW_RULES - timedelta(days=5))
    assert still_needed(matched, 0) == [
        "a first meeting ('mloop meet schedule 7 --at \"next tue 14:00\"')", "your feedback on a held meeting",
        "3 more held meetings (0 of 3)", "a shared goal",
        "your loop feedback rated 4 or 5 ('mloop feedback give 7 --rating 5')"]
    t = NOW_RULES - timedelta(days=3)
    two_held = rules.MembershipFacts(t, t, t, None, t, t, t)
    assert still_needed(two_held, 2) == ["1 more held meeting (2 of 3)"]


NOW_RULES = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


# --- the command --------------------------------------------------------------------


def people(cli) -> None:
    cli.ok("init", "--program", "Spring 2026", now=t(-1))
    cli.ok("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator", now=t(0))
    cli.ok("participant", "add", "--name", "Bo Ñúñez", "--email", BO, "--role", "mentor", "--capacity", 2, user=CORA, now=t(0))
    cli.ok("participant", "add", "--name", TRICKY, "--email", ANA, "--role", "mentee", user=CORA, now=t(0))
    cli.ok("participant", "add", "--name", "Cy", "--email", CY, "--role", "mentee", user=CORA, now=t(0))


def to_levelling_up(cli) -> int:
    """Ana's loop, at Levelling Up from t(5): three held meetings, a shared goal, her loop feedback 5."""
    people(cli)
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(1))["id"]
    first = cli.json("meet", "log", loop, "--at", t(2, -1), "--notes", "Secret notes", user=ANA, now=t(2))["id"]
    assert cli.snapshot()  # store exists
    cli.ok("feedback", "give", loop, "--meeting", first, "--rating", 5, user=ANA, now=t(2, 1))
    cli.ok("goal", "add", loop, "Secret goal title", user=ANA, now=t(3))
    cli.ok("meet", "log", loop, "--at", t(3, -1), user=ANA, now=t(3))
    cli.ok("meet", "log", loop, "--at", t(4, -1), user=ANA, now=t(4))
    cli.ok("feedback", "give", loop, "--rating", 5, user=ANA, now=t(5))
    return loop


def test_share_is_refused_before_levelling_up_with_what_is_missing(cli, tmp_path):
    people(cli)
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(1))["id"]
    cli.ok("meet", "log", loop, "--at", t(2, -1), user=ANA, now=t(2))
    out = tmp_path / "certs"
    out.mkdir()
    before = cli.snapshot()
    line = cli.check_error(cli("share", loop, "--out", out, user=ANA, now=t(3)), code=1)
    assert line == (
        f"mloop: error: loop {loop} is at First Meeting for you and a certificate needs Levelling Up: still needed: "
        f"your feedback on a held meeting; 2 more held meetings (1 of 3); a shared goal; "
        f"your loop feedback rated 4 or 5 ('mloop feedback give {loop} --rating 5')"
    )
    assert cli.snapshot() == before
    assert list(out.iterdir()) == []
    assert cli.json("coordinator", "report", user=CORA, now=t(3))["activity"]["journeys_shared"] == 0


def test_share_writes_the_certificate_with_the_linkedin_fields(cli, tmp_path):
    loop = to_levelling_up(cli)
    out = tmp_path / "certs"
    out.mkdir()
    record = cli.json("share", loop, "--out", out, user=ANA, now=t(6))
    stem = out / f"mloop-certificate-loop-{loop}-ana-b-beltran-b-nunez"
    expected_id = certificate.credential_id("Spring 2026", loop, ANA)
    assert record == {
        "id": 1, "loop_id": loop, "author": ANA, "created_at": t(6), "shared_at": t(6), "newly_shared": True,
        "files": [f"{stem}.svg", f"{stem}.md"], "name": "Mentoring journey — Spring 2026",
        "issuer": "Spring 2026", "issue_date": "March 2026", "credential_id": expected_id,
    }
    texts = svg_texts(Path(f"{stem}.svg").read_text(encoding="utf-8"))
    assert TRICKY in texts
    assert "Mentor: Bo Ñúñez · Mentee: " + TRICKY in texts
    assert f"Credential ID: {expected_id}" in texts
    assert "Issuing organization: Spring 2026" in texts and "Issue date: March 2026" in texts
    assert "Matched 2026-03-03 · Completed 2026-03-08 · Shared 2026-03-08" in texts
    markdown = Path(f"{stem}.md").read_text(encoding="utf-8")
    for line in ("- 2026-03-03 — Matched", "- 2026-03-04 — First Meeting", "- 2026-03-04 — Grow Together",
                 "- 2026-03-07 — Levelling Up", "- 2026-03-08 — Completed", f"- Credential ID: `{expected_id}`",
                 "- Name: Mentoring journey — Spring 2026", "- Issue date: March 2026"):
        assert line in markdown
    # Goal titles, agendas and notes are not the certificate's business.
    assert "Secret" not in markdown and not any("Secret" in x for x in texts)
    status = cli.json("status", "--loop", loop, user=ANA, now=t(6))
    assert status["loops"][0]["stage"] == "completed"


def test_sharing_again_rewrites_the_certificate_and_records_nothing(cli, tmp_path):
    loop = to_levelling_up(cli)
    first = cli.json("share", loop, "--out", tmp_path, user=ANA, now=t(6))
    svg = Path(first["files"][0]).read_text(encoding="utf-8")
    Path(first["files"][0]).unlink()
    before = cli.snapshot()
    again = cli.json("share", loop, "--out", tmp_path, user=ANA, now=t(9))
    assert cli.snapshot() == before
    assert again["newly_shared"] is False and again["shared_at"] == t(6) and again["id"] == first["id"]
    assert again["credential_id"] == first["credential_id"]
    assert Path(again["files"][0]).read_text(encoding="utf-8") == svg, "the same certificate, byte for byte"
    said = cli.ok("share", loop, "--out", tmp_path, user=ANA, now=t(9)).stdout
    assert said.startswith(f"You already shared your journey for loop {loop} on 2026-03-08: "
                           "certificate written again, no second share recorded.")
    assert cli.json("coordinator", "report", user=CORA, now=t(9))["activity"]["journeys_shared"] == 1
    # Once the loop has ended, the certificate can still be written again.
    cli.ok("match", "end", loop, "--outcome", "completed", user=CORA, now=t(10))
    assert cli.json("share", loop, "--out", tmp_path, user=ANA, now=t(11))["credential_id"] == first["credential_id"]


def test_html_format_issuer_and_the_current_folder(cli, tmp_path, monkeypatch):
    loop = to_levelling_up(cli)
    monkeypatch.chdir(tmp_path)
    record = cli.json("share", loop, "--format", "HTML", "--issuer", "Acme <Mentoring>", user=ANA, now=t(6))
    stem = f"mloop-certificate-loop-{loop}-ana-b-beltran-b-nunez"
    assert record["files"] == [f"{stem}.html", f"{stem}.md"]
    assert record["issuer"] == "Acme <Mentoring>"
    page = (tmp_path / f"{stem}.html").read_text(encoding="utf-8")
    assert "Issuing organization" in html_texts(page) and "Acme <Mentoring>" in html_texts(page)
    assert "Acme &lt;Mentoring&gt;" in page
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("mloop-certificate")) == [f"{stem}.html", f"{stem}.md"]


def test_custom_milestones_done_in_the_loop_are_on_the_certificate(cli, tmp_path, db_path):
    from mloop.store.db import open_store, resolve_url, session_scope
    from mloop.store.models import Milestone as MilestoneRow, MilestoneDone

    loop = to_levelling_up(cli)
    engine = open_store(resolve_url(str(db_path)))
    try:
        with session_scope(engine) as session:
            mine = MilestoneRow(program_id=1, name="Mid-cycle <check-in>", kind="relationship", role="mentee", due="2 weeks")
            other = MilestoneRow(program_id=1, name="Bo's own", kind="relationship", role="mentor", due="2 weeks")
            session.add_all([mine, other])
            session.flush()
            session.add_all([
                MilestoneDone(milestone_id=mine.id, loop_id=loop, participant_id=3, done_at=T0 + timedelta(days=4, hours=2)),
                MilestoneDone(milestone_id=other.id, loop_id=loop, participant_id=2, done_at=T0 + timedelta(days=4)),
            ])
    finally:
        engine.dispose()
    record = cli.json("share", loop, "--out", tmp_path, user=ANA, now=t(6))
    markdown = Path(record["files"][1]).read_text(encoding="utf-8")
    assert "- 2026-03-06 — Mid-cycle \\<check-in\\>\n- 2026-03-07 — Levelling Up" in markdown
    assert "Bo's own" not in markdown


def test_milestones_reached_at_the_same_time_come_in_stage_order(cli, tmp_path, db_path):
    """Levelling Up and Completed reached in one moment (the loop feedback and the share at t(4)), and a
    custom milestone done in that moment too: stages in rules.STAGES order, the custom one after them."""
    from mloop.store.db import open_store, resolve_url, session_scope
    from mloop.store.models import Milestone as MilestoneRow, MilestoneDone

    people(cli)
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(1))["id"]
    first = cli.json("meet", "log", loop, "--at", t(2, -1), user=ANA, now=t(2))["id"]
    cli.ok("feedback", "give", loop, "--meeting", first, "--rating", 5, user=ANA, now=t(2, 1))
    cli.ok("goal", "add", loop, "A goal", user=ANA, now=t(2, 1))
    cli.ok("meet", "log", loop, "--at", t(3, -1), user=ANA, now=t(3))
    cli.ok("meet", "log", loop, "--at", t(4, -1), user=ANA, now=t(4))
    cli.ok("feedback", "give", loop, "--rating", 5, user=ANA, now=t(4))
    engine = open_store(resolve_url(str(db_path)))
    try:
        with session_scope(engine) as session:
            alpha = MilestoneRow(program_id=1, name="Alpha review", kind="relationship", role="mentee", due="2 weeks")
            session.add(alpha)
            session.flush()
            session.add(MilestoneDone(milestone_id=alpha.id, loop_id=loop, participant_id=3, done_at=T0 + timedelta(days=4)))
    finally:
        engine.dispose()
    record = cli.json("share", loop, "--out", tmp_path, user=ANA, now=t(4))
    markdown = Path(record["files"][1]).read_text(encoding="utf-8")
    achieved = markdown.split("## Milestones achieved\n\n")[1].split("\n\n")[0].splitlines()
    assert achieved == ["- 2026-03-03 — Matched", "- 2026-03-04 — First Meeting", "- 2026-03-04 — Grow Together",
                        "- 2026-03-06 — Levelling Up", "- 2026-03-06 — Completed", "- 2026-03-06 — Alpha review"]
    texts = svg_texts(Path(record["files"][0]).read_text(encoding="utf-8"))
    assert [" ".join(x.split()) for x in texts if x[:4] == "2026"] == [line[2:].replace(" — ", " ") for line in achieved]


@pytest.mark.parametrize(
    ("args", "user", "code", "match"),
    [
        (("--format", "pdf"), ANA, 2, "Invalid value for '--format': Value error, 'pdf' is not one of 'svg', 'html'."),
        (("--out", "a-file"), ANA, 1, "cannot write to a-file: it is a file, give a folder for --out"),
        (("--out", "a-file/below"), ANA, 1, "cannot make folder a-file/below: Not a directory"),
        ((), CORA, 1, "not a coordinator"),
        ((), CY, 1, "not in loop"),
    ],
)
def test_share_refusals_leave_the_store_unchanged(cli, tmp_path, monkeypatch, args, user, code, match):
    loop = to_levelling_up(cli)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    before = cli.snapshot()
    cli.fails("share", loop, *args, user=user, now=t(6), code=code, match=match)
    assert cli.snapshot() == before
    assert not any(p.name.startswith("mloop-certificate") for p in tmp_path.iterdir())
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "not a folder"


def test_share_makes_a_missing_out_folder_with_its_parents(cli, tmp_path):
    loop = to_levelling_up(cli)
    out = tmp_path / "no" / "such" / "folder"
    record = cli.json("share", loop, "--out", out, user=ANA, now=t(6))
    stem = out / f"mloop-certificate-loop-{loop}-ana-b-beltran-b-nunez"
    assert record["files"] == [f"{stem}.svg", f"{stem}.md"]
    assert sorted(p.name for p in out.iterdir()) == [f"{stem.name}.md", f"{stem.name}.svg"]


def test_a_refused_share_makes_no_out_folder(cli, tmp_path):
    people(cli)
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(1))["id"]
    cli.fails("share", loop, "--out", tmp_path / "certs", user=ANA, now=t(2), code=1, match="needs Levelling Up")
    assert not (tmp_path / "certs").exists()


# --- the coordinator's participant card ---------------------------------------------


def add_nudges(db_path: Path, rows: list[tuple[int, int | None, str, int, datetime]]) -> None:
    """Nudge rows as the nudge command writes them: (participant, loop, stage, days in stage, sent at)."""
    from mloop.store.db import open_store, resolve_url, session_scope
    from mloop.store.models import Nudge

    engine = open_store(resolve_url(str(db_path)))
    try:
        with session_scope(engine) as session:
            session.add_all([
                Nudge(program_id=1, participant_id=person, loop_id=loop, stage=stage, days_in_stage=days,
                      subject="Secret subject", body="Secret body", sent_at=sent)
                for person, loop, stage, days, sent in rows
            ])
    finally:
        engine.dispose()


def test_card_lists_nudges_per_loop_and_while_unmatched(cli, db_path):
    loop = to_levelling_up(cli)
    # Ana is participant 3, Cy (unmatched) 4.
    add_nudges(db_path, [
        (3, loop, "matched", 22, T0 + timedelta(days=8)),
        (3, loop, "first_meeting", 25, T0 + timedelta(days=12)),
        (3, loop, "grow_together", 30, T0 + timedelta(days=40)),  # after the card's now: not yet sent
        (4, None, "getting_started", 23, T0 + timedelta(days=13)),
    ])
    card = cli.json("coordinator", "participant", ANA, user=CORA, now=t(15))
    assert card["loops"][0]["nudges"] == [
        {"sent_at": t(8), "stage": "matched", "days_in_stage": 22},
        {"sent_at": t(12), "stage": "first_meeting", "days_in_stage": 25},
    ]
    assert card["participant"]["nudges"] == []
    assert set(card["loops"][0]) >= {"loop_id", "role", "partner", "stage", "stage_since", "days_in_stage", "stalled",
                                     "at_risk", "history", "meetings_held", "last_activity", "feedback"}
    shown = cli.ok("coordinator", "participant", ANA, user=CORA, now=t(15)).stdout
    assert "nudged 2 times, last 3 days ago" in shown

    unmatched = cli.json("coordinator", "participant", CY, user=CORA, now=t(15))
    assert unmatched["participant"]["nudges"] == [{"sent_at": t(13), "stage": "getting_started", "days_in_stage": 23}]
    assert unmatched["participant"]["last_activity"] == t(0)
    assert unmatched["participant"]["stage"] == "getting_started"
    shown = cli.ok("coordinator", "participant", CY, user=CORA, now=t(15)).stdout
    assert "last activity: 2026-03-02 09:00 UTC · nudged once, last 2 days ago" in shown
    bo = cli.ok("coordinator", "participant", BO, user=CORA, now=t(15)).stdout
    assert "never nudged" in bo


def test_card_never_shows_goal_titles_agendas_notes_or_nudge_text(cli, db_path):
    loop = to_levelling_up(cli)
    meeting = cli.json("meet", "schedule", loop, "--at", t(20), "--agenda", "Secret agenda", user=ANA, now=t(6))["id"]
    cli.ok("goal", "add", loop, "Secret private goal", "--private", user=ANA, now=t(6))
    cli.ok("meet", "done", meeting, "--notes", "Secret done notes", "--action", "Secret action", user=ANA, now=t(21))
    cli.ok("feedback", "give", loop, "--rating", 4, "--comment", "Secret comment", user=ANA, now=t(21, 1))
    add_nudges(db_path, [(3, loop, "levelling_up", 22, T0 + timedelta(days=21))])
    for args in (("--json",), ()):
        out = cli.ok("coordinator", "participant", ANA, *args, user=CORA, now=t(22)).stdout
        assert "Secret" not in out, out
        assert "nudged once" in out or "nudges" in out
    card = cli.json("coordinator", "participant", ANA, user=CORA, now=t(22))
    assert card["loops"][0]["meetings_held"] == 4
    assert [r["rating"] for r in card["loops"][0]["feedback"]] == [5, 5, 4]
    assert json.dumps(card).count("Secret") == 0

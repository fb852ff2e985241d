"""Write the demo program that `mloop demo` loads: sample_data/program.jsonl.

Standard library only and deterministic: every run rewrites program.jsonl and
expected.json byte for byte.  The demo clock is fixed at NOW (see README.md).

The people and loops are fictional.  The data is chosen so that, at NOW, the
coordinator report shows every stage, stalls in several stages, the 21-day
boundary, loops at risk, ended loops, and loops whose two members stand at
different stages.  A small independent implementation of the DESIGN §3 rules
below computes the expected report, checks that coverage, and writes it to
expected.json for the tests of the real program to compare against.

    python sample_data/make_sample.py            # rewrite both files
    python sample_data/make_sample.py --check    # only verify they are up to date
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAM_FILE = HERE / "program.jsonl"
EXPECTED_FILE = HERE / "expected.json"

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)

PROGRAM = {"type": "program", "name": "Spring 2026 Mentoring", "stall_days": 21, "momentum_meetings": 3}
STALL_DAYS = PROGRAM["stall_days"]
MOMENTUM = PROGRAM["momentum_meetings"]

STAGES = ("getting_started", "matched", "first_meeting", "grow_together", "levelling_up", "completed")


def t(text: str) -> datetime:
    """'2026-03-02 14:00' (UTC) -> aware datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- data

MILESTONES = [
    {
        "name": "Mentoring agreement signed",
        "kind": "relationship",
        "role": "mentee",
        "due": "2 weeks",
        "description": "Agree how often you meet, what stays confidential and who sets agendas "
        "and takes notes; both of you sign the program's mentoring agreement.",
    },
    {
        "name": "Orientation session attended",
        "kind": "program",
        "role": "mentee",
        "due": "10 days",
        "description": "Attend the one-hour mentee orientation (recorded sessions count) "
        "and read the program handbook.",
    },
]

# key: (name, email, roles, joined_at, capacity, offers, seeks)
PEOPLE = {
    "priya": ("Priya Raman", "priya.raman@example.org", ["coordinator"], "2026-01-05 09:00", 1, [], []),
    # mentors
    "amara": ("Amara Okafor", "amara.okafor@example.org", ["mentor"], "2026-01-12 10:00", 3,
              ["python", "data", "leadership"], []),
    "benjamin": ("Benjamin Hart", "benjamin.hart@example.org", ["mentor"], "2026-01-12 11:30", 2,
                 ["public speaking", "leadership"], []),
    "chloe": ("Chloé Dubois", "chloe.dubois@example.org", ["mentor"], "2026-01-13 09:30", 2,
              ["design", "career change"], []),
    "daniel": ("Daniel Kim", "daniel.kim@example.org", ["mentor"], "2026-01-14 14:00", 3,
               ["python", "data"], []),
    "farid": ("Farid Haddad", "farid.haddad@example.org", ["mentor"], "2026-01-15 16:00", 3,
              ["data", "python"], []),
    "elena": ("Elena Rossi", "elena.rossi@example.org", ["mentor"], "2026-01-20 08:45", 1,
              ["leadership", "career change"], []),
    "grace": ("Grace Mwangi", "grace.mwangi@example.org", ["mentor", "mentee"], "2026-01-21 12:00", 2,
              ["public speaking", "design"], ["leadership"]),
    "hiroshi": ("Hiroshi Tanaka", "hiroshi.tanaka@example.org", ["mentor"], "2026-05-20 08:00", 2,
                ["design", "data"], []),
    # mentees
    "ana": ("Ana Beltrán", "ana.beltran@example.org", ["mentee"], "2026-01-19 10:15", 1, [], ["python"]),
    "bruno": ("Bruno Silva", "bruno.silva@example.org", ["mentee"], "2026-01-19 11:00", 1, [], ["public speaking"]),
    "carmen": ("Carmen López", "carmen.lopez@example.org", ["mentee"], "2026-01-22 09:00", 1, [],
               ["design", "career change"]),
    "kofi": ("Kofi Asante", "kofi.asante@example.org", ["mentee"], "2026-01-26 13:00", 1, [], ["data", "design"]),
    "lena": ("Lena Fischer", "lena.fischer@example.org", ["mentee"], "2026-01-27 10:00", 1, [],
             ["data", "public speaking"]),
    "emma": ("Emma Schultz", "emma.schultz@example.org", ["mentee"], "2026-02-02 09:30", 1, [], ["leadership"]),
    "hana": ("Hana Novák", "hana.novak@example.org", ["mentee"], "2026-02-09 15:00", 1, [], ["data", "python"]),
    "felix": ("Felix Wagner", "felix.wagner@example.org", ["mentee"], "2026-03-30 10:00", 1, [], ["data"]),
    "isaac": ("Isaac Mensah", "isaac.mensah@example.org", ["mentee"], "2026-04-01 09:00", 1, [],
              ["career change"]),
    "dev": ("Dev Patel", "dev.patel@example.org", ["mentee"], "2026-04-20 11:00", 1, [], ["python"]),
    "mateo": ("Mateo García", "mateo.garcia@example.org", ["mentee"], "2026-04-27 09:00", 1, [], ["python"]),
    # joined 21 days and 13 hours before NOW: days_in_stage is 21, yet stalled (> 21 × 24 h)
    "oliver": ("Oliver Brown", "oliver.brown@example.org", ["mentee"], "2026-05-10 20:00", 1, [], ["leadership"]),
    "julia": ("Julia Kowalski", "julia.kowalski@example.org", ["mentee"], "2026-05-18 14:00", 1, [],
              ["public speaking"]),
    "nora": ("Nora Jensen", "nora.jensen@example.org", ["mentee"], "2026-05-27 10:00", 1, [], ["design"]),
}


def meeting(key, start, created, status="held", duration=45, agenda=None, notes=None):
    return {"key": key, "start": t(start), "created_at": t(created), "status": status,
            "duration_min": duration, "agenda": agenda, "notes": notes}


def goal(key, title, term, created, shared=None, completed=None, due=None, locked=False, tasks=()):
    return {"key": key, "title": title, "term": term, "created_at": t(created),
            "shared_at": t(shared) if shared else None,
            "completed_at": t(completed) if completed else None,
            "due": t(due) if due else None, "locked": locked,
            "tasks": [{"title": title_, "due": t(due_) if due_ else None, "done_at": t(done) if done else None}
                      for title_, due_, done in tasks]}


def feedback(author, rating, at, comment, meeting=None):
    return {"author": author, "rating": rating, "created_at": t(at), "comment": comment, "meeting": meeting}


# Each loop: key, purpose (for the README/report), mentor, mentee, times and facts.
# Refs L1.. are given in matched_at order, so loop ids follow the history.
LOOPS = [
    {
        "key": "amara-ana",
        "purpose": "both members completed: every shared goal completed (a private goal does not count)",
        "mentor": "amara", "mentee": "ana", "matched_at": t("2026-02-09 10:00"),
        "meetings": [
            meeting("ana-1", "2026-02-16 15:00", "2026-02-10 08:00", agenda="Kick-off: expectations, agreement, cadence",
                    notes="Agreed fortnightly 45-minute calls; Ana sets agendas, Amara keeps notes."),
            meeting("ana-2", "2026-03-02 15:00", "2026-02-17 09:00", agenda="Pick a first open-source issue",
                    notes="Chose a docs-and-tests issue in a small CLI project; walked through the repo layout."),
            meeting("ana-3", "2026-03-16 15:00", "2026-03-03 09:00", agenda="Code review of the draft pull request",
                    notes="Reviewed the PR together; split it into two smaller commits."),
            # logged after the fact: created_at later than start
            meeting("ana-4", "2026-03-30 15:00", "2026-03-30 17:30", agenda="Retrospective on the first contribution",
                    notes="PR merged upstream. Next: a feature, not just docs."),
        ],
        "goals": [
            goal("ana-agreement", "Agree how we work together", "short", "2026-02-09 10:00",
                 shared="2026-02-09 10:00", completed="2026-02-16 16:00", locked=True),
            goal("ana-oss", "Ship a first open-source Python contribution", "short", "2026-02-16 16:30",
                 shared="2026-02-17 09:15", completed="2026-04-10 12:00", due="2026-04-30 17:00",
                 tasks=[("Set up the project's dev environment", "2026-02-27 17:00", "2026-02-25 19:00"),
                        ("Open a draft pull request", "2026-03-13 17:00", "2026-03-12 20:30"),
                        ("Address review comments", None, "2026-04-09 18:00")]),
            goal("ana-track", "Decide whether to apply for the data-engineering track", "long", "2026-03-02 16:00",
                 due="2026-09-30 17:00",
                 tasks=[("Talk to two data engineers about their week", None, None)]),
        ],
        "feedback": [
            feedback("ana", 5, "2026-02-16 18:00", "Great first call, I know exactly what to do next.", "ana-1"),
            feedback("amara", 4, "2026-02-17 08:30", "Ana came well prepared; we over-ran a little.", "ana-1"),
            feedback("ana", 5, "2026-04-01 10:00", "This loop is the most useful thing I did this quarter."),
            feedback("amara", 5, "2026-04-02 09:00", "Rewarding to mentor; Ana is ready for harder issues."),
        ],
        "shares": [],
    },
    {
        "key": "benjamin-lena",
        "purpose": "ended: cancelled because the mentee changed role (its negative feedback does not make it at risk)",
        "mentor": "benjamin", "mentee": "lena", "matched_at": t("2026-02-09 11:00"),
        "ended_at": t("2026-03-10 12:00"), "outcome": "cancelled", "end_reason": "mentee changed role",
        "meetings": [
            meeting("lena-b-1", "2026-02-17 12:00", "2026-02-10 15:00", agenda="Kick-off: what does great speaking look like?",
                    notes="Recorded a two-minute intro; plan to rehearse a team-meeting update."),
        ],
        "goals": [
            goal("lena-b-talk", "Present the quarterly update to my team", "short", "2026-02-17 13:00",
                 shared="2026-02-17 13:05", due="2026-03-31 17:00"),
        ],
        "feedback": [
            feedback("lena", 4, "2026-02-17 14:00", "Useful exercises, a bit outside my comfort zone.", "lena-b-1"),
            feedback("lena", 2, "2026-03-09 17:00",
                     "I'm moving to the analytics team; public speaking isn't my focus any more."),
        ],
        "shares": [],
    },
    {
        "key": "farid-kofi",
        "purpose": "ended: outcome completed after the mentee shared the journey",
        "mentor": "farid", "mentee": "kofi", "matched_at": t("2026-02-02 10:00"),
        "ended_at": t("2026-04-30 16:00"), "outcome": "completed",
        "end_reason": "Data sprint finished: all goals met, Kofi moves on to a design loop",
        "meetings": [
            meeting("kofi-f-1", "2026-02-05 16:00", "2026-02-03 09:00", agenda="Kick-off and skills inventory",
                    notes="Kofi knows spreadsheets well; start with SQL joins."),
            meeting("kofi-f-2", "2026-02-19 16:00", "2026-02-06 09:00", agenda="SQL joins and window functions",
                    notes="Worked through three real queries from Kofi's team."),
            meeting("kofi-f-3", "2026-03-05 16:00", "2026-02-20 09:00", agenda="First dashboard draft",
                    notes="Draft dashboard reviewed; simplify to four charts."),
            meeting("kofi-f-4", "2026-04-02 16:00", "2026-03-06 09:00", agenda="Hand-over and wrap-up",
                    notes="Dashboard in use by Kofi's team. Agreed to close the loop."),
        ],
        "goals": [
            goal("kofi-sql", "Write the team's weekly report in SQL instead of by hand", "short", "2026-02-05 17:00",
                 shared="2026-02-06 09:00", completed="2026-03-20 11:00"),
        ],
        "feedback": [
            feedback("kofi", 5, "2026-02-05 18:00", "Clear and practical.", "kofi-f-1"),
            feedback("farid", 5, "2026-02-06 08:00", "Motivated mentee, easy to work with.", "kofi-f-1"),
            feedback("kofi", 5, "2026-03-21 10:00", "I automated a two-hour weekly chore."),
            feedback("farid", 4, "2026-03-22 10:00", "Good progress; goals met ahead of plan."),
        ],
        "shares": [("kofi", t("2026-04-24 12:00"))],
    },
    {
        "key": "benjamin-bruno",
        "purpose": "members at different stages: the mentee completed by sharing the journey, "
                   "the mentor is levelling up (one shared goal still open)",
        "mentor": "benjamin", "mentee": "bruno", "matched_at": t("2026-02-16 10:00"),
        "meetings": [
            meeting("bruno-1", "2026-02-24 17:00", "2026-02-17 10:00", agenda="Kick-off: goals for the cycle",
                    notes="Bruno wants to speak at a meetup by autumn; start with internal talks."),
            meeting("bruno-2", "2026-03-10 17:00", "2026-02-25 10:00", agenda="Structure of a lightning talk",
                    notes="Outline drafted: problem, demo, one takeaway."),
            meeting("bruno-3", "2026-03-24 17:00", "2026-03-11 10:00", agenda="Dry run of the lightning talk",
                    notes="Timed at 6:40; cut the second demo."),
            meeting("bruno-4", "2026-04-21 17:00", "2026-03-25 10:00", agenda="Debrief of the team demo talk",
                    notes="Talk went well; picked two meetups to submit to."),
            meeting("bruno-5", "2026-05-19 17:00", "2026-04-22 10:00", agenda="Meetup abstract review",
                    notes="Abstract submitted to the June meetup."),
        ],
        "goals": [
            goal("bruno-lightning", "Give a 5-minute lightning talk at the team demo", "short", "2026-02-24 18:00",
                 shared="2026-02-25 09:00", completed="2026-04-20 16:00", due="2026-04-30 17:00",
                 tasks=[("Draft the outline", "2026-03-09 17:00", "2026-03-08 21:00"),
                        ("Rehearse twice with a timer", "2026-04-17 17:00", "2026-04-16 19:30")]),
            goal("bruno-meetup", "Speak at a regional tech meetup", "long", "2026-03-10 18:00",
                 shared="2026-03-24 18:30", due="2026-09-30 17:00",
                 tasks=[("Submit an abstract", "2026-05-31 17:00", "2026-05-19 20:00"),
                        ("Book a rehearsal with the team", None, None)]),
        ],
        "feedback": [
            feedback("bruno", 4, "2026-02-24 19:00", "Good energy, concrete homework.", "bruno-1"),
            feedback("benjamin", 5, "2026-02-25 08:00", "Bruno knows what he wants; great start.", "bruno-1"),
            feedback("bruno", 5, "2026-04-22 09:00", "I gave my first talk and enjoyed it!"),
            feedback("benjamin", 4, "2026-05-15 12:00", "Steady progress; the meetup goal is ambitious but realistic."),
        ],
        "shares": [("bruno", t("2026-05-20 10:00"))],
    },
    {
        "key": "chloe-carmen",
        "purpose": "both levelling up; an early negative rating was followed by positive ones (not at risk); "
                   "a scheduled future meeting",
        "mentor": "chloe", "mentee": "carmen", "matched_at": t("2026-02-23 10:00"),
        "meetings": [
            meeting("carmen-1", "2026-03-03 12:00", "2026-02-24 11:00", agenda="Kick-off and career story",
                    notes="Carmen is moving from marketing to UX; map transferable skills."),
            meeting("carmen-2", "2026-03-17 12:00", "2026-03-04 11:00", agenda="Portfolio structure",
                    notes="Three case studies; start with the newsletter redesign."),
            meeting("carmen-3", "2026-03-31 12:00", "2026-03-18 11:00", agenda="Case study #1 critique",
                    notes="Show the process, not only the final screens."),
            meeting("carmen-4", "2026-04-28 12:00", "2026-04-01 11:00", agenda="Prototyping course check-in",
                    notes="Course half done; prototype for case study #2 started."),
            meeting("carmen-5", "2026-05-26 12:00", "2026-04-29 11:00", agenda="Mock portfolio review",
                    notes="Mock review with a hiring manager's checklist; two gaps to fill."),
            meeting("carmen-6", "2026-06-09 12:00", "2026-05-28 16:00", status="scheduled",
                    agenda="Case study #3 and application plan"),
        ],
        "goals": [
            goal("carmen-portfolio", "Build a UX case-study portfolio", "long", "2026-03-03 13:30",
                 shared="2026-03-17 13:00", due="2026-08-31 17:00",
                 tasks=[("Case study 1: newsletter redesign", "2026-04-15 17:00", "2026-04-12 18:00"),
                        ("Case study 2: onboarding prototype", "2026-05-31 17:00", "2026-05-24 18:00"),
                        ("Case study 3: accessibility audit", "2026-07-15 17:00", None)]),
            goal("carmen-figma", "Complete a Figma prototyping course", "short", "2026-03-17 13:10",
                 shared="2026-03-31 13:00", completed="2026-05-20 19:00", due="2026-05-31 17:00"),
        ],
        "feedback": [
            feedback("carmen", 2, "2026-03-03 14:00", "Felt rushed; I'd like more time for my questions.", "carmen-1"),
            feedback("chloe", 4, "2026-03-04 09:00", "Good start; next time I'll leave more room for questions.",
                     "carmen-1"),
            feedback("carmen", 5, "2026-03-17 14:00", "Much better pace, very helpful.", "carmen-2"),
            feedback("carmen", 4, "2026-05-12 10:00", "The portfolio is taking shape thanks to Chloé."),
            feedback("chloe", 5, "2026-05-14 08:00", "Carmen's progress is impressive."),
            feedback("carmen", 5, "2026-05-26 14:00", "The mock review was eye-opening.", "carmen-5"),
        ],
        "shares": [],
    },
    {
        "key": "daniel-hana",
        "purpose": "both stalled in grow_together (no meeting since April) and AT RISK (mentee's latest rating 2)",
        "mentor": "daniel", "mentee": "hana", "matched_at": t("2026-03-09 10:00"),
        "meetings": [
            meeting("hana-1", "2026-03-18 17:00", "2026-03-10 09:00", agenda="Kick-off: pandas for reporting",
                    notes="Hana exports CSVs by hand every week; automate that first."),
            meeting("hana-2", "2026-04-08 17:00", "2026-03-19 09:00", agenda="Review the first notebook",
                    notes="Cut short after 15 minutes; Daniel was called into an incident."),
        ],
        "goals": [
            goal("hana-pandas", "Automate the weekly CSV report with pandas", "short", "2026-03-18 18:00",
                 shared="2026-03-19 08:30", due="2026-05-15 17:00",
                 tasks=[("Load the export into a DataFrame", "2026-03-31 17:00", "2026-03-29 20:00"),
                        ("Reproduce the weekly totals", "2026-04-30 17:00", None)]),
        ],
        "feedback": [
            feedback("hana", 4, "2026-03-18 19:00", "Friendly and knowledgeable.", "hana-1"),
            feedback("daniel", 4, "2026-03-19 08:00", "Good first session.", "hana-1"),
            feedback("hana", 2, "2026-04-08 20:00",
                     "Daniel had to leave after 15 minutes and we haven't rebooked since.", "hana-2"),
        ],
        "shares": [],
    },
    {
        "key": "farid-lena",
        "purpose": "both levelling up; the mentee is stalled there (since April) and the loop is AT RISK "
                   "(her latest meeting rating 2); the mentee re-matched after her cancelled loop",
        "mentor": "farid", "mentee": "lena", "matched_at": t("2026-03-16 10:00"),
        "meetings": [
            meeting("lena-1", "2026-03-23 13:00", "2026-03-17 09:00", agenda="Kick-off: analytics onboarding plan",
                    notes="Lena starts in analytics in April; focus on SQL and dashboards."),
            meeting("lena-2", "2026-04-06 13:00", "2026-03-24 09:00", agenda="SQL fundamentals",
                    notes="Covered GROUP BY and joins with Lena's new team's data."),
            meeting("lena-3", "2026-04-20 13:00", "2026-04-07 09:00", agenda="Dashboard requirements",
                    notes="Listed the five questions the dashboard must answer."),
            meeting("lena-4", "2026-05-04 13:00", "2026-04-21 09:00", agenda="Dashboard prototype",
                    notes="Prototype built; data freshness issue to solve."),
            meeting("lena-5", "2026-05-18 13:00", "2026-05-05 09:00", duration=15, agenda="Data freshness",
                    notes="Only 15 minutes; postponed the data freshness topic."),
        ],
        "goals": [
            goal("lena-dashboard", "Build a SQL reporting dashboard for my team", "long", "2026-03-23 14:00",
                 shared="2026-03-24 10:00", due="2026-07-31 17:00",
                 tasks=[("List the questions the dashboard answers", "2026-04-20 17:00", "2026-04-20 15:00"),
                        ("Fix data freshness", "2026-05-31 17:00", None)]),
        ],
        "feedback": [
            feedback("lena", 5, "2026-03-23 15:00", "Exactly the help I needed for my new role.", "lena-1"),
            feedback("farid", 4, "2026-03-24 09:00", "Lena learns fast.", "lena-1"),
            feedback("lena", 5, "2026-04-28 09:30", "So glad I switched loops."),
            feedback("farid", 4, "2026-05-18 16:00", "Good loop overall; we need to find more time."),
            feedback("lena", 2, "2026-05-18 19:00", "Sessions keep getting cut short; I'm losing momentum.",
                     "lena-5"),
        ],
        "shares": [],
    },
    {
        "key": "farid-felix",
        "purpose": "both STALLED in first_meeting: the first booking was cancelled, "
                   "the re-booking 40 days ago is for a date after NOW and nothing was held",
        "mentor": "farid", "mentee": "felix", "matched_at": t("2026-04-15 10:00"),
        "meetings": [
            meeting("felix-1", "2026-04-24 16:00", "2026-04-17 10:00", status="cancelled",
                    agenda="Kick-off", notes=None),
            meeting("felix-2", "2026-06-04 16:00", "2026-04-22 08:30", status="scheduled",
                    agenda="Kick-off (after Felix's relocation)", notes=None),
        ],
        "goals": [],
        "feedback": [],
        "shares": [],
    },
    {
        "key": "amara-grace",
        "purpose": "the mentor-and-mentee person as mentee: both grow together (recent, not stalled)",
        "mentor": "amara", "mentee": "grace", "matched_at": t("2026-04-20 10:00"),
        "meetings": [
            meeting("grace-1", "2026-04-28 08:00", "2026-04-21 12:00", agenda="Kick-off: leading a small team",
                    notes="Grace becomes team lead in June; focus on delegation and 1:1s."),
            meeting("grace-2", "2026-05-19 08:00", "2026-04-29 12:00", agenda="Running good 1:1s",
                    notes="Drafted a 1:1 template; practise it with two reports."),
        ],
        "goals": [
            goal("grace-retro", "Lead my first team retrospective", "short", "2026-05-19 09:00",
                 shared="2026-05-19 09:30", due="2026-06-30 17:00",
                 tasks=[("Pick a retrospective format", "2026-06-05 17:00", None)]),
        ],
        "feedback": [
            feedback("grace", 5, "2026-05-19 10:00", "Practical and encouraging.", "grace-2"),
            feedback("amara", 4, "2026-05-20 07:00", "Grace is a natural; needs confidence in delegating.", "grace-2"),
        ],
        "shares": [],
    },
    {
        "key": "daniel-dev",
        "purpose": "members at different stages: the mentee rated the held meeting (grow_together, neutral 3), "
                   "the mentor did not (first_meeting)",
        "mentor": "daniel", "mentee": "dev", "matched_at": t("2026-05-04 10:00"),
        "meetings": [
            meeting("dev-1", "2026-05-20 16:00", "2026-05-14 09:00", agenda="Kick-off: Python for automation",
                    notes="Dev wants to script the release checklist; start with pathlib and subprocess."),
        ],
        "goals": [],
        "feedback": [
            feedback("dev", 3, "2026-05-20 18:00", "OK, but I hoped for more hands-on coding.", "dev-1"),
        ],
        "shares": [],
    },
    {
        "key": "elena-emma",
        "purpose": "both STALLED in matched: matched 30 days ago, no meeting booked",
        "mentor": "elena", "mentee": "emma", "matched_at": t("2026-05-02 14:00"),
        "meetings": [], "goals": [], "feedback": [], "shares": [],
    },
    {
        "key": "daniel-mateo",
        "purpose": "boundary: matched exactly 21 days before NOW, no meeting: matched, days_in_stage 21, NOT stalled; "
                   "the mentor is at capacity (3)",
        "mentor": "daniel", "mentee": "mateo", "matched_at": NOW - 21 * DAY,
        "meetings": [], "goals": [], "feedback": [], "shares": [],
    },
    {
        "key": "chloe-kofi",
        "purpose": "members at different stages: a meeting logged after the fact, rated by the mentor only "
                   "(mentor grow_together, mentee first_meeting); the mentee's second loop",
        "mentor": "chloe", "mentee": "kofi", "matched_at": t("2026-05-18 10:00"),
        "meetings": [
            meeting("kofi-c-1", "2026-05-22 15:00", "2026-05-22 18:00", duration=60,
                    agenda="Kick-off: from data to design",
                    notes="Kofi wants to design the dashboards he builds; start with visual hierarchy."),
        ],
        "goals": [
            goal("kofi-c-private", "Decide between UX and data-visualisation roles", "long", "2026-05-22 18:30"),
        ],
        "feedback": [
            feedback("chloe", 5, "2026-05-22 18:10", "Curious and well organised mentee.", "kofi-c-1"),
        ],
        "shares": [],
    },
    {
        "key": "grace-julia",
        "purpose": "the mentor-and-mentee person as mentor: first meeting booked for a date after NOW",
        "mentor": "grace", "mentee": "julia", "matched_at": t("2026-05-25 10:00"),
        "meetings": [
            meeting("julia-1", "2026-06-03 17:00", "2026-05-27 12:00", status="scheduled",
                    agenda="Kick-off: your next presentation"),
        ],
        "goals": [], "feedback": [], "shares": [],
    },
]

# (milestone name, loop key or None, person key, done_at)
MILESTONES_DONE = [
    ("Mentoring agreement signed", "amara-ana", "ana", "2026-02-16 16:00"),
    ("Mentoring agreement signed", "chloe-carmen", "carmen", "2026-03-03 13:00"),
    ("Orientation session attended", None, "mateo", "2026-05-05 12:00"),
    ("Orientation session attended", None, "nora", "2026-05-29 11:00"),
]


# ---------------------------------------------------------------------- refs + records

def assign_refs():
    """L1.. in matched_at order; meetings, goals numbered loop by loop in time order."""
    loops = sorted(LOOPS, key=lambda loop: loop["matched_at"])
    for number, loop in enumerate(loops, 1):
        loop["ref"] = f"L{number}"
        loop.setdefault("ended_at", None)
        loop.setdefault("outcome", None)
        loop.setdefault("end_reason", None)
        loop["meetings"].sort(key=lambda m: (m["start"], m["created_at"]))
        loop["goals"].sort(key=lambda g: g["created_at"])
        loop["feedback"].sort(key=lambda f: f["created_at"])
    meeting_number = goal_number = 0
    for loop in loops:
        for m in loop["meetings"]:
            meeting_number += 1
            m["ref"] = f"M{meeting_number}"
        for g in loop["goals"]:
            goal_number += 1
            g["ref"] = f"G{goal_number}"
    return loops


def email(key: str) -> str:
    return PEOPLE[key][1]


def build_records(loops) -> list[dict]:
    records: list[dict] = [dict(PROGRAM)]
    records += [{"type": "milestone", **m} for m in MILESTONES]
    for key, (name, mail, roles, joined, capacity, offers, seeks) in sorted(
        PEOPLE.items(), key=lambda item: (t(item[1][3]), item[1][1])
    ):
        records.append({"type": "participant", "email": mail, "name": name, "roles": roles,
                        "joined_at": iso(t(joined)), "capacity": capacity, "offers": offers, "seeks": seeks})
    for loop in loops:
        records.append({"type": "match", "ref": loop["ref"], "mentor": email(loop["mentor"]),
                        "mentee": email(loop["mentee"]), "matched_at": iso(loop["matched_at"]),
                        "ended_at": iso(loop["ended_at"]), "outcome": loop["outcome"],
                        "end_reason": loop["end_reason"]})
    meeting_refs = {}
    for loop in loops:
        for m in loop["meetings"]:
            meeting_refs[m["key"]] = m["ref"]
            records.append({"type": "meeting", "ref": m["ref"], "loop": loop["ref"], "start": iso(m["start"]),
                            "duration_min": m["duration_min"], "status": m["status"],
                            "created_at": iso(m["created_at"]), "agenda": m["agenda"], "notes": m["notes"]})
    for loop in loops:
        for g in loop["goals"]:
            records.append({"type": "goal", "ref": g["ref"], "loop": loop["ref"], "title": g["title"],
                            "term": g["term"], "created_at": iso(g["created_at"]), "shared_at": iso(g["shared_at"]),
                            "completed_at": iso(g["completed_at"]), "due": iso(g["due"]), "locked": g["locked"]})
    for loop in loops:
        for g in loop["goals"]:
            for task in g["tasks"]:
                records.append({"type": "task", "goal": g["ref"], "title": task["title"],
                                "due": iso(task["due"]), "done_at": iso(task["done_at"])})
    for loop in loops:
        for f in loop["feedback"]:
            records.append({"type": "feedback", "loop": loop["ref"],
                            "meeting": meeting_refs[f["meeting"]] if f["meeting"] else None,
                            "author": email(f["author"]), "rating": f["rating"],
                            "created_at": iso(f["created_at"]), "comment": f["comment"]})
    shares = sorted(((at, loop["ref"], email(who)) for loop in loops for who, at in loop["shares"]))
    for at, ref, mail in shares:
        records.append({"type": "share", "loop": ref, "author": mail, "created_at": iso(at)})
    refs = {loop["key"]: loop["ref"] for loop in loops}
    for name, loop_key, who, done in MILESTONES_DONE:
        records.append({"type": "milestone_done", "milestone": name,
                        "loop": refs[loop_key] if loop_key else None, "by": email(who), "done_at": iso(t(done))})
    return records


# ------------------------------------------------------------ independent §3 rules
# Deliberately written from the file's records (not the data above) and without
# the mloop package, so it checks what `mloop demo` will actually load.

def parse(text):
    return None if text is None else datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def earliest(times):
    times = [x for x in times if x is not None and x <= NOW]
    return min(times) if times else None


def membership_stage(loop, person, db, *, held_from_start_only=False, first_booking_by_start=False):
    """(stage, since) of `person` in active `loop` at NOW, straight from the §3 table.

    The keyword switches pick alternative readings of the rules; the data is
    built so that every reading gives the same answer (checked in self_check).
    """
    meetings = [m for m in db["meetings"] if m["loop"] == loop["ref"] and m["status"] != "cancelled"
                and parse(m["created_at"]) <= NOW]
    held = [m for m in meetings if m["status"] == "held"]

    def held_at(m):
        start = parse(m["start"])
        return start if held_from_start_only else max(start, parse(m["created_at"]))

    held_times = sorted(x for x in (held_at(m) for m in held) if x <= NOW)
    held_refs = {m["ref"] for m in held if held_at(m) <= NOW}
    mine = [f for f in db["feedback"] if f["loop"] == loop["ref"] and f["author"] == person
            and parse(f["created_at"]) <= NOW]
    goals = [g for g in db["goals"] if g["loop"] == loop["ref"]]

    t1 = parse(loop["matched_at"])
    stage, since = "matched", t1
    if first_booking_by_start:
        first = min(meetings, key=lambda m: parse(m["start"]), default=None)
        booked = parse(first["created_at"]) if first else None
    else:
        booked = earliest(parse(m["created_at"]) for m in meetings)
    if booked is None:
        return stage, since
    t2 = max(t1, booked)
    stage, since = "first_meeting", t2

    first_held = held_times[0] if held_times else None
    first_meeting_feedback = earliest(parse(f["created_at"]) for f in mine if f["meeting"] in held_refs)
    if first_held is None or first_meeting_feedback is None:
        return stage, since
    t3 = max(t2, first_held, first_meeting_feedback)
    stage, since = "grow_together", t3

    kth_held = held_times[MOMENTUM - 1] if len(held_times) >= MOMENTUM else None
    first_shared = earliest(parse(g["shared_at"]) for g in goals)
    good_loop_feedback = earliest(parse(f["created_at"]) for f in mine if f["meeting"] is None and f["rating"] >= 4)
    if kth_held is None or first_shared is None or good_loop_feedback is None:
        return stage, since
    t4 = max(t3, kth_held, first_shared, good_loop_feedback)
    stage, since = "levelling_up", t4

    my_share = earliest(parse(s["created_at"]) for s in db["shares"]
                        if s["loop"] == loop["ref"] and s["author"] == person)
    # scan every moment from t4 on at which the goal picture can change
    moments = sorted({t4} | {x for g in goals for x in (parse(g["shared_at"]), parse(g["completed_at"]))
                             if x is not None and t4 < x <= NOW})
    goals_done = None
    for moment in moments:
        shared = [g for g in goals if g["shared_at"] and parse(g["shared_at"]) <= moment]
        if shared and all(g["completed_at"] and parse(g["completed_at"]) <= moment for g in shared):
            goals_done = moment
            break
    finish = earliest([my_share, goals_done])
    if finish is None:
        return stage, since
    return "completed", max(t4, finish)


def is_active(loop):
    return parse(loop["matched_at"]) <= NOW and (loop["ended_at"] is None or parse(loop["ended_at"]) > NOW)


def whole_days(since):
    return (NOW - since) // DAY


def report(records, **reading):
    db = {"participants": [], "loops": [], "meetings": [], "feedback": [], "goals": [], "shares": []}
    kinds = {"participant": "participants", "match": "loops", "meeting": "meetings", "feedback": "feedback",
             "goal": "goals", "share": "shares"}
    for record in records:
        if record["type"] in kinds:
            db[kinds[record["type"]]].append(record)
    loop_ids = {loop["ref"]: number for number, loop in enumerate(db["loops"], 1)}
    active = [loop for loop in db["loops"] if is_active(loop)]

    memberships = []
    for loop in active:
        for role in ("mentor", "mentee"):
            stage, since = membership_stage(loop, loop[role], db, **reading)
            memberships.append({"email": loop[role], "loop_id": loop_ids[loop["ref"]], "loop_ref": loop["ref"],
                                "role": role, "stage": stage, "stage_since": since})
    in_a_loop = {loop[role] for loop in active for role in ("mentor", "mentee")}
    for person in db["participants"]:
        joined = parse(person["joined_at"])
        if joined <= NOW and person["email"] not in in_a_loop and {"mentor", "mentee"} & set(person["roles"]):
            memberships.append({"email": person["email"], "loop_id": None, "loop_ref": None,
                                "role": "mentor" if "mentor" in person["roles"] else "mentee",
                                "stage": "getting_started", "stage_since": joined})
    for m in memberships:
        m["days_in_stage"] = whole_days(m["stage_since"])
        m["stalled"] = m["stage"] != "completed" and NOW - m["stage_since"] > STALL_DAYS * DAY
        m["stage_since"] = iso(m["stage_since"])
    memberships.sort(key=lambda m: (m["loop_id"] or 0, m["role"] != "mentor", m["email"]))

    at_risk = []
    for loop in active:
        members = {loop["mentor"], loop["mentee"]}
        given = [f for f in db["feedback"] if f["loop"] == loop["ref"] and f["author"] in members
                 and parse(f["created_at"]) <= NOW]
        if given:
            latest = max(given, key=lambda f: parse(f["created_at"]))
            if latest["rating"] <= 2:
                at_risk.append({"loop_id": loop_ids[loop["ref"]], "loop_ref": loop["ref"],
                                "mentor": loop["mentor"], "mentee": loop["mentee"],
                                "latest_rating": latest["rating"], "latest_by": latest["author"],
                                "latest_at": latest["created_at"]})
    return {
        "as_of": iso(NOW),
        "stall_days": STALL_DAYS,
        "stages": {stage: sum(m["stage"] == stage for m in memberships) for stage in STAGES},
        "stalled": [{"email": m["email"], "loop_id": m["loop_id"], "stage": m["stage"],
                     "days_in_stage": m["days_in_stage"]} for m in memberships if m["stalled"]],
        "at_risk": at_risk,
        "memberships": memberships,
    }


# ------------------------------------------------------------------ self-check

def check_consistency(records):
    """The file must import cleanly: refs, emails, ordering, capacity and timing rules."""
    people = {r["email"]: r for r in records if r["type"] == "participant"}
    loops = {r["ref"]: r for r in records if r["type"] == "match"}
    meetings = {r["ref"]: r for r in records if r["type"] == "meeting"}
    goals = {r["ref"]: r for r in records if r["type"] == "goal"}
    milestones = {r["name"] for r in records if r["type"] == "milestone"}

    order = ["program", "milestone", "participant", "match", "meeting", "goal", "task", "feedback", "share",
             "milestone_done"]
    ranks = [order.index(r["type"]) for r in records]
    assert ranks == sorted(ranks), "records out of the agreed type order"
    assert len(people) == sum(r["type"] == "participant" for r in records)
    assert all(mail == mail.lower() and mail.endswith("@example.org") for mail in people)
    assert any(any(ord(c) > 127 for c in p["name"]) for p in people.values())

    def ended_by(loop, moment):
        """True while `moment` is not after the loop's end (an ended loop is read-only)."""
        return loop["ended_at"] is None or moment <= parse(loop["ended_at"])

    def active_at(loop, moment):
        return parse(loop["matched_at"]) <= moment and (loop["ended_at"] is None or moment < parse(loop["ended_at"]))

    def member(loop, mail):
        return mail in (loop["mentor"], loop["mentee"])

    every_time = []
    for loop in loops.values():
        mentor, mentee = people[loop["mentor"]], people[loop["mentee"]]
        assert loop["mentor"] != loop["mentee"]
        assert "mentor" in mentor["roles"] and "mentee" in mentee["roles"]
        matched = parse(loop["matched_at"])
        assert parse(mentor["joined_at"]) <= matched and parse(mentee["joined_at"]) <= matched
        assert (loop["ended_at"] is None) == (loop["outcome"] is None) == (loop["end_reason"] is None)
        if loop["ended_at"]:
            assert loop["outcome"] in ("completed", "cancelled") and matched < parse(loop["ended_at"]) <= NOW
        every_time += [loop["matched_at"], loop["ended_at"]]

    # capacity and pairs, at every moment and (so no import order can trip) over all loops
    for mail, person in people.items():
        mine = [loop for loop in loops.values() if loop["mentor"] == mail]
        assert len(mine) <= person["capacity"], f"{mail} mentors more loops than capacity"
        assert 1 <= person["capacity"] <= 3
        for loop in mine:
            moment = parse(loop["matched_at"])
            assert sum(active_at(x, moment) for x in mine) <= person["capacity"]
    pairs = [(loop["mentor"], loop["mentee"]) for loop in loops.values()]
    assert len(pairs) == len(set(pairs)), "a pair appears twice"
    # a mentee has at most one active loop at a time
    for mail in people:
        as_mentee = [loop for loop in loops.values() if loop["mentee"] == mail]
        for loop in as_mentee:
            assert sum(active_at(x, parse(loop["matched_at"])) for x in as_mentee) <= 1

    for m in meetings.values():
        loop = loops[m["loop"]]
        start, created = parse(m["start"]), parse(m["created_at"])
        assert created >= parse(loop["matched_at"]) and created <= NOW and ended_by(loop, created)
        assert m["status"] in ("scheduled", "held", "cancelled")
        if m["status"] == "held":
            assert start <= NOW and ended_by(loop, max(start, created))
        if m["status"] == "scheduled":
            # no overdue "scheduled" meetings: their held-ness would be ambiguous
            assert start > NOW and created <= start and loop["ended_at"] is None
        if m["status"] == "cancelled":
            assert created <= start
        if m["status"] == "held" and created > start:
            assert created - start < DAY, "meetings logged after the fact are logged the same day"
        every_time += [m["created_at"]] + ([m["start"]] if m["status"] != "scheduled" else [])
    for g in goals.values():
        loop = loops[g["loop"]]
        created = parse(g["created_at"])
        assert g["term"] in ("short", "long") and isinstance(g["locked"], bool)
        assert parse(loop["matched_at"]) <= created and ended_by(loop, created)
        if g["shared_at"]:
            assert created <= parse(g["shared_at"]) and ended_by(loop, parse(g["shared_at"]))
        if g["completed_at"]:
            assert g["shared_at"] and parse(g["shared_at"]) <= parse(g["completed_at"])
            assert ended_by(loop, parse(g["completed_at"]))
        every_time += [g["created_at"], g["shared_at"], g["completed_at"]]
    for r in records:
        if r["type"] == "task":
            assert r["goal"] in goals
            every_time += [r["done_at"]]
        elif r["type"] == "feedback":
            loop = loops[r["loop"]]
            at = parse(r["created_at"])
            assert member(loop, r["author"]) and 1 <= r["rating"] <= 5 and r["comment"]
            assert parse(loop["matched_at"]) <= at and ended_by(loop, at)
            if r["meeting"] is not None:
                m = meetings[r["meeting"]]
                assert m["loop"] == r["loop"] and m["status"] == "held"
                assert max(parse(m["start"]), parse(m["created_at"])) <= at
            every_time.append(r["created_at"])
        elif r["type"] == "share":
            loop = loops[r["loop"]]
            assert member(loop, r["author"]) and ended_by(loop, parse(r["created_at"]))
            every_time.append(r["created_at"])
        elif r["type"] == "milestone_done":
            assert r["milestone"] in milestones and r["by"] in people
            if r["loop"] is not None:
                assert member(loops[r["loop"]], r["by"])
                assert parse(loops[r["loop"]]["matched_at"]) <= parse(r["done_at"])
            assert parse(people[r["by"]]["joined_at"]) <= parse(r["done_at"])
            every_time.append(r["done_at"])
        elif r["type"] == "participant":
            every_time.append(r["joined_at"])
    assert all(parse(x) < NOW for x in every_time if x is not None), "a fact after NOW"

    # The funnel would be ambiguous for someone whose only loop has ended
    # ("no loop at all"); everyone in an ended loop is in an active one too.
    active_members = {loop[role] for loop in loops.values() if loop["ended_at"] is None
                      for role in ("mentor", "mentee")}
    for loop in loops.values():
        if loop["ended_at"]:
            assert {loop["mentor"], loop["mentee"]} <= active_members
    # at-risk must not hinge on a tie for "latest feedback"
    for ref in loops:
        stamps = [r["created_at"] for r in records if r["type"] == "feedback" and r["loop"] == ref]
        assert len(stamps) == len(set(stamps))


def check_coverage(expected, records):
    stages, members = expected["stages"], expected["memberships"]
    in_loops = [m for m in members if m["loop_id"] is not None]
    for stage in STAGES[1:]:
        assert stages[stage] >= 2, f"fewer than 2 memberships in {stage}"
    unmatched = [m for m in members if m["loop_id"] is None]
    assert len(unmatched) >= 3 and {m["role"] for m in unmatched} == {"mentor", "mentee"}
    assert any(m["stalled"] for m in unmatched) and any(not m["stalled"] for m in unmatched)
    stalled_stages = {m["stage"] for m in in_loops if m["stalled"]}
    assert {"matched", "first_meeting", "grow_together"} <= stalled_stages
    boundary = [m for m in members if NOW - parse(m["stage_since"]) == STALL_DAYS * DAY]
    assert boundary and not any(m["stalled"] for m in boundary)
    # the strict-inequality edge: 21 whole days but more than 21 × 24 h
    assert any(m["stalled"] and m["days_in_stage"] == STALL_DAYS for m in members)
    assert len(expected["at_risk"]) == 2
    by_loop = {}
    for m in in_loops:
        by_loop.setdefault(m["loop_id"], {})[m["role"]] = m["stage"]
    assert sum(pair["mentor"] != pair["mentee"] for pair in by_loop.values()) >= 3
    assert sum(pair["mentor"] == "completed" and pair["mentee"] == "completed" for pair in by_loop.values()) >= 1
    loops = [r for r in records if r["type"] == "match"]
    assert {(r["outcome"], r["end_reason"] == "mentee changed role") for r in loops if r["outcome"]} == {
        ("completed", False), ("cancelled", True)}
    active_refs = {r["ref"] for r in loops if r["ended_at"] is None}
    assert any(r["type"] == "share" and r["loop"] in active_refs for r in records)
    assert any(r["type"] == "goal" and r["shared_at"] is None for r in records)
    assert any(r["type"] == "goal" and r["locked"] for r in records)
    meetings = [r for r in records if r["type"] == "meeting"]
    assert any(m["status"] == "cancelled" for m in meetings)
    assert any(m["status"] == "scheduled" and parse(m["start"]) > NOW for m in meetings)
    assert any(m["status"] == "held" and parse(m["created_at"]) > parse(m["start"]) for m in meetings)
    assert all(m["agenda"] for m in meetings) and all(m["notes"] for m in meetings if m["status"] == "held")
    feedback = [r for r in records if r["type"] == "feedback"]
    assert any(f["meeting"] is None for f in feedback) and any(f["meeting"] for f in feedback)
    assert {3}.issubset({f["rating"] for f in feedback})
    counts = {kind: sum(r["type"] == kind for r in records) for kind in
              ("participant", "milestone", "milestone_done", "task")}
    assert counts["participant"] == 1 + 8 + 14 and counts["milestone"] == 2 and counts["milestone_done"] >= 2
    assert counts["task"] >= 5
    roles = [tuple(r["roles"]) for r in records if r["type"] == "participant"]
    assert roles.count(("coordinator",)) == 1 and roles.count(("mentor", "mentee")) == 1
    assert roles.count(("mentor",)) == 7 and roles.count(("mentee",)) == 14


def self_check(records) -> dict:
    check_consistency(records)
    expected = report(records)
    # Alternative readings of §3 must not change any answer for this data.
    for reading in ({"held_from_start_only": True}, {"first_booking_by_start": True},
                    {"held_from_start_only": True, "first_booking_by_start": True}):
        assert report(records, **reading) == expected, f"data is ambiguous under {reading}"
    check_coverage(expected, records)
    return expected


def print_summary(expected, loops) -> None:
    print(f"Expected report as of {expected['as_of']} (stall after {expected['stall_days']} days)")
    print("funnel:")
    for stage, count in expected["stages"].items():
        print(f"  {stage:<16} {count}")
    print(f"  {'total':<16} {sum(expected['stages'].values())}")
    print("stalled:")
    refs = {number: loop["ref"] for number, loop in enumerate(loops, 1)}
    for m in expected["stalled"]:
        print(f"  {m['email']:<28} {refs.get(m['loop_id'], '-'):<4} {m['stage']:<16} {m['days_in_stage']} days")
    print("at risk:")
    for r in expected["at_risk"]:
        print(f"  {r['loop_ref']:<4} {r['mentor']} / {r['mentee']}: latest rating {r['latest_rating']}"
              f" by {r['latest_by']}")
    print("loops:")
    stages = {}
    for m in expected["memberships"]:
        stages.setdefault(m["loop_id"], {})[m["role"]] = m["stage"]
    for number, loop in enumerate(loops, 1):
        pair = stages.get(number)
        where = f"{pair['mentor']}/{pair['mentee']}" if pair else f"ended ({loop['outcome']})"
        print(f"  {loop['ref']:<4} {loop['mentor']:>9} -> {loop['mentee']:<7} {where:<30} {loop['purpose']}")


def main(argv: list[str]) -> int:
    loops = assign_refs()
    records = build_records(loops)
    # round-trip through the JSON text so the check reads exactly what is written
    program_text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    records = [json.loads(line) for line in program_text.splitlines()]
    expected = self_check(records)
    expected_doc = {
        "note": "Expected `mloop coordinator report` for sample_data/program.jsonl at as_of; written by "
                "make_sample.py. Loop ids are the 1-based order of match records (L1 -> 1). Lists are "
                "sorted by (loop_id, mentor first, email), unmatched people (loop_id null) first.",
        **expected,
        "loop_refs": {loop["ref"]: number for number, loop in enumerate(loops, 1)},
    }
    expected_text = json.dumps(expected_doc, ensure_ascii=False, indent=2) + "\n"
    if "--check" in argv:
        stale = [path.name for path, text in ((PROGRAM_FILE, program_text), (EXPECTED_FILE, expected_text))
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        if stale:
            print("out of date: " + ", ".join(stale) + " (run python sample_data/make_sample.py)", file=sys.stderr)
            return 1
    else:
        PROGRAM_FILE.write_text(program_text, encoding="utf-8", newline="\n")
        EXPECTED_FILE.write_text(expected_text, encoding="utf-8", newline="\n")
    print_summary(expected, loops)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

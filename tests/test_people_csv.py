"""People lists exported by other platforms: `mloop participant import FILE.csv`
recognises their header spellings and role words, takes --map for the rest,
lists the columns it leaves out, and imports all or nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mloop.errors import BadFile, UsageError
from mloop.store.participants import (
    HEADER_SPELLINGS, PEOPLE_FIELDS, header_key, parse_column_map, parse_role_words, plan_columns,
    recognised_field, sniff_delimiter,
)

CORA = "cora@example.org"


@pytest.fixture
def program(make_program, add_person):
    make_program()
    add_person(CORA, "coordinator")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def people(cli) -> dict[str, dict]:
    return {p["email"]: p for p in cli.json("participant", "list") if p["email"] != CORA}


# --- platform-shaped exports ------------------------------------------------------------------

# A Together-style export: first and last name, "Both" as a role, a capacity called Max Mentees.
TOGETHER = (
    "First Name,Last Name,Email Address,Participant Type,Max Mentees,Department,Time Zone,Skills,Phone\n"
    "Amara,Okafor,Amara.Okafor@example.org,Both,3,Engineering,Europe/Lisbon,\"python, data\",+351 21 000\n"
    "Bo,Chen,bo.chen@example.org,Mentee,,Sales,America/New_York,sql,\n"
    "Dee,,dee@example.org,mentor,2,,,,\n"
)

# A MentorcliQ-style export: underscores, "E-mail", plural role words and an unknown LinkedIn column.
MENTORCLIQ = (
    "first_name,last_name,E-mail,User Type,Mentor Capacity,Business Unit,Expertise,Development Areas,LinkedIn\n"
    "Kofi,Asante,kofi@example.org,Mentors,2,Finance,\"budgeting;forecasting\",,https://linkedin.example/kofi\n"
    "Lena,Vogel,lena@example.org,Mentees,,Finance,,\"excel, storytelling\",\n"
    "Mo,Haddad,mo@example.org,Program Manager,0,People,,,\n"
)

# A Qooper-style export from European Excel: semicolons, a BOM, CRLF, "Mentor & Mentee".
QOOPER = (
    "\ufeffFull Name;Work Email;Program Role;Max Matches;Team;Date Joined;Interests\r\n"
    "Ana Beltrán;ana@example.org;Mentor & Mentee;2;Design;2026-01-12;ux\r\n"
    "Yusuf Demir;yusuf@example.org;mentee;;Design;2026-02-01 10:00;\"research, ux\"\r\n"
)


def test_a_together_export_imports_with_names_joined_and_unknown_columns_listed(cli, tmp_path, program):
    path = write(tmp_path, "together.csv", TOGETHER)
    result = cli.ok("participant", "import", path, "--json")
    assert result.stderr == ("note: ignored columns: Skills, Phone "
                             "(not imported; map one with --map 'Skills=FIELD')\n")
    assert json.loads(result.stdout) == {
        "imported": 3, "emails": ["amara.okafor@example.org", "bo.chen@example.org", "dee@example.org"],
        "ignored_columns": ["Skills", "Phone"],
    }
    listed = people(cli)
    amara = listed["amara.okafor@example.org"]
    assert (amara["name"], amara["roles"], amara["capacity"]) == ("Amara Okafor", ["mentor", "mentee"], 3)
    assert (amara["department"], amara["timezone"], amara["offers"]) == ("Engineering", "Europe/Lisbon", [])
    bo = listed["bo.chen@example.org"]
    assert (bo["name"], bo["roles"], bo["capacity"]) == ("Bo Chen", ["mentee"], 1)
    assert listed["dee@example.org"]["name"] == "Dee"  # a last name left empty


def test_a_mentorcliq_export_imports_with_spellings_normalised(cli, tmp_path, program):
    path = write(tmp_path, "mentorcliq.csv", MENTORCLIQ)
    result = cli.json("participant", "import", path)
    assert result["ignored_columns"] == ["LinkedIn"]
    listed = people(cli)
    assert listed["kofi@example.org"]["roles"] == ["mentor"]
    assert listed["kofi@example.org"]["offers"] == ["budgeting", "forecasting"]
    assert listed["kofi@example.org"]["department"] == "Finance"
    assert listed["lena@example.org"]["seeks"] == ["excel", "storytelling"]
    assert (listed["mo@example.org"]["roles"], listed["mo@example.org"]["capacity"]) == (["coordinator"], 0)


def test_a_semicolon_export_with_bom_and_crlf_imports(cli, tmp_path, program):
    path = write(tmp_path, "qooper.csv", QOOPER)
    result = cli.ok("participant", "import", path)
    assert (result.stdout, result.stderr) == ("Imported 2 participants from " + str(path) + ".\n", "")
    ana = people(cli)["ana@example.org"]
    assert (ana["name"], ana["roles"], ana["capacity"], ana["department"]) == (
        "Ana Beltrán", ["mentor", "mentee"], 2, "Design")
    assert ana["joined_at"] == "2026-01-12T00:00:00Z" and ana["seeks"] == ["ux"]
    assert people(cli)["yusuf@example.org"]["seeks"] == ["research", "ux"]


def test_a_tab_separated_file_imports(cli, tmp_path, program):
    path = write(tmp_path, "people.csv", "Name\tEmail\tRole\nAna Lima\tana@example.org\tmentee\n")
    assert cli.json("participant", "import", path) == {"imported": 1, "emails": ["ana@example.org"]}


def test_mloops_own_header_keeps_its_output_shape(cli, tmp_path, program):
    path = write(tmp_path, "people.csv", "name,email,role,capacity\nBo,bo@example.org,mentor,2\n")
    result = cli.ok("participant", "import", path, "--json")
    assert result.stderr == ""
    assert result.stdout.strip() == '{"imported":1,"emails":["bo@example.org"]}'


# --- --map ------------------------------------------------------------------------------------

ODD = (
    "Given,Family,Work Mail,Kind,Skills,Notes\n"
    "Ana,Lima,ana@example.org,mentee,python,likes mornings\n"
    "Bo,Chen,bo@example.org,mentor,\"sql, data\",\n"
)


def test_map_names_the_columns_of_an_unusual_export(cli, tmp_path, program):
    path = write(tmp_path, "odd.csv", ODD)
    result = cli.json("participant", "import", path,
                      "--map", "Given+Family=name,Work Mail=email,Kind=role", "--map", "Skills=offers")
    assert result == {"imported": 2, "emails": ["ana@example.org", "bo@example.org"], "ignored_columns": ["Notes"]}
    listed = people(cli)
    assert (listed["ana@example.org"]["name"], listed["bo@example.org"]["offers"]) == ("Ana Lima", ["sql", "data"])


def test_map_matches_headers_however_they_are_spelled(cli, tmp_path, program):
    path = write(tmp_path, "odd.csv", ODD)
    cli.json("participant", "import", path, "--map", "given + FAMILY=name, work_mail=email, KIND=roles")
    assert people(cli)["bo@example.org"]["name"] == "Bo Chen"


def test_map_overrides_a_recognised_header(cli, tmp_path, program):
    path = write(tmp_path, "people.csv",
                 "Name,Email,Email Address,Role\nAna,old@example.org,ana@example.org,mentee\n")
    result = cli.json("participant", "import", path, "--map", "Email Address=email")
    assert result == {"imported": 1, "emails": ["ana@example.org"], "ignored_columns": ["Email"]}


def test_map_takes_a_header_with_a_comma_in_double_quotes(cli, tmp_path, program):
    path = write(tmp_path, "people.csv", '"Name, as shown",Email,Role\n"Lima, Ana",ana@example.org,mentee\n')
    cli.json("participant", "import", path, "--map", '"Name, as shown"=name')
    assert people(cli)["ana@example.org"]["name"] == "Lima, Ana"


def test_a_header_with_a_plus_is_mapped_whole(cli, tmp_path, program):
    path = write(tmp_path, "people.csv", "Name,Email,Mentor+Mentee,Role\nAna,ana@example.org,both,mentee\n")
    cli.json("participant", "import", path, "--map", "Mentor+Mentee=role")
    assert people(cli)["ana@example.org"]["roles"] == ["mentor", "mentee"]


@pytest.mark.parametrize("spec, line", [
    ("Phone=wizard", "mloop: error: --map: unknown field 'wizard' in 'Phone=wizard': use name, email, role, "
                     "capacity, offers, seeks, joined_at, timezone, department, goals, db_role"),
    ("Work Mail", "mloop: error: --map item 'Work Mail' needs the form Header=field, such as 'Email Address=email'"),
    ("Phone=email", "mloop: error: --map: odd.csv has no column 'Phone'; its columns are 'Given', 'Family', "
                    "'Work Mail', 'Kind', 'Skills', 'Notes'"),
    ("Given+Phone=name", "mloop: error: --map: odd.csv has no column 'Phone'; its columns are 'Given', 'Family', "
                         "'Work Mail', 'Kind', 'Skills', 'Notes'"),
    ("Given+Family=email", "mloop: error: --map: email comes from one column, not 'Given+Family'; joining with + "
                           "is for name, offers, seeks, department, goals"),
    ("Work Mail=email,Kind=email", "mloop: error: --map gives email twice ('Work Mail' and 'Kind'): keep one"),
])
def test_a_bad_map_is_a_usage_error_naming_it(cli, tmp_path, monkeypatch, program, spec, line):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "odd.csv", ODD)
    before = cli.snapshot()
    result = cli.fails("participant", "import", "odd.csv", "--map", spec, code=2)
    assert result.stderr == line + "\n"
    assert cli.snapshot() == before


def test_map_is_for_csv_only(cli, tmp_path, program):
    path = write(tmp_path, "people.jsonl", '{"name": "Ana", "email": "ana@example.org", "roles": ["mentee"]}\n')
    cli.fails("participant", "import", path, "--map", "name=name", code=2,
              match="--map is for CSV files, and")


# --- refusals: all or nothing, the line named ----------------------------------------------


def refuse(cli, tmp_path, monkeypatch, text: str, *args: str, code: int = 1) -> str:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "export.csv", text)
    before = cli.snapshot()
    result = cli.fails("participant", "import", "export.csv", *args, code=code)
    assert cli.snapshot() == before
    assert cli.json("participant", "list", "--role", "mentee") == []
    return result.stderr.rstrip("\n")


def test_an_unknown_role_word_names_the_line_and_the_word(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, TOGETHER.replace("Mentee,,Sales", "Sponsor,,Sales"))
    assert line == ("mloop: error: export.csv line 3: unknown role 'Sponsor': use mentor, mentee, both, coordinator, "
                    "admin, administrator, program manager, programme manager (several joined by , ; / or &); "
                    "nothing was imported")


def test_an_empty_role_names_the_line(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, TOGETHER.replace("mentor,2", ",2"))
    assert line == ("mloop: error: export.csv line 4: a participant needs a role: mentor, mentee, both or "
                    "coordinator; nothing was imported")


def test_two_columns_for_one_field_are_refused_naming_both(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, "Name,Email,E-mail Address,Role\nAna,a@example.org,b@example.org,mentee\n")
    assert line == ("mloop: error: export.csv line 1: columns 'Email' and 'E-mail Address' both give the email: "
                    "choose with --map 'E-mail Address=email'; nothing was imported")


def test_a_full_name_beside_first_and_last_is_refused(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch,
                  "Full Name,First Name,Last Name,Email,Role\nAna Lima,Ana,Lima,ana@example.org,mentee\n")
    assert line == ("mloop: error: export.csv line 1: columns 'Full Name' and 'First Name' both give the name: "
                    "choose with --map 'First Name+Last Name=name'; nothing was imported")
    write(tmp_path, "export.csv",
          "Full Name,First Name,Last Name,Email,Role\nAna Lima,Ana,Lima,ana@example.org,mentee\n")
    assert cli.json("participant", "import", "export.csv", "--map", "Full Name=name")["ignored_columns"] == [
        "First Name", "Last Name"]


def test_a_header_without_an_email_lists_what_it_did_not_recognise(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, "First Name,Last Name,Contact,Type\nAna,Lima,ana@example.org,Mentee\n")
    assert line == ("mloop: error: export.csv line 1: the CSV header lacks email: it needs name,email,role "
                    "(optional: capacity,offers,seeks,joined_at,timezone,department,goals,db_role); "
                    "columns not recognised: Contact; name the columns with --map 'HEADER=email'; "
                    "nothing was imported")


def test_a_bad_row_after_good_ones_imports_nothing(cli, tmp_path, monkeypatch, program):
    bad = MENTORCLIQ.replace("Mentees,,Finance", "Mentees,lots,Finance")
    line = refuse(cli, tmp_path, monkeypatch, bad)
    assert line == "mloop: error: export.csv line 3: capacity 'lots' is not a whole number; nothing was imported"


def test_a_row_with_more_cells_than_the_header_names_its_line(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, QOOPER + "Eve;eve@example.org;mentee;1;Ops;;;extra\r\n")
    assert line == "mloop: error: export.csv line 4: 8 cells, but the header has 7; nothing was imported"


def test_a_short_row_lacks_its_last_fields(cli, tmp_path, monkeypatch, program):
    line = refuse(cli, tmp_path, monkeypatch, "First Name,Last Name,Type,Email\nAna,Lima,mentee\n")
    assert line == "mloop: error: export.csv line 2: a participant needs an email; nothing was imported"


# --- the rules, as plain functions -----------------------------------------------------------


@pytest.mark.parametrize("cell, roles", [
    ("Mentor", ["mentor"]), ("MENTEES", ["mentee"]), ("Both", ["mentor", "mentee"]),
    ("Mentor & Mentee", ["mentor", "mentee"]), ("mentor/mentee", ["mentor", "mentee"]),
    ("mentor;mentee", ["mentor", "mentee"]), ("Mentee and Mentor", ["mentee", "mentor"]),
    ("Program  Manager", ["coordinator"]), ("admins", ["coordinator"]), ("both, mentor", ["mentor", "mentee"]),
    ("mentor mentee", ["mentor", "mentee"]), ("Mentee Coordinator", ["mentee", "coordinator"]),
])
def test_role_words(cell, roles):
    assert parse_role_words(cell) == roles


@pytest.mark.parametrize("cell", ["wizard", "mentorship", "", " / ", "mentor wizard", "program"])
def test_other_role_words_are_refused(cell):
    with pytest.raises(UsageError):
        parse_role_words(cell)


@pytest.mark.parametrize("header, field", [
    ("E-mail", "email"), ("Email Address", "email"), ("email_address", "email"), ("EMAIL-ADDRESS", "email"),
    ("Work e-mail", "email"), ("Participant Type", "role"), ("user_type", "role"), ("Max. Mentees", "capacity"),
    ("First Name", "first_name"), ("SURNAME", "last_name"), ("Time Zone", "timezone"), ("Date Joined", "joined_at"),
    ("Sign-up date", "joined_at"), ("Skills", None), ("Phone", None),
])
def test_recognised_headers(header, field):
    assert recognised_field(header) == field


SPELLINGS = [(s, field) for field, spellings in HEADER_SPELLINGS.items() for s in spellings]


@given(st.sampled_from(SPELLINGS), st.data())
def test_any_case_or_spacing_of_a_known_header_is_recognised(spelling_field, data):
    spelling, field = spelling_field
    separators = st.sampled_from([" ", "_", "-", ".", "  ", ""])
    words = spelling.replace("_", " ").replace("-", " ").split()
    variant = data.draw(separators).join(
        "".join(c.upper() if data.draw(st.booleans()) else c for c in word) for word in words)
    variant = data.draw(st.sampled_from(["", " "])) + variant + data.draw(st.sampled_from(["", " ", ":"]))
    assert recognised_field(variant) == field


@given(st.text())
def test_header_key_is_idempotent(header):
    assert header_key(header_key(header)) == header_key(header)


def test_each_spelling_is_recognised_as_its_own_field():
    assert [recognised_field(spelling) for spelling, _ in SPELLINGS] == [field for _, field in SPELLINGS]


def test_map_parsing():
    assert parse_column_map(["First Name+Last Name=name, Email Address=email", "Type=Roles"]) == {
        "name": "First Name+Last Name", "email": "Email Address", "role": "Type"}
    assert parse_column_map([]) == {}
    assert set(parse_column_map([f"C{i}={f}" for i, f in enumerate(PEOPLE_FIELDS)])) == set(PEOPLE_FIELDS)


def test_plan_lists_ignored_columns_in_file_order():
    columns = plan_columns(["Phone", "Name", "Email", "Role", "", "LinkedIn"], {}, "x.csv")
    assert columns.sources == {"name": [1], "email": [2], "role": [3]}
    assert columns.ignored == ["Phone", "LinkedIn"]
    with pytest.raises(BadFile):
        plan_columns(["Name", "Email"], {}, "x.csv")


@pytest.mark.parametrize("line, delimiter", [
    ("name,email,role", ","), ("Name;E-Mail;Rolle", ";"), ("Name\tEmail\tRole", "\t"), ("email", ","),
    ('"Name; full",Email,Role', ","), ('"a,b";c;d', ";"),
])
def test_sniff_delimiter(line, delimiter):
    assert sniff_delimiter(line) == delimiter

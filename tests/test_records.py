"""Records: rows kept as tuples that read, compare and write as a list of dicts."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mloop.output import _compact_json
from mloop.records import Records
from mloop.rules import STAGES
from mloop.store.report import STALLED_KEYS, _stalled_json

KEYS = ("email", "name", "loop_id", "ok", "score", "tags")

values = st.one_of(st.none(), st.text(), st.integers(), st.booleans(), st.floats(allow_nan=False),
                   st.lists(st.text(), max_size=3))
rows = st.lists(st.tuples(*(values for _ in KEYS)), max_size=20)


def dicts(records_rows, keys=KEYS):
    return [dict(zip(keys, row)) for row in records_rows]


@given(rows)
def test_records_write_the_json_the_dicts_would(found):
    records = Records(KEYS, found)
    document = {"program": "Spring", "stalled": records, "total": len(found)}
    expected = json.dumps({"program": "Spring", "stalled": dicts(found), "total": len(found)},
                          ensure_ascii=False, separators=(",", ":"))
    assert _compact_json(document) == expected


@given(rows)
def test_records_read_as_dicts(found):
    records = Records(KEYS, found)
    assert list(records) == dicts(found)
    assert len(records) == len(found)
    assert records == dicts(found)
    assert records[:3] == dicts(found[:3])
    if found:
        assert records[-1] == dict(zip(KEYS, found[-1]))


def test_records_inside_other_values_still_write_as_lists():
    records = Records(("a",), [(1,), (None,)])
    assert json.loads(_compact_json([{"rows": records}])) == [{"rows": [{"a": 1}, {"a": None}]}]
    assert json.loads(_compact_json({1: records})) == {"1": [{"a": 1}, {"a": None}]}


stalled_rows = st.tuples(
    st.text(min_size=1), st.text(), st.sampled_from(["mentor", "mentee"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=2**40)), st.sampled_from(STAGES),
    st.sampled_from(["2026-03-01T09:00:00Z", "2026-12-31T23:59:59.123456Z"]), st.integers(min_value=0, max_value=5000),
    st.one_of(st.none(), st.sampled_from(["2026-02-27T09:00:00Z", "2026-02-27T09:00:00.5Z"])),
    st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
)


@given(st.lists(stalled_rows, max_size=10))
def test_the_stalled_lists_own_writer_matches_json_dumps(found):
    records = Records(STALLED_KEYS, found, _stalled_json)
    assert _compact_json({"stalled": records}) == json.dumps(
        {"stalled": dicts(found, STALLED_KEYS)}, ensure_ascii=False, separators=(",", ":")
    )
    assert records[:2].json_object is _stalled_json

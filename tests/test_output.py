"""JSON out: plain data written by a JSON library, in the shape json.dumps gives."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from mloop.output import json_text, print_json

# Floats in exponent form (1e16) are left out: orjson writes them without json's '+' (1e+16).
plain_floats = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: "e" not in repr(x))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63 - 1), plain_floats,
                    st.text())
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(), inner, max_size=4)),
                         max_leaves=20)


@given(documents)
def test_json_is_what_json_dumps_writes(document):
    assert json_text(document) == json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    assert json_text(document, indent=True) == json.dumps(document, ensure_ascii=False, indent=2)


def test_keys_keep_their_order_and_text_its_letters():
    document = {"zed": "Hana Novák", "alpha": "Łukasz \"Ł\" 李", "list": [{"b": 1, "a": None}]}
    assert json_text(document) == '{"zed":"Hana Novák","alpha":"Łukasz \\"Ł\\" 李","list":[{"b":1,"a":null}]}'


def test_datetimes_are_utc_text():
    utc = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
    document = {"at": utc, "naive": datetime(2026, 12, 1, 14, 0),
                "fraction": utc.replace(microsecond=123456), "none": None}
    assert json_text(document) == ('{"at":"2026-12-01T14:00:00Z",'
                                   '"naive":"2026-12-01T14:00:00Z","fraction":"2026-12-01T14:00:00.123456Z",'
                                   '"none":null}')
    assert json_text([utc], indent=True) == '[\n  "2026-12-01T14:00:00Z"\n]'


class Pair(NamedTuple):
    loop_id: int
    at: datetime


def test_named_tuples_are_arrays_and_number_keys_text_as_json_dumps_makes_them():
    at = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    assert json_text({"pair": Pair(6, at), 7: True}) == '{"pair":[6,"2026-03-01T09:00:00Z"],"7":true}'


def test_anything_else_is_refused():
    try:
        json_text({"what": object()})
    except TypeError as error:
        assert "object" in str(error)
    else:
        raise AssertionError("an object was written as JSON")


def test_print_json_writes_one_compact_document_to_a_pipe(capsys):
    print_json({"name": "Hana Novák", "stalled": []})
    assert capsys.readouterr().out == '{"name":"Hana Novák","stalled":[]}\n'

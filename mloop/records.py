"""Records that share their keys, kept as tuples.

A long listing (the coordinator report's stalled list runs to tens of
thousands of people on a large program) costs a dict per row to build, to
encode and to free.  ``Records`` keeps one tuple per row beside the keys and
reads as a sequence of dicts; ``encode_json`` writes it as the same JSON
array of objects the dicts would give, a row at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

encode_text = json.encoder.encode_basestring  # the C encoder's string writer, non-ASCII kept


class Records(Sequence):
    """Rows (tuples, in ``keys`` order) read as dicts.

    ``json_object`` may write one row as its JSON object where the producer
    knows its columns' types (a formatted string per row costs a third of
    encoding a dict); it must give what ``json.dumps`` gives for the row's dict.
    """

    __slots__ = ("keys", "rows", "json_object")

    def __init__(self, keys: Sequence[str], rows: list[tuple], json_object: Callable[[tuple], str] | None = None) -> None:
        self.keys = tuple(keys)
        self.rows = rows
        self.json_object = json_object

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Records(self.keys, self.rows[index], self.json_object)
        return dict(zip(self.keys, self.rows[index]))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keys = self.keys
        return (dict(zip(keys, row)) for row in self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Records):
            return self.keys == other.keys and self.rows == other.rows
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Records({self.keys!r}, {len(self.rows)} rows)"

    def encode_json(self, default: Callable[[Any], Any]) -> str:
        """The JSON array of objects, compact, non-ASCII kept (as ``json.dumps``
        with ``ensure_ascii=False`` and ``separators=(",", ":")`` writes it)."""
        if self.json_object is not None:
            return "[" + ",".join(map(self.json_object, self.rows)) + "]"
        template = "{" + ",".join(encode_text(key).replace("%", "%%") + ":%s" for key in self.keys) + "}"

        def value(v, text=encode_text, str=str, int=int):
            kind = type(v)
            if kind is str:
                return text(v)
            if kind is int:
                return repr(v)
            if v is None:
                return "null"
            return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=default)

        return "[" + ",".join([template % tuple(map(value, row)) for row in self.rows]) + "]"

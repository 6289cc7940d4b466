"""RFC 3339 `date`, `time` and `date-time` as strict `pattern`s, for the grammar compiler.

llguidance's built-in regexes for these formats are looser than RFC 3339 (5.6, 5.7): they accept February 29 in
every year and a leap second (`:60`) at any minute, so a strict schema's output could fail a standard format check.
`with_date_patterns` swaps each such `format` for an exact `pattern` before the schema is compiled. The patterns are
anchored, in the Rust `regex` syntax llguidance reads (no lookaround, no backreferences), and as lenient as
llguidance was where RFC 3339 allows it: `T` and `Z` in either case (5.6 NOTE), any number of fraction digits.

Leap years: divisible by 4, and not by 100 unless by 400 (year 0000 is one). A leap second is allowed only as
`23:59:60` written in UTC (`Z` or a zero offset). RFC 3339 also allows it at the local time whose offset makes it
23:59 UTC (`15:59:60-08:00`); pairing offset and local time takes one alternative per minute of the day (54 kB of
regex, 80-100 ms more compile time per schema, measured), so those rare values are refused: the grammar stays inside
the format, a little short of all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DATE", "DATE_TIME", "TIME", "with_date_patterns"]

_YEAR = "[0-9]{4}"
_MULTIPLE_OF_4 = "(?:0[48]|[2468][048]|[13579][26])"  # a two-digit number divisible by 4, 00 excepted
_LEAP_YEAR = f"(?:[0-9]{{2}}{_MULTIPLE_OF_4}|(?:00|{_MULTIPLE_OF_4})00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"  # 31 days
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"  # 30 days
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"  # 28 days; the 29th below
)
_FULL_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_FRACTION = r"(?:\.[0-9]+)?"
_OFFSET = "(?:[zZ]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_FULL_TIME = f"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{_FRACTION}{_OFFSET}|23:59:60{_FRACTION}(?:[zZ]|[+-]00:00))"

DATE = f"^{_FULL_DATE}$"
TIME = f"^{_FULL_TIME}$"
DATE_TIME = f"^{_FULL_DATE}[tT]{_FULL_TIME}$"

_PATTERNS = {"date": DATE, "time": TIME, "date-time": DATE_TIME}

# JSON Schema 2020-12's applicators (and draft 7's `definitions`, `additionalItems`, list-valued `items`): every place
# a subschema can stand. Values of any other keyword (`const`, `enum`, `default`, `examples`, ...) are data.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems", "items"})
_SCHEMAS = frozenset(
    {
        "items",
        "additionalItems",
        "additionalProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
    }
)


def with_date_patterns(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in which every string subschema with `format` `date`, `time` or `date-time` and no
    `pattern` has the strict pattern instead of the format. The input is not changed, and key order is kept (it is
    the output's property order).

    A subschema that has a `pattern` already keeps its `format` and `pattern` as they are. llguidance enforces both
    (it intersects them), so such a field gets the caller's pattern within llguidance's looser reading of the format.
    """
    return _walk(schema)


def _walk(schema: Mapping[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            copy[key] = {name: _subschema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            copy[key] = [_subschema(sub) for sub in value]
        elif key in _SCHEMAS:
            copy[key] = _subschema(value)
        else:
            copy[key] = value
    pattern = _PATTERNS.get(copy["format"]) if isinstance(copy.get("format"), str) else None
    if pattern is not None and "pattern" not in copy and _may_be_string(copy.get("type", "string")):
        del copy["format"]
        copy["pattern"] = pattern
    return copy


def _subschema(value: Any) -> Any:
    """A subschema copied by `_walk`; a boolean schema (or anything not an object) as it is."""
    return _walk(value) if isinstance(value, Mapping) else value


def _may_be_string(kind: Any) -> bool:
    return kind == "string" or (isinstance(kind, list) and "string" in kind)

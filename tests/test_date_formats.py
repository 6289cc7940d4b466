"""The strict RFC 3339 patterns that replace llguidance's `date`, `time` and `date-time` formats: the regexes on
their own (Python's `re` reads this subset of the Rust syntax the same way), the schema walk that puts them in, and
the grammars that every place compiling a schema now builds from them."""

from __future__ import annotations

import calendar
import copy
import itertools
import json
import re
from typing import Any

import pytest

from homeport.engines.constraints import Constraint, FunctionTool, Grammars, JsonSchema, ToolCalls
from homeport.engines.date_formats import DATE, DATE_TIME, TIME, with_date_patterns

Schema = dict[str, Any]


def matches(pattern: str, value: str) -> bool:
    """Whether the anchored `pattern` matches all of `value` (Python's `$` would also match before a final newline,
    Rust's does not)."""
    assert pattern.startswith("^") and pattern.endswith("$")
    return re.fullmatch(pattern[1:-1], value) is not None


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-02-29", True),
        ("2000-02-29", True),  # divisible by 400
        ("0000-02-29", True),
        ("2023-02-29", False),
        ("1900-02-29", False),  # divisible by 100, not by 400
        ("2023-02-28", True),
        ("2023-04-30", True),
        ("2023-04-31", False),
        ("2023-12-31", True),
        ("2023-13-01", False),
        ("2023-00-10", False),
        ("2023-01-00", False),
        ("23-01-01", False),
        ("2023-1-01", False),
        (" 2023-01-01", False),
        ("2023-01-01\n", False),
    ],
)
def test_date(value: str, valid: bool) -> None:
    assert matches(DATE, value) == valid


def test_february_29_exactly_in_leap_years() -> None:
    for year in range(10000):
        assert matches(DATE, f"{year:04d}-02-29") == calendar.isleap(year), year


def test_every_day_of_every_month_and_no_more() -> None:
    for year, month, day in itertools.product((2023, 2024), range(14), range(33)):
        valid = 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
        assert matches(DATE, f"{year}-{month:02d}-{day:02d}") == valid, (year, month, day)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("00:00:00Z", True),
        ("23:59:59z", True),
        ("12:34:56.789+05:30", True),
        ("12:34:56.1-08:00", True),
        ("12:34:56-23:59", True),
        ("23:59:60Z", True),  # a leap second, in UTC
        ("23:59:60.5+00:00", True),
        ("23:59:60-00:00", True),
        ("12:00:60Z", False),
        ("23:58:60Z", False),
        ("15:59:60-08:00", False),  # 23:59:60 UTC, but only UTC leap seconds are kept (see date_formats)
        ("24:00:00Z", False),
        ("12:60:00Z", False),
        ("12:00:61Z", False),
        ("12:00:00", False),  # the offset is required
        ("12:00:00+24:00", False),
        ("12:00:00+05:60", False),
        ("12:00:00.Z", False),
        ("12:00Z", False),
    ],
)
def test_time(value: str, valid: bool) -> None:
    assert matches(TIME, value) == valid
    assert matches(DATE_TIME, f"2024-02-29T{value}") == valid


def test_every_second_of_the_day_and_one_leap_second() -> None:
    for hour, minute, second in itertools.product(range(25), range(61), range(62)):
        valid = (hour < 24 and minute < 60 and second < 60) or (hour, minute, second) == (23, 59, 60)
        assert matches(TIME, f"{hour:02d}:{minute:02d}:{second:02d}Z") == valid, (hour, minute, second)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-02-29T23:59:60.123Z", True),
        ("1963-06-19t08:30:06.283185z", True),  # RFC 3339 5.6 NOTE: either case
        ("2020-01-01T12:00:00+23:59", True),
        ("2021-02-29T00:00:00Z", False),
        ("2020-01-01 12:00:00Z", False),
        ("2020-01-01T12:00:00", False),
        ("2020-01-01", False),
    ],
)
def test_date_time(value: str, valid: bool) -> None:
    assert matches(DATE_TIME, value) == valid


# --- The schema walk ---------------------------------------------------------------------------------------------

DATE_SCHEMA: Schema = {"type": "string", "format": "date"}
STRICT_DATE: Schema = {"type": "string", "pattern": DATE}


def test_every_place_a_subschema_stands_is_rewritten() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time", "description": "format: date"},
            "at": {"type": ["string", "null"], "format": "time"},
            "days": {"type": "array", "items": DATE_SCHEMA},
            "pair": {"type": "array", "prefixItems": [DATE_SCHEMA, {"$ref": "#/$defs/day"}]},
            "either": {"anyOf": [DATE_SCHEMA, {"type": "null"}]},
            "map": {"type": "object", "additionalProperties": DATE_SCHEMA},
            "closed": {"type": "object", "additionalProperties": False},
        },
        "$defs": {"day": DATE_SCHEMA},
        "definitions": {"day": {"format": "date"}},
    }
    assert with_date_patterns(schema) == {
        "type": "object",
        "properties": {
            "when": {"type": "string", "description": "format: date", "pattern": DATE_TIME},
            "at": {"type": ["string", "null"], "pattern": TIME},
            "days": {"type": "array", "items": STRICT_DATE},
            "pair": {"type": "array", "prefixItems": [STRICT_DATE, {"$ref": "#/$defs/day"}]},
            "either": {"anyOf": [STRICT_DATE, {"type": "null"}]},
            "map": {"type": "object", "additionalProperties": STRICT_DATE},
            "closed": {"type": "object", "additionalProperties": False},
        },
        "$defs": {"day": STRICT_DATE},
        "definitions": {"day": {"pattern": DATE}},
    }


def test_values_patterns_and_other_formats_are_left_alone() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "format": {"type": "string", "format": "uuid"},  # a property named like the keyword
            "own": {"type": "string", "format": "date", "pattern": "^2[0-9]{3}-"},
            "number": {"type": "integer", "format": "date"},
            "fixed": {"const": {"type": "string", "format": "date"}},
            "choice": {"enum": [{"format": "date"}], "default": {"format": "time"}},
            "shown": {"type": "string", "examples": [{"format": "date-time"}]},
        },
    }
    before = copy.deepcopy(schema)
    assert with_date_patterns(schema) == before
    assert schema == before


def test_the_input_is_not_changed_and_key_order_is_kept() -> None:
    schema: Schema = {"type": "object", "properties": {"z": DATE_SCHEMA, "a": {"type": "string"}, "m": DATE_SCHEMA}}
    before = copy.deepcopy(schema)
    rewritten = with_date_patterns(schema)
    assert schema == before
    assert list(rewritten["properties"]) == ["z", "a", "m"]


# --- Every place a schema is compiled ----------------------------------------------------------------------------


def accepts(grammars: Grammars, constraint: Constraint, answer: str) -> bool:
    processor = grammars.processor(constraint)
    for token in grammars.tokenizer.tokenize_str(answer):
        processor.advance(token)
    return processor.accepting and processor.error is None


EVENT: Schema = {
    "type": "object",
    "properties": {"day": DATE_SCHEMA, "start": {"type": "string", "format": "date-time"}},
    "required": ["day", "start"],
    "additionalProperties": False,
}
GOOD = {"day": "2024-02-29", "start": "2024-02-29T23:59:60.5Z"}
BAD = [{**GOOD, "day": "2023-02-29"}, {**GOOD, "start": "2024-02-29T12:00:60Z"}]


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize(
    "constraint",
    [JsonSchema(EVENT), JsonSchema(EVENT, strict=False), ToolCalls([FunctionTool("noop")], text=JsonSchema(EVENT))],
    ids=["strict", "non-strict", "text-beside-tools"],
)
def test_structured_output_schemas_get_the_strict_patterns(grammars: Grammars, constraint: Constraint) -> None:
    assert accepts(grammars, constraint, compact(GOOD))
    assert not any(accepts(grammars, constraint, compact(bad)) for bad in BAD)


def test_function_parameters_get_the_strict_patterns(grammars: Grammars) -> None:
    def call(arguments: object) -> str:
        return f'<tool_call>\n{{"name": "book", "arguments": {json.dumps(arguments)}}}\n</tool_call>'

    for strict in (True, False):
        tools = ToolCalls([FunctionTool("book", EVENT, strict=strict)], required=True)
        assert accepts(grammars, tools, call(GOOD))
        assert not any(accepts(grammars, tools, call(bad)) for bad in BAD)

"""The size limits of a strict Structured Outputs schema, counted as the schema is walked.

The numbers are OpenAI's (Structured Outputs guide, "Objects have limitations on nesting depth and size",
"Limitations on total string size", "Limitations on enum size": `reference/docs/004_*.txt` lines 2596-2606). They
exist there, and here, to bound the cost of compiling a schema into a decoding grammar. Everything is counted as
written, never by expanding `$ref`: a recursive schema is finite text but has no finite expansion.

`SchemaBudget` only counts and words the problem; `schema_subset` points the error at the schema where a running
total went over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MAX_OBJECT_PROPERTIES = 5_000
"""Properties summed over every object schema, `$defs` included ("up to 5000 object properties total")."""

MAX_NESTING_DEPTH = 10
"""Object schemas inside one another, the root being level 1 ("up to 10 levels of nesting")."""

MAX_ENUM_VALUES = 1_000
"""Values summed over every `enum` ("up to 1000 enum values across all enum properties")."""

MAX_TOTAL_STRING_LENGTH = 120_000
"""Characters of property names, definition names, string enum values and string const values together."""

LARGE_ENUM_VALUES = 250
"""An `enum` with more values than this is "large" and its strings are capped by `MAX_LARGE_ENUM_STRING_LENGTH`."""

MAX_LARGE_ENUM_STRING_LENGTH = 15_000
"""Characters of the string values of one large `enum`."""


def _string_length(values: Iterable[object]) -> int:
    # Only strings have a "string length"; a number or boolean in an enum or const adds nothing.
    return sum(len(value) for value in values if isinstance(value, str))


class SchemaBudget:
    """Running totals for one schema; each `add_*` returns the problem in words, or None while within limits."""

    def __init__(self) -> None:
        self.properties = 0
        self.enum_values = 0
        self.string_length = 0

    def add_properties(self, names: Iterable[str]) -> str | None:
        names = list(names)
        self.properties += len(names)
        if self.properties > MAX_OBJECT_PROPERTIES:
            return (
                f"a schema may have at most {MAX_OBJECT_PROPERTIES} object properties in total, "
                f"and this one has at least {self.properties}."
            )
        return self._add_strings(names)

    def add_definitions(self, names: Iterable[str]) -> str | None:
        return self._add_strings(names)

    def add_const(self, value: object) -> str | None:
        return self._add_strings([value])

    def add_enum(self, values: Sequence[object]) -> str | None:
        """Counts one `enum`; the large-enum rule is about this enum alone, the others about the whole schema."""
        strings = _string_length(values)
        if len(values) > LARGE_ENUM_VALUES and strings > MAX_LARGE_ENUM_STRING_LENGTH:
            return (
                f"an enum with more than {LARGE_ENUM_VALUES} values may total at most "
                f"{MAX_LARGE_ENUM_STRING_LENGTH} characters of strings, and this one ({len(values)} values) "
                f"totals {strings}."
            )
        self.enum_values += len(values)
        if self.enum_values > MAX_ENUM_VALUES:
            return (
                f"a schema may have at most {MAX_ENUM_VALUES} enum values across all enums, "
                f"and this one has at least {self.enum_values}."
            )
        return self._add_strings(values)

    def _add_strings(self, values: Iterable[object]) -> str | None:
        self.string_length += _string_length(values)
        if self.string_length > MAX_TOTAL_STRING_LENGTH:
            return (
                "the total string length of property names, definition names, enum values and const values "
                f"may be at most {MAX_TOTAL_STRING_LENGTH} characters, and this schema has at least "
                f"{self.string_length}."
            )
        return None


def nesting_problem(depth: int) -> str | None:
    """The nesting rule in words when an object schema sits at `depth` (the root object is 1)."""
    if depth > MAX_NESTING_DEPTH:
        return f"objects may be nested at most {MAX_NESTING_DEPTH} levels deep, and this object is at level {depth}."
    return None

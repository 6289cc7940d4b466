"""OpenAI's attribute filters (`ComparisonFilter`, `CompoundFilter`) and the attributes they test.

A filter is parsed once per request into frozen dataclasses, every problem reported as a 400 naming the offending
part (`filters.filters[1].value`), then matched against each file's attributes. OpenAI documents the operators but
not the edge cases; these rules are ours, chosen so that a filter never matches by accident:

- A comparison on a key the file does not have is false, for every operator, `ne` and `nin` included: a missing
  value is not a different value.
- Values compare only within one kind: string, number or boolean. `1` never equals `"1"`, and `true` is not `1`;
  a comparison across kinds is false (`ne` too). Numbers compare numerically (`1 == 1.0`).
- `gt`, `gte`, `lt`, `lte` order numbers numerically and strings by code point (lexicographically, so ISO-8601
  dates order correctly); a boolean value is only accepted with `eq` and `ne`.
- `in` / `nin` take a list of strings and numbers: `in` is `eq` to any element, `nin` is `ne` to every element
  (so an empty list matches nothing with `in` and any present value with `nin`, and `nin` is false when an element
  is of another kind than the attribute).
- `and` / `or` take a non-empty list of filters, nested to at most `MAX_DEPTH` levels.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast, get_args

from homeport.errors import InvalidRequest

Scalar: TypeAlias = str | float | bool
ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
CompoundType = Literal["and", "or"]

MAX_DEPTH = 16
"""Nesting allowed for compound filters: deep enough for any real query, shallow enough for any stack."""

MAX_ATTRIBUTES, MAX_KEY_LENGTH, MAX_STRING_LENGTH = 16, 64, 512
"""OpenAI's limits on a vector store file's `attributes`."""

_COMPARISONS: tuple[str, ...] = get_args(ComparisonType)
_COMPOUNDS: tuple[str, ...] = get_args(CompoundType)
_ORDERINGS = frozenset({"gt", "gte", "lt", "lte"})
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class Comparison:
    """`key` compared with `value` by `type`; `value` is a tuple for `in` / `nin`."""

    type: ComparisonType
    key: str
    value: Scalar | tuple[str | float, ...]


@dataclass(frozen=True)
class Compound:
    """All (`and`) or any (`or`) of `filters`, which is never empty."""

    type: CompoundType
    filters: tuple[Filter, ...]


Filter: TypeAlias = Comparison | Compound


def parse_filter(raw: object, *, param: str) -> Filter:
    """A validated filter from its JSON form; `param` names where it sits in the request (e.g. "filters")."""
    return _parse(raw, param, depth=1)


def matches(filter: Filter, attributes: Mapping[str, Scalar]) -> bool:
    """Whether a file with these attributes passes the filter (the module docstring gives the rules)."""
    if isinstance(filter, Compound):
        results = (matches(inner, attributes) for inner in filter.filters)
        return all(results) if filter.type == "and" else any(results)
    if filter.key not in attributes:
        return False
    actual = attributes[filter.key]
    if filter.type == "in":
        return any(_compare("eq", actual, value) for value in cast(tuple[Scalar, ...], filter.value))
    if filter.type == "nin":
        return all(_compare("ne", actual, value) for value in cast(tuple[Scalar, ...], filter.value))
    return _compare(filter.type, actual, cast(Scalar, filter.value))


def validate_attributes(raw: object, *, param: str) -> dict[str, Scalar]:
    """A vector store file's `attributes`, checked against OpenAI's limits: at most 16 keys of at most 64 characters,
    values strings (at most 512 characters), numbers or booleans."""
    if not isinstance(raw, Mapping):
        raise _invalid_type(param, "an object", raw)
    if len(raw) > MAX_ATTRIBUTES:
        message = f"Invalid '{param}': too many pairs ({len(raw)}); at most {MAX_ATTRIBUTES}."
        raise InvalidRequest(message, param=param, code="invalid_value")
    checked: dict[str, Scalar] = {}
    for key, value in raw.items():
        where = f"{param}.{key}"
        if not isinstance(key, str):
            raise _invalid_type(param, "string keys", key)
        if len(key) > MAX_KEY_LENGTH:
            message = f"Invalid '{param}': key {key[:70]!r} is longer than {MAX_KEY_LENGTH} characters."
            raise InvalidRequest(message, param=param, code="invalid_value")
        if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
            message = f"Invalid '{where}': string too long ({len(value)} characters); at most {MAX_STRING_LENGTH}."
            raise InvalidRequest(message, param=where, code="string_above_max_length")
        checked[key] = _scalar(value, where)
    return checked


def _parse(raw: object, param: str, depth: int) -> Filter:
    if not isinstance(raw, Mapping):
        raise _invalid_type(param, "an object", raw)
    if "type" not in raw:
        raise _missing(f"{param}.type")
    kind = raw["type"]
    if kind in _COMPOUNDS:
        _no_extra(raw, param, ("type", "filters"))
        if "filters" not in raw:
            raise _missing(f"{param}.filters")
        return _compound(cast(CompoundType, kind), raw["filters"], param, depth)
    if kind in _COMPARISONS:
        _no_extra(raw, param, ("type", "key", "value"))
        return _comparison(cast(ComparisonType, kind), raw, param)
    supported = ", ".join(f"'{name}'" for name in (*_COMPARISONS, *_COMPOUNDS))
    message = f"Invalid value for '{param}.type': {kind!r}. Supported values are: {supported}."
    raise InvalidRequest(message, param=f"{param}.type", code="invalid_value")


def _compound(kind: CompoundType, filters: object, param: str, depth: int) -> Compound:
    where = f"{param}.filters"
    if not isinstance(filters, list):
        raise _invalid_type(where, "an array", filters)
    if not filters:
        raise InvalidRequest(f"Invalid '{where}': empty array; expected at least one filter.", param=where)
    if depth >= MAX_DEPTH:
        message = f"Invalid '{param}': filters nested deeper than {MAX_DEPTH} levels."
        raise InvalidRequest(message, param=param, code="invalid_value")
    return Compound(kind, tuple(_parse(inner, f"{where}[{i}]", depth + 1) for i, inner in enumerate(filters)))


def _comparison(kind: ComparisonType, raw: Mapping[object, object], param: str) -> Comparison:
    for name in ("key", "value"):
        if name not in raw:
            raise _missing(f"{param}.{name}")
    key, value = raw["key"], raw["value"]
    if not isinstance(key, str):
        raise _invalid_type(f"{param}.key", "a string", key)
    where = f"{param}.value"
    if kind in ("in", "nin"):
        if not isinstance(value, list):
            raise _invalid_type(where, f"an array of strings and numbers for '{kind}'", value)
        items = tuple(_scalar(item, f"{where}[{i}]") for i, item in enumerate(value))
        for i, item in enumerate(items):
            if isinstance(item, bool):
                raise _invalid_type(f"{where}[{i}]", "a string or a number", item)
        return Comparison(kind, key, cast(tuple[str | float, ...], items))
    scalar = _scalar(value, where)
    if isinstance(scalar, bool) and kind in _ORDERINGS:
        raise _invalid_type(where, f"a string or a number for '{kind}'", value)
    return Comparison(kind, key, scalar)


def _scalar(value: object, param: str) -> Scalar:
    """A string, a boolean, or a finite number (ints kept as they are: `1` and `1.0` compare equal anyway)."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidRequest(f"Invalid '{param}': numbers must be finite.", param=param, code="invalid_value")
        return value
    raise _invalid_type(param, "a string, a number or a boolean", value)


def _kind(value: object) -> str:
    """The kind comparisons stay within; bool first, as Python's bool is an int. A stored attribute of any other
    type (never written by `validate_attributes`) is of no kind a filter value has: it matches nothing."""
    if isinstance(value, bool | str):
        return type(value).__name__
    return "number" if isinstance(value, int | float) else "other"


def _compare(kind: ComparisonType, actual: Scalar, expected: Scalar) -> bool:
    """`actual <kind> expected`, false across kinds (`ne` too); a boolean reaches here only with eq and ne."""
    return _kind(actual) == _kind(expected) and bool(_OPERATORS[kind](actual, expected))


def _no_extra(raw: Mapping[object, object], param: str, allowed: tuple[str, ...]) -> None:
    for name in raw:
        if name not in allowed:
            raise InvalidRequest(
                f"Unknown parameter: '{param}.{name}'.", param=f"{param}.{name}", code="unknown_parameter"
            )


def _missing(param: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _invalid_type(param: str, expected: str, got: object) -> InvalidRequest:
    message = f"Invalid type for '{param}': expected {expected}, but got {_json_type(got)} instead."
    return InvalidRequest(message, param=param, code="invalid_type")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list | tuple) else "an object"

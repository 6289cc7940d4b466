"""Attribute filters: every operator, nesting, kinds never mixed, missing keys, and 400s that name the bad part."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeport.errors import InvalidRequest
from homeport.retrieval.filters import Comparison, Compound, Filter, matches, parse_filter, validate_attributes

ATTRIBUTES: dict[str, str | float | bool] = {"region": "eu", "year": 2024, "score": 0.5, "draft": False}


def check(raw: dict[str, Any], attributes: dict[str, str | float | bool] = ATTRIBUTES) -> bool:
    return matches(parse_filter(raw, param="filters"), attributes)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("eq", 2024, True),
        ("eq", 2024.0, True),
        ("eq", 2023, False),
        ("ne", 2023, True),
        ("ne", 2024, False),
        ("gt", 2023, True),
        ("gt", 2024, False),
        ("gte", 2024, True),
        ("gte", 2025, False),
        ("lt", 2025, True),
        ("lt", 2024, False),
        ("lte", 2024, True),
        ("lte", 2023.5, False),
        ("in", [2023, 2024], True),
        ("in", [2023], False),
        ("nin", [2023], True),
        ("nin", [2024, 2025], False),
    ],
)
def test_number_operators(kind: str, value: object, expected: bool) -> None:
    assert check({"type": kind, "key": "year", "value": value}) is expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("eq", "eu", True),
        ("ne", "us", True),
        ("gt", "asia", True),  # lexicographic
        ("gt", "us", False),
        ("gte", "eu", True),
        ("lt", "eua", True),
        ("lte", "e", False),
        ("in", ["us", "eu"], True),
        ("nin", ["us", "asia"], True),
        ("nin", ["eu"], False),
    ],
)
def test_string_operators(kind: str, value: object, expected: bool) -> None:
    assert check({"type": kind, "key": "region", "value": value}) is expected


def test_iso_dates_order_as_strings() -> None:
    attributes = {"date": "2024-03-01"}
    assert check({"type": "gt", "key": "date", "value": "2023-12-31"}, attributes)
    assert not check({"type": "lt", "key": "date", "value": "2024-02-29"}, attributes)


def test_booleans_only_equal_or_differ() -> None:
    assert check({"type": "eq", "key": "draft", "value": False})
    assert check({"type": "ne", "key": "draft", "value": True})
    with pytest.raises(InvalidRequest) as raised:
        parse_filter({"type": "gt", "key": "draft", "value": True}, param="filters")
    assert raised.value.param == "filters.value"


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "eq", "key": "year", "value": "2024"},  # number attribute, string value
        {"type": "ne", "key": "year", "value": "2023"},  # across kinds even `ne` is false
        {"type": "eq", "key": "draft", "value": 0},  # a boolean is not a number
        {"type": "eq", "key": "region", "value": 1},
        {"type": "gt", "key": "region", "value": 1},
        {"type": "in", "key": "year", "value": ["2024"]},
        {"type": "nin", "key": "year", "value": ["2023", 2023]},  # nin is `ne` to every element
    ],
)
def test_kinds_never_mix(raw: dict[str, Any]) -> None:
    assert not check(raw)


@pytest.mark.parametrize("kind", ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"])
def test_missing_key_never_matches(kind: str) -> None:
    value: object = ["x"] if kind in ("in", "nin") else "x"
    assert not check({"type": kind, "key": "absent", "value": value})


def test_attributes_of_other_types_match_nothing() -> None:
    odd: dict[str, Any] = {"a": None, "b": [1]}
    for kind in ("eq", "ne", "gt", "lte"):
        assert not check({"type": kind, "key": "a", "value": 1}, odd)
    assert not check({"type": "in", "key": "b", "value": [1]}, odd)


def test_empty_lists() -> None:
    assert not check({"type": "in", "key": "region", "value": []})
    assert check({"type": "nin", "key": "region", "value": []})


def test_nesting() -> None:
    raw = {
        "type": "and",
        "filters": [
            {"type": "eq", "key": "region", "value": "eu"},
            {
                "type": "or",
                "filters": [
                    {"type": "lt", "key": "year", "value": 2000},
                    {"type": "eq", "key": "draft", "value": False},
                ],
            },
        ],
    }
    assert check(raw)
    assert not check(raw, {**ATTRIBUTES, "draft": True})
    assert not check({"type": "or", "filters": [{"type": "eq", "key": "absent", "value": 1}]})
    assert parse_filter(raw, param="filters") == Compound(
        "and",
        (
            Comparison("eq", "region", "eu"),
            Compound("or", (Comparison("lt", "year", 2000), Comparison("eq", "draft", False))),
        ),
    )


@pytest.mark.parametrize(
    ("raw", "param", "code"),
    [
        ("eu", "filters", "invalid_type"),
        ({"key": "a", "value": 1}, "filters.type", "missing_required_parameter"),
        ({"type": "like", "key": "a", "value": 1}, "filters.type", "invalid_value"),
        ({"type": "eq", "key": "a", "value": 1, "extra": 1}, "filters.extra", "unknown_parameter"),
        ({"type": "eq", "value": 1}, "filters.key", "missing_required_parameter"),
        ({"type": "eq", "key": 3, "value": 1}, "filters.key", "invalid_type"),
        ({"type": "eq", "key": "a"}, "filters.value", "missing_required_parameter"),
        ({"type": "eq", "key": "a", "value": None}, "filters.value", "invalid_type"),
        ({"type": "eq", "key": "a", "value": [1]}, "filters.value", "invalid_type"),
        ({"type": "eq", "key": "a", "value": float("nan")}, "filters.value", "invalid_value"),
        ({"type": "in", "key": "a", "value": "eu"}, "filters.value", "invalid_type"),
        ({"type": "in", "key": "a", "value": ["eu", True]}, "filters.value[1]", "invalid_type"),
        ({"type": "in", "key": "a", "value": ["eu", {}]}, "filters.value[1]", "invalid_type"),
        ({"type": "and"}, "filters.filters", "missing_required_parameter"),
        ({"type": "and", "filters": {}}, "filters.filters", "invalid_type"),
        ({"type": "or", "filters": []}, "filters.filters", None),
        (
            {"type": "and", "filters": [{"type": "eq", "key": "a", "value": 1}], "key": "a"},
            "filters.key",
            "unknown_parameter",
        ),
        (
            {
                "type": "and",
                "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "or", "filters": [{"type": "x"}]}],
            },
            "filters.filters[1].filters[0].type",
            "invalid_value",
        ),
    ],
)
def test_parse_errors_name_the_part(raw: object, param: str, code: str | None) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_filter(raw, param="filters")
    assert (raised.value.param, raised.value.code) == (param, code)
    assert raised.value.status_code == 400


def test_param_prefix_is_the_caller_s() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_filter({"type": "and", "filters": [{"type": "eq"}]}, param="tools[0].filters")
    assert raised.value.param == "tools[0].filters.filters[0].key"


def test_depth_is_bounded() -> None:
    raw: dict[str, Any] = {"type": "eq", "key": "a", "value": 1}
    for _ in range(40):
        raw = {"type": "and", "filters": [raw]}
    with pytest.raises(InvalidRequest):
        parse_filter(raw, param="filters")


def test_attributes_valid() -> None:
    attributes = {"k" * 64: "v" * 512, "n": 1.5, "i": 3, "b": True}
    assert validate_attributes(attributes, param="attributes") == attributes
    assert validate_attributes({}, param="attributes") == {}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ([], "attributes"),
        ({f"k{i}": i for i in range(17)}, "attributes"),
        ({"k" * 65: "v"}, "attributes"),
        ({"k": "v" * 513}, "attributes.k"),
        ({"k": None}, "attributes.k"),
        ({"k": ["a"]}, "attributes.k"),
        ({"k": {"a": 1}}, "attributes.k"),
        ({"k": float("inf")}, "attributes.k"),
    ],
)
def test_attributes_invalid(raw: object, param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validate_attributes(raw, param="attributes")
    assert raised.value.param == param


# -- properties ---------------------------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c"])
ORDERED = st.one_of(st.text(max_size=3), st.integers(-3, 3), st.floats(-3, 3, allow_nan=False))
SCALARS = st.one_of(ORDERED, st.booleans())


@st.composite
def comparisons(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]))
    if kind in ("in", "nin"):
        value: object = draw(st.lists(ORDERED, max_size=3))
    else:
        value = draw(SCALARS if kind in ("eq", "ne") else ORDERED)
    return {"type": kind, "key": draw(KEYS), "value": value}


FILTERS = st.recursive(
    comparisons(),
    lambda inner: st.builds(
        lambda kind, filters: {"type": kind, "filters": filters},
        st.sampled_from(["and", "or"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)
ATTRIBUTE_MAPS = st.dictionaries(KEYS, SCALARS, max_size=3)
_OPPOSITE = {"eq": "ne", "ne": "eq", "gt": "lte", "lte": "gt", "gte": "lt", "lt": "gte", "in": "nin", "nin": "in"}


def negate(raw: dict[str, Any]) -> dict[str, Any]:
    """The filter's negation by De Morgan; exact wherever every compared key is present and of the value's kind."""
    if raw["type"] in ("and", "or"):
        return {"type": "or" if raw["type"] == "and" else "and", "filters": [negate(inner) for inner in raw["filters"]]}
    return {**raw, "type": _OPPOSITE[raw["type"]]}


def well_typed(raw: dict[str, Any], attributes: dict[str, Any]) -> bool:
    if raw["type"] in ("and", "or"):
        return all(well_typed(inner, attributes) for inner in raw["filters"])
    values = raw["value"] if isinstance(raw["value"], list) else [raw["value"]]
    return raw["key"] in attributes and all(_kind(value) == _kind(attributes[raw["key"]]) for value in values)


def _kind(value: object) -> type:
    return bool if isinstance(value, bool) else str if isinstance(value, str) else float


@given(FILTERS, ATTRIBUTE_MAPS)
def test_a_filter_and_its_negation_never_both_match(raw: dict[str, Any], attributes: dict[str, Any]) -> None:
    both = {"type": "and", "filters": [raw, negate(raw)]}
    assert not check(both, attributes)


@given(FILTERS, ATTRIBUTE_MAPS)
def test_on_present_well_typed_keys_one_of_them_matches(raw: dict[str, Any], attributes: dict[str, Any]) -> None:
    if well_typed(raw, attributes):
        assert check(raw, attributes) != check(negate(raw), attributes)


@given(FILTERS)
def test_parsing_keeps_the_structure(raw: dict[str, Any]) -> None:
    parsed: Filter = parse_filter(raw, param="filters")
    assert parse_filter(raw, param="filters") == parsed
    assert isinstance(parsed, Compound if raw["type"] in ("and", "or") else Comparison)

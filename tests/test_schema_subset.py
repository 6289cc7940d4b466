"""The strict-schema check: the documentation's schemas pass, and each way out of the subset is a 400 pointing at it."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel, Field

from homeport.engines.schema_subset import (
    LARGE_ENUM_VALUES,
    MAX_ENUM_VALUES,
    MAX_LARGE_ENUM_STRING_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_OBJECT_PROPERTIES,
    MAX_TOTAL_STRING_LENGTH,
    SUPPORTED_FORMATS,
    check_strict_schema,
)
from homeport.errors import InvalidRequest

PREFIX = "text.format.schema"


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A strict object schema: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


def string(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def rejected(schema: Any, param: str = PREFIX) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        check_strict_schema(schema, param=param)
    return info.value


# --- The documentation's schemas (reference/docs/004, "Structured model outputs") and others inside the subset ---

CALENDAR_EVENT = obj({"name": string(), "date": string(), "participants": {"type": "array", "items": string()}})

MATH_REASONING = obj(
    {
        "steps": {"type": "array", "items": obj({"explanation": string(), "output": string()})},
        "final_answer": string(),
    }
)

RESEARCH_PAPER = obj(
    {
        "title": string(),
        "authors": {"type": "array", "items": string()},
        "abstract": string(),
        "keywords": {"type": "array", "items": string()},
    }
)

UI = obj(
    {
        "type": string(description="The type of the UI component", enum=["div", "button", "header", "section"]),
        "label": string(description="The label of the UI component, used for buttons or form fields"),
        "children": {"type": "array", "description": "Nested UI components", "items": {"$ref": "#"}},
        "attributes": {"type": "array", "items": obj({"name": string(), "value": string()})},
    }
)

CONTENT_COMPLIANCE = obj(
    {
        "is_violating": {"type": "boolean"},
        "category": {"type": ["string", "null"], "enum": ["violence", "sexual", "self_harm"]},
        "explanation_if_violating": {"type": ["string", "null"]},
    }
)

USER_DATA = obj(
    {
        "name": string(description="The name of the user"),
        "username": string(pattern="^@[a-zA-Z0-9_]+$"),
        "email": string(format="email"),
    }
)

WEATHER_DATA = obj(
    {
        "location": string(),
        "unit": {"type": ["string", "null"], "enum": ["F", "C"]},
        "value": {"type": "number", "minimum": -130, "maximum": 130},
    }
)

DEFS_STEPS = obj(
    {"steps": {"type": "array", "items": {"$ref": "#/$defs/step"}}, "final_answer": string()},
    **{"$defs": {"step": obj({"explanation": string(), "output": string()})}},
)

LINKED_LIST = obj(
    {"linked_list": {"$ref": "#/$defs/linked_list_node"}},
    **{
        "$defs": {
            "linked_list_node": obj(
                {
                    "value": {"type": "number"},
                    "next": {"anyOf": [{"$ref": "#/$defs/linked_list_node"}, {"type": "null"}]},
                }
            )
        }
    },
)

ANY_OF_ITEM = obj(
    {
        "item": {
            "anyOf": [
                obj({"name": string(), "age": {"type": "number"}}, description="The user object"),
                obj({"number": string(), "street": string(), "city": string()}, description="The address object"),
            ]
        }
    }
)

VALID = {
    "calendar_event": CALENDAR_EVENT,
    "math_reasoning": MATH_REASONING,
    "research_paper_extraction": RESEARCH_PAPER,
    "ui_recursive_root": UI,
    "content_compliance_nullable_enum": CONTENT_COMPLIANCE,
    "user_data_pattern_format": USER_DATA,
    "weather_data_bounds": WEATHER_DATA,
    "defs_steps": DEFS_STEPS,
    "linked_list_recursive_defs": LINKED_LIST,
    "anyof_below_root": ANY_OF_ITEM,
    "empty_object": obj({}),
    "every_number_bound": obj(
        {
            "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5, "multipleOf": 0.25},
            "i": {"type": "integer", "minimum": 1, "maximum": 10, "enum": [1, 2, 3.0]},
        }
    ),
    "array_bounds": obj({"tags": {"type": "array", "items": string(), "minItems": 1, "maxItems": 3}}),
    "const_and_untyped_enum": obj({"kind": {"const": "event"}, "level": {"enum": ["low", 2, True, None]}}),
    "nullable_object": obj({"address": {**obj({"zip": string()}), "type": ["object", "null"]}}),
    "nested_anyof": obj({"v": {"anyOf": [{"anyOf": [string(), {"type": "integer"}]}, {"type": "null"}]}}),
    "annotations": obj(
        {"n": {"type": "integer", "title": "N", "default": 3, "examples": [1, 2], "$comment": "why"}},
        title="Model",
        **{"$schema": "https://json-schema.org/draft/2020-12/schema"},
    ),
    "ref_with_description": obj(
        {"color": {"$ref": "#/$defs/Color", "description": "favourite"}},
        **{"$defs": {"Color": {"type": "string", "enum": ["red", "blue"], "title": "Color"}}},
    ),
    "older_definitions_keyword": obj(
        {"a": {"$ref": "#/definitions/A"}}, definitions={"A": obj({"b": {"type": "boolean"}})}
    ),
    "ref_into_properties": obj({"a": obj({"b": string()}), "c": {"$ref": "#/properties/a"}}),
    "ref_escaped_name": obj({"a": {"$ref": "#/$defs/x~1y%20z"}}, **{"$defs": {"x/y z": string()}}),
    "ref_chain": obj({"a": {"$ref": "#/$defs/A"}}, **{"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"type": "integer"}}}),
    **{f"format_{name}": obj({"v": string(format=name)}) for name in sorted(SUPPORTED_FORMATS)},
}


@pytest.mark.parametrize("schema", list(VALID.values()), ids=list(VALID))
def test_supported_schema_passes(schema: dict[str, Any]) -> None:
    check_strict_schema(schema, param=PREFIX)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str = Field(description="The street")
    zip: str


class Event(BaseModel):
    name: str = Field(title="Name of the event")
    attendees: int = Field(ge=0, le=150)
    starts: datetime.datetime
    day: datetime.date
    id: uuid.UUID
    color: Color
    kind: Literal["meeting"]
    mood: Literal["good", "bad"]
    note: str | None = None
    address: Address = Field(description="Where")
    others: list[Address]
    tags: list[str] = Field(default_factory=list)
    priority: int = 3


class Node(BaseModel):
    label: str
    children: list[Node]


@pytest.mark.parametrize("model", [Event, Node], ids=["pydantic_event", "pydantic_recursive_node"])
def test_the_sdk_strict_helper_output_passes(model: type[BaseModel]) -> None:
    """`client.responses.parse(text_format=Model)` sends what the SDK's strict helper makes; it must be accepted."""
    parameters = openai.pydantic_function_tool(model)["function"]["parameters"]
    check_strict_schema(parameters, param="tools[0].parameters")


# --- Outside the subset: each case names the exact param and a fragment of the message ---

P = PREFIX + ".properties"
MISSING_ADDITIONAL = "'additionalProperties' is required to be supplied and to be false"
ADDRESS = obj({"street": string(), "zip": string()})

INVALID = [
    pytest.param(["not", "an", "object"], PREFIX, "must be a JSON object, got array", id="root_not_dict"),
    pytest.param({"anyOf": [CALENDAR_EVENT, USER_DATA]}, PREFIX, "must not use 'anyOf'", id="root_anyof"),
    pytest.param({**CALENDAR_EVENT, "anyOf": [USER_DATA]}, PREFIX, "must not use 'anyOf'", id="root_object_and_anyof"),
    pytest.param({"type": "string"}, PREFIX, "'type: \"object\"', got 'type: \"string\"'", id="root_string"),
    pytest.param(
        {"type": ["object", "null"], "properties": {}, "additionalProperties": False},
        PREFIX,
        "'type: \"object\"'",
        id="root_nullable_object",
    ),
    pytest.param({"$ref": "#/$defs/A", "$defs": {"A": obj({})}}, PREFIX, "'type: \"object\"'", id="root_ref"),
    pytest.param(
        {**CALENDAR_EVENT, "required": ["name", "date"]},
        PREFIX,
        "including every key in properties. Missing 'participants'",
        id="root_missing_required",
    ),
    pytest.param(
        {k: v for k, v in CALENDAR_EVENT.items() if k != "required"},
        PREFIX,
        "Missing 'name'",
        id="root_no_required_key",
    ),
    pytest.param(
        obj({"address": {**ADDRESS, "required": ["street"]}}),
        f"{P}.address",
        "Missing 'zip'",
        id="nested_missing_required",
    ),
    pytest.param(
        obj({"a": {**ADDRESS, "required": ["street", "zip", "city"]}}),
        f"{P}.a",
        "Extra required key 'city' supplied",
        id="extra_required",
    ),
    pytest.param(
        {k: v for k, v in CALENDAR_EVENT.items() if k != "additionalProperties"},
        PREFIX,
        MISSING_ADDITIONAL,
        id="root_missing_additional_properties",
    ),
    pytest.param(
        obj({"address": obj({"geo": {**obj({"lat": {"type": "number"}}), "additionalProperties": True}})}),
        f"{P}.address.properties.geo",
        MISSING_ADDITIONAL,
        id="deep_additional_properties_true",
    ),
    pytest.param(
        obj({"steps": {"type": "array", "items": {**obj({"x": string()}), "additionalProperties": {}}}}),
        f"{P}.steps.items",
        MISSING_ADDITIONAL,
        id="items_additional_properties_schema",
    ),
    pytest.param(
        obj({"item": {"anyOf": [ADDRESS, {"type": "object", "properties": {}, "required": []}]}}),
        f"{P}.item.anyOf[1]",
        MISSING_ADDITIONAL,
        id="anyof_branch_missing_additional_properties",
    ),
    pytest.param(
        obj({"a": {"$ref": "#/$defs/A"}}, **{"$defs": {"A": {"type": "object", "properties": {}}}}),
        PREFIX + ".$defs.A",
        MISSING_ADDITIONAL,
        id="definition_missing_additional_properties",
    ),
    pytest.param(obj({"a": {"description": "x"}}), f"{P}.a", "must have a 'type' key", id="no_type"),
    pytest.param(obj({"a": {"type": "text"}}), f"{P}.a", "type 'text' is not supported", id="unknown_type"),
    pytest.param(
        obj({"a": {"type": ["string", "nul"]}}), f"{P}.a", "type 'nul' is not supported", id="unknown_type_in_list"
    ),
    pytest.param(obj({"a": {"type": []}}), f"{P}.a", "non-empty array of strings", id="empty_type_list"),
    pytest.param(obj({"a": {"type": ["string", "string"]}}), f"{P}.a", "same type twice", id="duplicate_type"),
    pytest.param(obj({"a": True}), f"{P}.a", "must be a JSON object, got boolean", id="boolean_schema"),
    pytest.param(obj({"a": string(format="phone")}), f"{P}.a", 'format "phone" is not supported', id="unknown_format"),
    pytest.param(obj({"a": {"type": "number", "pattern": "^1"}}), f"{P}.a", "'pattern' is only", id="pattern_number"),
    pytest.param(obj({"a": string(minimum=1)}), f"{P}.a", "'minimum' is only permitted", id="minimum_on_string"),
    pytest.param(obj({"a": string(items=string())}), f"{P}.a", "'items' is only permitted", id="items_on_string"),
    pytest.param(
        obj({"a": {"enum": ["x"], "pattern": "x"}}), f"{P}.a", "'pattern' is only permitted", id="pattern_untyped"
    ),
    pytest.param(obj({"a": {"type": "array"}}), f"{P}.a", "array schema missing items", id="array_without_items"),
    pytest.param(
        obj({"a": {"type": "array", "items": [string()]}}), f"{P}.a", "'items' must be a single", id="tuple_items"
    ),
    pytest.param(
        obj({"a": {"type": "array", "items": string(), "minItems": 3, "maxItems": 2}}),
        f"{P}.a",
        "'minItems' must not be greater",
        id="min_items_over_max",
    ),
    pytest.param(
        obj({"a": {"type": "array", "items": string(), "minItems": -1}}),
        f"{P}.a",
        "'minItems' must be a non-negative integer",
        id="negative_min_items",
    ),
    pytest.param(obj({"a": {"type": "number", "multipleOf": 0}}), f"{P}.a", "greater than 0", id="multiple_of_zero"),
    pytest.param(obj({"a": {"type": "number", "maximum": "9"}}), f"{P}.a", "must be a number", id="maximum_string"),
    pytest.param(obj({"a": string(enum=[])}), f"{P}.a", "non-empty array", id="empty_enum"),
    pytest.param(
        obj({"a": string(enum=["x", 1])}),
        f"{P}.a",
        "enum value 1 does not validate against {'type': 'string'}",
        id="enum_value_wrong_type",
    ),
    pytest.param(
        obj({"a": {"type": "integer", "enum": [1.5]}}), f"{P}.a", "enum value 1.5 does not", id="enum_float_integer"
    ),
    pytest.param(obj({"a": string(enum=[None])}), f"{P}.a", "enum value null does not", id="enum_null_not_nullable"),
    pytest.param(obj({"a": {"enum": [{"k": 1}]}}), f"{P}.a", 'enum value {"k": 1} is not permitted', id="enum_object"),
    pytest.param(obj({"a": {"type": "boolean", "const": 1}}), f"{P}.a", "const 1 does not", id="const_wrong_type"),
    pytest.param(
        obj({"a": {"anyOf": [string()], "type": "string"}}),
        f"{P}.a",
        "'type' cannot be combined with 'anyOf'",
        id="anyof_with_type",
    ),
    pytest.param(obj({"a": {"anyOf": []}}), f"{P}.a", "non-empty array of schemas", id="empty_anyof"),
    pytest.param(
        obj({"a": {"anyOf": [string(), string(minLength=2)]}}),
        f"{P}.a.anyOf[1]",
        "'minLength' is not permitted",
        id="anyof_branch_unsupported_keyword",
    ),
    pytest.param(
        obj({"a": {"$ref": "#/$defs/A", "type": "string"}}, **{"$defs": {"A": string()}}),
        f"{P}.a",
        "'type' cannot be combined with '$ref'",
        id="ref_with_type",
    ),
    pytest.param(
        obj({"a": {"$ref": "#/$defs/missing"}}, **{"$defs": {"A": string()}}),
        f"{P}.a",
        "reference '#/$defs/missing' does not resolve",
        id="ref_unresolvable",
    ),
    pytest.param(obj({"a": {"$ref": "#/$defs/A"}}), f"{P}.a", "does not resolve", id="ref_without_defs"),
    pytest.param(
        obj({"a": {"$ref": "https://example.com/a.json"}}), f"{P}.a", "must be a local reference", id="ref_remote"
    ),
    pytest.param(obj({"a": {"$ref": "#node"}}), f"{P}.a", "must be a local reference", id="ref_anchor"),
    pytest.param(obj({"a": {"$ref": 7}}), f"{P}.a", "must be a local reference", id="ref_not_string"),
    pytest.param(
        obj({"a": {"$ref": "#/properties"}}), f"{P}.a", "does not resolve to a schema", id="ref_to_non_schema"
    ),
    pytest.param(
        obj({"a": {"$ref": "#/$defs/A"}}, **{"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}}),
        f"{P}.a",
        "cycle of references",
        id="ref_cycle",
    ),
    pytest.param(obj({"a": string()}, **{"$defs": ["A"]}), PREFIX + ".$defs", "must be an object", id="defs_list"),
    pytest.param(obj({"a": string(title=5)}), f"{P}.a", "'title' must be a string", id="title_not_string"),
    pytest.param(
        obj({"a": obj({}, **{"$schema": "x"})}), f"{P}.a", "'$schema' is not permitted", id="schema_keyword_nested"
    ),
]


@pytest.mark.parametrize(("schema", "param", "fragment"), INVALID)
def test_schema_outside_the_subset_is_a_400(schema: Any, param: str, fragment: str) -> None:
    error = rejected(schema)
    assert error.status_code == 400
    assert error.error_type == "invalid_request_error"
    assert error.param == param
    assert fragment in error.message


# Documented as unsupported (allOf .. else), or supported nowhere in the guide's lists.
UNSUPPORTED_KEYWORDS: dict[str, Any] = {
    "allOf": [string()],
    "not": string(),
    "if": string(),
    "then": string(),
    "else": string(),
    "dependentRequired": {"a": ["b"]},
    "dependentSchemas": {"a": obj({})},
    "oneOf": [string()],
    "patternProperties": {"^x": string()},
    "unevaluatedProperties": False,
    "propertyNames": string(),
    "minProperties": 1,
    "maxProperties": 2,
    "contains": string(),
    "minContains": 1,
    "maxContains": 2,
    "prefixItems": [string()],
    "additionalItems": False,
    "unevaluatedItems": False,
    "uniqueItems": True,
    "minLength": 1,
    "maxLength": 5,
    "contentEncoding": "base64",
    "dependencies": {"a": ["b"]},
    "$id": "https://example.com/s",
    "$anchor": "node",
    "$dynamicRef": "#node",
    "nullable": True,
    "discriminator": {"propertyName": "kind"},
}


@pytest.mark.parametrize(("keyword", "value"), list(UNSUPPORTED_KEYWORDS.items()), ids=list(UNSUPPORTED_KEYWORDS))
def test_unsupported_keyword_is_named(keyword: str, value: Any) -> None:
    error = rejected(obj({"address": obj({"zip": {"type": "string", keyword: value}})}))
    assert error.param == f"{P}.address.properties.zip"
    assert f"'{keyword}' is not permitted" in error.message


@pytest.mark.parametrize("keyword", ["allOf", "oneOf", "not", "if"])
def test_unsupported_keyword_at_the_root(keyword: str) -> None:
    error = rejected({**CALENDAR_EVENT, keyword: [string()] if keyword.endswith("Of") else string()})
    assert error.param == PREFIX
    assert f"'{keyword}' is not permitted" in error.message


def test_message_follows_openais_wording_and_the_param_prefix_is_the_callers() -> None:
    error = rejected(obj({"address": obj({"zip": string(allOf=[])})}), param="tools[2].parameters")
    assert error.param == "tools[2].parameters.properties.address.properties.zip"
    assert error.message == (
        "Invalid schema: In context=('properties', 'address', 'properties', 'zip'), 'allOf' is not permitted "
        "(merge the schemas into one object instead)."
    )
    assert rejected({"type": "object"}).message.startswith("Invalid schema: In context=(), 'additionalProperties'")


# --- Limits: exactly at the limit passes, one over is a 400 ---


def nested(levels: int) -> dict[str, Any]:
    """`levels` objects inside one another; the root is the first."""
    schema = obj({"leaf": string()})
    for _ in range(levels - 1):
        schema = obj({"a": schema})
    return schema


def wide(count: int) -> dict[str, Any]:
    return obj({f"p{index}": {"type": "boolean"} for index in range(count)})


def enums(total: int, per_enum: int = 200) -> dict[str, Any]:
    """`total` enum values spread over enums of at most `per_enum`."""
    properties = {}
    for start in range(0, total, per_enum):
        values = [f"v{index}" for index in range(start, min(total, start + per_enum))]
        properties[f"e{start}"] = string(enum=values)
    return obj(properties)


def long_names(total_chars: int, name_length: int = 1_000) -> dict[str, Any]:
    """Property names totalling exactly `total_chars` characters."""
    names = [f"{index:04d}".ljust(name_length, "x") for index in range(total_chars // name_length)]
    if total_chars % name_length:
        names.append("r" * (total_chars % name_length))
    return obj({name: {"type": "null"} for name in names})


def large_enum(count: int, total_chars: int) -> dict[str, Any]:
    """One enum of `count` distinct strings totalling exactly `total_chars`."""
    base, extra = divmod(total_chars, count)
    values = [f"{index:03d}".ljust(base + (index < extra), "x") for index in range(count)]
    assert sum(map(len, values)) == total_chars
    return obj({"big": string(enum=values)})


def test_limits_are_the_documented_numbers() -> None:
    assert (MAX_OBJECT_PROPERTIES, MAX_NESTING_DEPTH, MAX_ENUM_VALUES) == (5_000, 10, 1_000)
    assert (MAX_TOTAL_STRING_LENGTH, LARGE_ENUM_VALUES, MAX_LARGE_ENUM_STRING_LENGTH) == (120_000, 250, 15_000)


AT_LIMIT = {
    "properties_5000": wide(MAX_OBJECT_PROPERTIES),
    "nesting_10": nested(MAX_NESTING_DEPTH),
    "enum_values_1000": enums(MAX_ENUM_VALUES),
    "string_length_120000": long_names(MAX_TOTAL_STRING_LENGTH),
    "large_enum_15000_chars": large_enum(LARGE_ENUM_VALUES + 1, MAX_LARGE_ENUM_STRING_LENGTH),
    "enum_of_250_over_15000_chars": large_enum(LARGE_ENUM_VALUES, MAX_LARGE_ENUM_STRING_LENGTH + 500),
    "definitions_nest_from_the_top": obj({"n": {"$ref": "#"}}, **{"$defs": {"d": nested(MAX_NESTING_DEPTH)}}),
}


@pytest.mark.parametrize("schema", list(AT_LIMIT.values()), ids=list(AT_LIMIT))
def test_schema_at_a_limit_passes(schema: dict[str, Any]) -> None:
    check_strict_schema(schema, param=PREFIX)


DEEP_PARAM = PREFIX + ".properties.a" * MAX_NESTING_DEPTH

OVER_LIMIT = [
    pytest.param(wide(MAX_OBJECT_PROPERTIES + 1), PREFIX, "at most 5000 object properties", id="properties_5001"),
    pytest.param(
        obj({"x": wide(3_000), "y": wide(2_000)}), f"{P}.y", "at most 5000 object properties", id="properties_summed"
    ),
    pytest.param(nested(MAX_NESTING_DEPTH + 1), DEEP_PARAM, "at most 10 levels", id="nesting_11"),
    pytest.param(
        enums(MAX_ENUM_VALUES + 1), f"{P}.e1000", "at most 1000 enum values across all enums", id="enum_values_1001"
    ),
    pytest.param(
        long_names(MAX_TOTAL_STRING_LENGTH + 1), PREFIX, "at most 120000 characters", id="string_length_120001"
    ),
    pytest.param(
        obj({"a": string(const="c" * 60_000), "b": string(enum=["e" * 60_001])}),
        f"{P}.b",
        "at most 120000 characters",
        id="string_length_const_and_enum",
    ),
    pytest.param(
        obj({"a": string()}, **{"$defs": {"d" * 120_001: string()}}),
        PREFIX + ".$defs",
        "at most 120000 characters",
        id="string_length_definition_name",
    ),
    pytest.param(
        large_enum(LARGE_ENUM_VALUES + 1, MAX_LARGE_ENUM_STRING_LENGTH + 1),
        f"{P}.big",
        "may total at most 15000 characters",
        id="large_enum_15001_chars",
    ),
]


@pytest.mark.parametrize(("schema", "param", "fragment"), OVER_LIMIT)
def test_schema_over_a_limit_is_a_400(schema: dict[str, Any], param: str, fragment: str) -> None:
    error = rejected(schema)
    assert error.param == param
    assert fragment in error.message


def test_absurdly_deep_arrays_are_a_400_not_a_crash() -> None:
    items: dict[str, Any] = string()
    for _ in range(5_000):
        items = {"type": "array", "items": items}
    assert rejected(obj({"a": items})).param == PREFIX

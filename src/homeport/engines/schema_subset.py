"""Is a `strict: true` JSON Schema inside OpenAI's documented Structured Outputs subset?

A strict schema is compiled into a decoding grammar that guarantees exactly what the schema says, so a schema
outside the subset is a 400 at request time, never a schema accepted and then enforced only in part (ARCHITECTURE
decisions 2 and 5). The places that take one: Responses `text.format` (json_schema), Chat Completions
`response_format` (json_schema) and function tools' `parameters`.

Only strict schemas are checked. With `strict: false` a schema is plain JSON Schema, only guides the model and is
not enforced; whether a schema is strict (and the per-API default of `strict`) is the caller's decision, and callers
must not call `check_strict_schema` for a non-strict one.

The rules, from the Structured Outputs guide (`reference/docs/004_*.txt`, "Supported schemas", lines 2427-2821):

- Types: string, number, integer, boolean, object, array, null, also as a list (`["string", "null"]`) (2429-2438).
- String `pattern` and `format` (only the nine formats listed); number and integer `multipleOf`, `maximum`,
  `exclusiveMaximum`, `minimum`, `exclusiveMinimum`; array `minItems`, `maxItems` (2439-2462).
- The root is an object and not `anyOf` (2523-2525).
- Every property is `required` (2544-2546); `additionalProperties: false` on every object (2607-2612).
- `allOf`, `not`, `dependentRequired`, `dependentSchemas`, `if`, `then`, `else` are not supported (2639-2641).
- Each `anyOf` branch is itself in the subset (2649); `$defs` with `$ref` (2700-2735), and recursion through `#` or
  `#/$defs/...` (2736-2821).
- Limits (2596-2606), counted in `_schema_limits`.

Anything else that constrains output is "not permitted", as OpenAI words it: `oneOf`, `minLength`, `maxLength`,
`patternProperties`, `prefixItems`, `uniqueItems`, ... The guide names `minLength`, `maxLength` and
`patternProperties` only among what fine-tuned models "additionally" lack (2642-2646), never among what is
supported, and users report the live API answering "'maxLength' is not permitted"; `patternProperties` would also
break "Structured Outputs only supports generating specified keys" (2609-2611). Changing that is one set below.
Annotations, which constrain nothing, are allowed: `title`, `description`, `default`, `examples`, `$comment`, and
`$schema` at the root, because pydantic, zod and the `openai` SDK's own strict helper emit them. `definitions` is
read as the older name of `$defs`, which the SDK also handles.

Errors: `InvalidRequest` whose message follows OpenAI's wording (`In context=('properties', 'zip'), ...`) and whose
`param` is the caller's prefix followed by the path to the offending schema, e.g.
`text.format.schema.properties.address.anyOf[1]`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn
from urllib.parse import unquote

from homeport.engines._schema_limits import (
    LARGE_ENUM_VALUES,
    MAX_ENUM_VALUES,
    MAX_LARGE_ENUM_STRING_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_OBJECT_PROPERTIES,
    MAX_TOTAL_STRING_LENGTH,
    SchemaBudget,
    nesting_problem,
)
from homeport.errors import InvalidRequest

__all__ = [
    "LARGE_ENUM_VALUES",
    "MAX_ENUM_VALUES",
    "MAX_LARGE_ENUM_STRING_LENGTH",
    "MAX_NESTING_DEPTH",
    "MAX_OBJECT_PROPERTIES",
    "MAX_TOTAL_STRING_LENGTH",
    "SUPPORTED_FORMATS",
    "check_strict_schema",
]

SUPPORTED_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
"""String `format` values the guide lists as supported; any other is a 400."""

_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")

_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})

# Which type(s) a type-specific keyword belongs to; it is rejected on a schema whose `type` lists none of them,
# since it would otherwise be accepted and do nothing.
_KEYWORD_TYPES: dict[str, frozenset[str]] = {
    "pattern": frozenset({"string"}),
    "format": frozenset({"string"}),
    **dict.fromkeys(_NUMBER_KEYWORDS, frozenset({"number", "integer"})),
    "items": frozenset({"array"}),
    "minItems": frozenset({"array"}),
    "maxItems": frozenset({"array"}),
    "properties": frozenset({"object"}),
    "required": frozenset({"object"}),
    "additionalProperties": frozenset({"object"}),
}

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment"})
_DEFINITIONS = ("$defs", "definitions")
_GENERAL = frozenset({"type", "enum", "const", "anyOf", "$ref", *_DEFINITIONS})
_ALLOWED = _ANNOTATIONS | _GENERAL | _KEYWORD_TYPES.keys()

_HINTS = {
    "oneOf": "use 'anyOf'",
    "allOf": "merge the schemas into one object",
    "minLength": "use 'pattern'",
    "maxLength": "use 'pattern'",
    "patternProperties": "list every key in 'properties'",
    "prefixItems": "use an object with one property per position",
    "nullable": 'use a type list such as "type": ["string", "null"]',
}

Path = tuple[str | int, ...]


def check_strict_schema(schema: dict[str, Any], *, param: str) -> None:
    """Raise `InvalidRequest` unless `schema` lies in the Structured Outputs subset; `param` is where it sits.

    `schema` is typed as a dict but comes from a request body, so anything else is checked and rejected too.
    """
    try:
        _Checker(schema, param).check()
    except RecursionError as exc:
        # Only objects count towards the nesting limit; arrays or anyOfs stacked hundreds deep would otherwise
        # surface as a 500 from this walk.
        raise InvalidRequest("Invalid schema: it is nested too deeply to be checked.", param=param) from exc


def _json_type(value: object) -> str:
    """The JSON name of a Python value from a parsed body, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"  # all a parsed JSON body can hold


def _matches_type(value: object, types: frozenset[str]) -> bool:
    """Whether a scalar `enum`/`const` value is an instance of one of `types` (JSON Schema's notion, not Python's)."""
    if value is None:
        return "null" in types
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    if isinstance(value, float):
        return "number" in types or ("integer" in types and value.is_integer())
    return isinstance(value, str) and "string" in types


def _pointer(ref: str) -> tuple[str, ...] | None:
    """`#/$defs/a~1b` -> ('$defs', 'a/b'); None for a reference that is not a local JSON pointer."""
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if not fragment:
        return ()
    if not fragment.startswith("/"):
        return None  # a plain-name anchor such as `#node`
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in fragment[1:].split("/"))


class _Checker:
    """One walk over one schema, as written: `$ref`s are recorded and resolved at the end, never followed."""

    def __init__(self, schema: object, param: str) -> None:
        self._root = schema
        self._param = param
        self._budget = SchemaBudget()
        # Every place holding a schema, by JSON pointer, so that a `$ref` can only land on a checked schema.
        self._schemas: dict[tuple[str, ...], dict[str, Any]] = {}
        self._refs: list[tuple[Path, str, tuple[str, ...]]] = []

    def check(self) -> None:
        self._check_root(self._root)
        self._walk(self._root, (), depth=0)
        for path, ref, pointer in self._refs:
            self._resolve(path, ref, pointer)

    def _fail(self, path: Path, detail: str) -> NoReturn:
        where = self._param + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
        context = tuple(str(part) for part in path)
        raise InvalidRequest(f"Invalid schema: In context={context!r}, {detail}", param=where.lstrip("."))

    def _check_root(self, root: object) -> None:
        if not isinstance(root, dict):
            self._fail((), f"the schema must be a JSON object, got {_json_type(root)}.")
        if "anyOf" in root:
            self._fail((), "the root schema must be an object and must not use 'anyOf'.")
        if root.get("type") != "object":
            # Worded like the live API's message for this case, which shows a missing type as None.
            self._fail((), f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{root.get('type')}\"'.")

    def _walk(self, schema: object, path: Path, depth: int) -> None:
        if not isinstance(schema, dict):
            self._fail(path, f"a schema must be a JSON object, got {_json_type(schema)}.")
        self._schemas[tuple(str(part) for part in path)] = schema
        self._check_keywords(schema, path)
        types = self._types(schema, path)
        self._check_shape(schema, path, types)
        if "object" in types:
            depth += 1
            if problem := nesting_problem(depth):
                self._fail(path, problem)
            self._check_object(schema, path)
        if "array" in types and "items" not in schema:
            self._fail(path, "array schema missing items.")
        self._check_values(schema, path, types)
        self._walk_children(schema, path, depth)

    def _check_keywords(self, schema: dict[str, Any], path: Path) -> None:
        for key in schema:
            if key in _ALLOWED or (key == "$schema" and not path):
                continue
            hint = f" ({_HINTS[key]} instead)" if key in _HINTS else ""
            self._fail(path, f"'{key}' is not permitted{hint}.")

    def _types(self, schema: dict[str, Any], path: Path) -> frozenset[str]:
        if "type" not in schema:
            return frozenset()
        raw = schema["type"]
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            self._fail(path, "'type' must be a string or a non-empty array of strings.")
        for name in names:
            if name not in _TYPES:
                self._fail(path, f"type '{name}' is not supported; use one of {', '.join(_TYPES)}.")
        if len(set(names)) != len(names):
            self._fail(path, "'type' lists the same type twice.")
        return frozenset(names)

    def _check_shape(self, schema: dict[str, Any], path: Path, types: frozenset[str]) -> None:
        """Which keywords may stand together: `$ref` and `anyOf` alone, type keywords only with their type."""
        for combinator in ("$ref", "anyOf"):
            if combinator in schema:
                for key in schema:
                    if key != combinator and key not in _ANNOTATIONS and key not in _DEFINITIONS:
                        self._fail(path, f"'{key}' cannot be combined with '{combinator}'.")
        if not types and not schema.keys() & {"$ref", "anyOf", "enum", "const"}:
            self._fail(path, "schema must have a 'type' key.")
        for key in schema:
            owners = _KEYWORD_TYPES.get(key)
            if owners is not None and not owners & types:
                wanted = " or ".join(f"'{owner}'" for owner in sorted(owners))
                self._fail(path, f"'{key}' is only permitted on a schema whose 'type' includes {wanted}.")
        if "$ref" in schema:
            self._record_ref(schema["$ref"], path)

    def _record_ref(self, ref: object, path: Path) -> None:
        pointer = _pointer(ref) if isinstance(ref, str) else None
        if pointer is None:
            self._fail(path, f"'$ref' must be a local reference such as '#' or '#/$defs/Name', got {json.dumps(ref)}.")
        self._refs.append((path, str(ref), pointer))

    def _check_object(self, schema: dict[str, Any], path: Path) -> None:
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            self._fail(path, "'properties' must be an object mapping each property name to a schema.")
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            self._fail(path, "'required' must be an array of property names.")
        for name in properties:
            if name not in required:
                self._fail(
                    path,
                    "'required' is required to be supplied and to be an array including every key in properties. "
                    f"Missing '{name}'.",
                )
        for name in required:
            if name not in properties:
                self._fail(path, f"Extra required key '{name}' supplied.")
        if schema.get("additionalProperties") is not False:
            self._fail(path, "'additionalProperties' is required to be supplied and to be false.")
        if problem := self._budget.add_properties(properties):
            self._fail(path, problem)

    def _check_values(self, schema: dict[str, Any], path: Path, types: frozenset[str]) -> None:
        """The values of the value-carrying keywords: enum, const, format, pattern, bounds, annotations."""
        if "enum" in schema:
            self._check_enum(schema["enum"], path, types)
        if "const" in schema:
            self._check_scalar("const", schema["const"], path, types)
            if problem := self._budget.add_const(schema["const"]):
                self._fail(path, problem)
        fmt = schema.get("format")
        if "format" in schema and fmt not in SUPPORTED_FORMATS:
            supported = ", ".join(sorted(SUPPORTED_FORMATS))
            self._fail(path, f"format {json.dumps(fmt)} is not supported; use one of {supported}.")
        if "pattern" in schema and not isinstance(schema["pattern"], str):
            self._fail(path, "'pattern' must be a string holding a regular expression.")
        for key in ("title", "description", "$comment"):
            if key in schema and not isinstance(schema[key], str):
                self._fail(path, f"'{key}' must be a string.")
        self._check_bounds(schema, path)

    def _check_enum(self, values: object, path: Path, types: frozenset[str]) -> None:
        if not isinstance(values, list) or not values:
            self._fail(path, "'enum' must be a non-empty array.")
        for value in values:
            self._check_scalar("enum value", value, path, types)
        if problem := self._budget.add_enum(values):
            self._fail(path, problem)

    def _check_scalar(self, what: str, value: object, path: Path, types: frozenset[str]) -> None:
        if isinstance(value, dict | list):
            self._fail(path, f"{what} {json.dumps(value)} is not permitted; use a string, number, boolean or null.")
        if types and not _matches_type(value, types):
            shown = sorted(types)[0] if len(types) == 1 else sorted(types)
            self._fail(path, f"{what} {json.dumps(value)} does not validate against {{'type': {shown!r}}}.")

    def _check_bounds(self, schema: dict[str, Any], path: Path) -> None:
        for key in sorted(_NUMBER_KEYWORDS & schema.keys()):
            value = schema[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                self._fail(path, f"'{key}' must be a number.")
            if key == "multipleOf" and value <= 0:
                self._fail(path, "'multipleOf' must be greater than 0.")
        for key in ("minItems", "maxItems"):
            value = schema.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self._fail(path, f"'{key}' must be a non-negative integer.")
        if "maxItems" in schema and schema.get("minItems", 0) > schema["maxItems"]:
            self._fail(path, "'minItems' must not be greater than 'maxItems'.")

    def _walk_children(self, schema: dict[str, Any], path: Path, depth: int) -> None:
        for name, child in schema.get("properties", {}).items():
            self._walk(child, (*path, "properties", name), depth)
        if "items" in schema:
            if isinstance(schema["items"], list):
                self._fail(path, "'items' must be a single schema; tuple validation is not permitted.")
            self._walk(schema["items"], (*path, "items"), depth)
        if "anyOf" in schema:
            branches = schema["anyOf"]
            if not isinstance(branches, list) or not branches:
                self._fail(path, "'anyOf' must be a non-empty array of schemas.")
            for index, branch in enumerate(branches):
                self._walk(branch, (*path, "anyOf", index), depth)
        for keyword in _DEFINITIONS:
            if keyword in schema:
                self._walk_definitions(schema[keyword], (*path, keyword))

    def _walk_definitions(self, definitions: object, path: Path) -> None:
        """Definitions are checked where they are written, and count from the top: where a `$ref` puts one is
        unknown here, and a recursive one has no bounded place at all."""
        if not isinstance(definitions, dict):
            self._fail(path, f"'{path[-1]}' must be an object mapping each definition name to a schema.")
        if problem := self._budget.add_definitions(definitions):
            self._fail(path, problem)
        for name, definition in definitions.items():
            self._walk(definition, (*path, name), depth=0)

    def _resolve(self, path: Path, ref: str, pointer: tuple[str, ...]) -> None:
        """A `$ref` must land on a checked schema, and a chain of `$ref`s must end at one that is not a `$ref`."""
        seen: set[tuple[str, ...]] = set()
        while True:
            target = self._schemas.get(pointer)
            if target is None:
                self._fail(path, f"reference {ref!r} does not resolve to a schema in this document.")
            if "$ref" not in target:
                return
            if pointer in seen:
                self._fail(path, f"reference {ref!r} is part of a cycle of references that never reaches a schema.")
            seen.add(pointer)
            next_pointer = _pointer(target["$ref"])
            if next_pointer is None:  # cannot happen: the walk already rejected every non-local `$ref`
                return
            pointer = next_pointer

"""Property tests of strict Structured Outputs: any schema inside the supported subset, compiled into a grammar and
decoded on the small packaged model, gives JSON that the `jsonschema` library accepts, with keys in schema order.

Schemas are drawn by hypothesis from the whole subset (`schema_subset`), kept small and at most three containers
deep so that a 135M model writes an answer within the token budget. An answer the budget cuts off proves nothing and
is skipped, but fewer than half may be: a grammar that let the model ramble on would otherwise pass unnoticed.

Formats are checked by their RFCs here, not by llguidance's reading of them; the last tests pin both down by hand.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import Any

import jsonschema
import llama_cpp
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from homeport.engines.constraints import GrammarLogitsProcessor, Grammars, JsonSchema
from homeport.engines.schema_subset import check_strict_schema

Schema = dict[str, Any]

MAX_TOKENS = 200
REPEAT_PENALTY = 1.3
SYSTEM = "You write JSON. Keep every value short: one-word strings, small numbers, lists of one or two items."
USER = "Give one short example."
# Deterministic in CI. A failure is reported as drawn, not shrunk: every shrinking step would be another model run.
SETTINGS = settings(deadline=None, derandomize=True, phases=(Phase.explicit, Phase.generate))

# --- What a model writes, and how it is checked -----------------------------------------------------------------


def chat(llm: llama_cpp.Llama, user: str) -> list[int]:
    text = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    return llm.tokenize(text.encode(), add_bos=False, special=True)


def generate(llm: llama_cpp.Llama, processor: GrammarLogitsProcessor, prompt: list[int], *, temp: float) -> str:
    """The engine's loop (as in test_constraints): stop on an end token, once the grammar is done, or at the budget."""
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    out: list[int] = []
    logits = llama_cpp.LogitsProcessorList([processor])
    # The repeat penalty keeps greedy decoding out of loops such as "1234567890123..." in a plain string.
    sampling = {"temp": temp, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": REPEAT_PENALTY}
    for token in llm.generate(prompt, **sampling, logits_processor=logits):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        out.append(token)
        processor.advance(token)
        assert processor.error is None
        if processor.finished or len(out) >= MAX_TOKENS:
            break
    return llm.detokenize(out).decode(errors="replace")


# Formats are checked here, independently of llguidance, with no package beyond jsonschema: its own checks for
# email, ipv4, ipv6 and uuid (2020-12's; a bare `FormatChecker()` mixes in draft 3's offset-less `time`), and the
# RFC grammars for the rest, which jsonschema checks only with packages we do not depend on (rfc3339-validator, which
# also refuses every leap second and the year 0, isoduration, fqdn).
FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
for _name in ("email", "ipv4", "ipv6", "uuid"):
    FORMAT_CHECKER.checkers[_name] = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers[_name]
FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid")

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")  # RFC 3339 5.6 full-date
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")  # full-time
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DUR_TIME = r"T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
_DUR_DATE = r"(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)"
_DURATION = re.compile(rf"P(?:{_DUR_DATE}(?:{_DUR_TIME})?|{_DUR_TIME}|[0-9]+W)")  # RFC 3339 appendix A
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")  # RFC 1123 2.1


@FORMAT_CHECKER.checks("date")
def is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if (match := _DATE.fullmatch(value)) is None:
        return False
    year, month, day = map(int, match.groups())
    return 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1] + (month == 2 and calendar.isleap(year))


@FORMAT_CHECKER.checks("time")
def is_time(value: object) -> bool:
    """RFC 3339 5.6 full-time; a leap second only at 23:59:60 UTC (5.7), as JSON-Schema-Test-Suite reads it."""
    if not isinstance(value, str):
        return True
    if (match := _TIME.fullmatch(value)) is None:
        return False
    hour, minute, second = map(int, match.group(1, 2, 3))
    sign, offset_hour, offset_minute = match.group(4), int(match.group(5) or 0), int(match.group(6) or 0)
    if hour > 23 or minute > 59 or second > 60 or offset_hour > 23 or offset_minute > 59:
        return False
    offset = (offset_hour * 60 + offset_minute) * (-1 if sign == "-" else 1)
    return second < 60 or (hour * 60 + minute - offset) % (24 * 60) == 23 * 60 + 59


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return value[10:11] in ("T", "t") and is_date(value[:10]) and is_time(value[11:])


@FORMAT_CHECKER.checks("duration")
def is_duration(value: object) -> bool:
    return not isinstance(value, str) or _DURATION.fullmatch(value) is not None


@FORMAT_CHECKER.checks("hostname")
def is_hostname(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) <= 253 and all(_LABEL.fullmatch(label) for label in value.split("."))


def key_orders(schema: Any) -> set[tuple[str, ...]]:
    """The property order of every object schema inside `schema`, `$defs` included."""
    found: set[tuple[str, ...]] = set()
    if isinstance(schema, dict):
        if "properties" in schema:
            found.add(tuple(schema["properties"]))
        for value in schema.values():
            found |= key_orders(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= key_orders(value)
    return found


def check_answer(text: str, schema: Schema) -> None:
    """`text` is JSON valid against `schema`, each object's keys in the order of some object schema's properties."""
    objects: list[tuple[str, ...]] = []

    def remember(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        objects.append(tuple(key for key, _ in pairs))
        return dict(pairs)

    value = json.loads(text, object_pairs_hook=remember)
    jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator, format_checker=FORMAT_CHECKER)
    orders = key_orders(schema)
    for keys in objects:
        assert keys in orders, f"keys {keys} are in no schema order {sorted(orders)}"


class Tally:
    """Generates and checks answers, counting those the token budget cut off.

    A cut-off answer is skipped, not `assume`d away: hypothesis would replace it with a new example, so a grammar that
    lets the model ramble would multiply the run time before the count could fail the test.
    """

    def __init__(self, llm: llama_cpp.Llama, grammars: Grammars) -> None:
        self.llm = llm
        self.grammars = grammars
        self.complete = 0
        self.cut_off = 0

    def check(self, schema: Schema, user: str = USER, *, temp: float = 0.0, seed: int = 0) -> None:
        check_strict_schema(schema, param="text.format.schema")
        processor = self.grammars.processor(JsonSchema(schema))
        self.llm.set_seed(seed)
        text = generate(self.llm, processor, chat(self.llm, user), temp=temp)
        if not processor.accepting:
            self.cut_off += 1
            return
        self.complete += 1
        check_answer(text, schema)

    def assert_mostly_complete(self) -> None:
        assert self.complete > self.cut_off, f"{self.cut_off} answers cut off, {self.complete} complete"


# --- Schemas inside the subset -----------------------------------------------------------------------------------

NAMES = ("id", "name", "kind", "size", "tags", "when", "note", "ok", "score", "items", "owner", "value")
PATTERNS = ("^[a-z]{1,8}$", "^[A-Z][a-z]{0,6}$", "^[0-9]{3}-[0-9]{4}$", "^(yes|no|maybe)$", "^#[0-9a-f]{6}$")
WORDS = ("red", "green", "blue", "small", "large", "on", "off")


def strict_object(properties: dict[str, Schema], *, nullable: bool = False) -> Schema:
    kind: str | list[str] = ["object", "null"] if nullable else "object"
    return {"type": kind, "properties": properties, "required": list(properties), "additionalProperties": False}


def or_null(schema: Schema) -> Schema:
    """`"type": T` -> `"type": [T, "null"]`, keeping T's keywords."""
    return {**schema, "type": [schema["type"], "null"]}


@st.composite
def numbers(draw: st.DrawFn) -> Schema:
    """An integer or number with any of the bounds, always satisfiable: a bounded range is at least 10 wide, so it
    holds a multiple of `multipleOf` (at most 5) strictly inside."""
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: Schema = {"type": kind}
    low = draw(st.integers(-100, 100)) + (draw(st.sampled_from([0, 0.5])) if kind == "number" else 0)
    high = low + draw(st.integers(10, 60))
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    if draw(st.booleans()):
        steps = [2, 3, 5] if kind == "integer" else [0.25, 0.5, 2]
        schema["multipleOf"] = draw(st.sampled_from(steps))
    return schema


def enums() -> st.SearchStrategy[Schema]:
    words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True)
    mixed = st.lists(st.sampled_from([*WORDS[:3], 1, 2.5, -7, True, None]), min_size=1, max_size=4, unique=True)
    return st.one_of(
        words.map(lambda values: {"type": "string", "enum": values}),
        st.lists(st.integers(-9, 99), min_size=1, max_size=4, unique=True).map(
            lambda values: {"type": "integer", "enum": values}
        ),
        mixed.map(lambda values: {"enum": values}),
        st.sampled_from([*WORDS, 0, 42, False, None]).map(lambda value: {"const": value}),
        st.sampled_from(WORDS).map(lambda word: {"type": "string", "const": word}),
    )


PLAIN = st.sampled_from([{"type": kind} for kind in ("string", "number", "integer", "boolean")])
TYPED = st.one_of(
    st.sampled_from(PATTERNS).map(lambda pattern: {"type": "string", "pattern": pattern}),
    st.sampled_from(FORMATS).map(lambda fmt: {"type": "string", "format": fmt}),
    numbers(),
)
NULLABLE = st.one_of(PLAIN, TYPED).map(or_null)
SCALARS = st.one_of(PLAIN, st.just({"type": "null"}), TYPED, enums(), NULLABLE)


@st.composite
def objects(draw: st.DrawFn, values: st.SearchStrategy[Schema], *, most: int = 3) -> Schema:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=most, unique=True))
    return strict_object({name: draw(values) for name in names}, nullable=draw(st.integers(0, 4)) == 0)


@st.composite
def arrays(draw: st.DrawFn, items: st.SearchStrategy[Schema]) -> Schema:
    schema: Schema = {"type": "array", "items": draw(items)}
    low = draw(st.integers(0, 2))
    if draw(st.booleans()):
        schema["minItems"] = low
    schema["maxItems"] = low + draw(st.integers(0, 1))
    return or_null(schema) if draw(st.integers(0, 4)) == 0 else schema


def values(depth: int, refs: st.SearchStrategy[Schema] | None = None) -> st.SearchStrategy[Schema]:
    """A property's schema with at most `depth` containers (object, array, anyOf) in it."""
    leaves = SCALARS if refs is None else st.one_of(SCALARS, refs)
    if depth == 0:
        return leaves
    inner = values(depth - 1, refs)
    return st.one_of(leaves, leaves, objects(inner), arrays(inner), any_ofs(inner, leaves))  # half of them leaves


def any_ofs(inner: st.SearchStrategy[Schema], leaves: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    branches = st.lists(st.one_of(objects(inner, most=2), leaves), min_size=2, max_size=2)
    return branches.map(lambda pair: {"anyOf": pair})


# `$defs`: a plain one and a linked list (`#/$defs/node` refers to itself); `#` makes the root recursive.
ITEM: Schema = strict_object({"label": {"type": "string", "pattern": "^[a-z]{1,8}$"}, "count": {"type": "integer"}})
NODE: Schema = strict_object(
    {"word": {"type": "string", "enum": list(WORDS)}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}
)
DEFS: dict[str, Schema] = {"item": ITEM, "node": NODE}
REFS = st.sampled_from(
    [
        {"$ref": "#/$defs/item"},
        {"$ref": "#/$defs/node"},
        {"type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 2},
        {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
    ]
)
RECURSIVE_ROOT = st.sampled_from(
    [{"anyOf": [{"$ref": "#"}, {"type": "null"}]}, {"type": "array", "items": {"$ref": "#"}, "maxItems": 1}]
)


@st.composite
def formats(draw: st.DrawFn, names: tuple[str, ...]) -> Schema:
    """An object with one string property per format in `names`, in any order, some nullable."""
    properties = {fmt: {"type": "string", "format": fmt} for fmt in draw(st.permutations(names))}
    return strict_object(
        {fmt: or_null(schema) if draw(st.booleans()) else schema for fmt, schema in properties.items()}
    )


# Each run puts one feature of the subset at a random place in the root, among other random properties, so every
# feature is exercised whatever hypothesis draws for the rest.
FEATURES: dict[str, st.SearchStrategy[Schema]] = {
    "string": st.sampled_from([{"type": "string"}, {"type": ["string", "null"]}]),
    "pattern": st.sampled_from(PATTERNS).map(lambda pattern: {"type": "string", "pattern": pattern}),
    "format-dates": formats(("date-time", "time", "date")),
    "format-names": formats(("duration", "email", "hostname")),
    "format-addresses": formats(("ipv4", "ipv6", "uuid")),
    "number": numbers(),
    "enum-const": enums(),
    "nullable": NULLABLE,
    "array": arrays(values(1)),
    "object": objects(values(1)),
    "anyOf": any_ofs(values(0), values(0)),
    "$defs": REFS,
    "recursion": RECURSIVE_ROOT,
}


@st.composite
def schemas(draw: st.DrawFn, feature: str) -> Schema:
    """A root schema: `feature`'s schema and up to three random properties, at most three containers deep; with
    `$defs` that its properties may refer to for one root in four and whenever the feature needs them."""
    with_defs = feature == "$defs" or draw(st.integers(0, 3)) == 0
    others = draw(objects(values(2, REFS if with_defs else None)))["properties"]
    name = draw(st.sampled_from([name for name in NAMES if name not in others]))
    at = draw(st.integers(0, len(others)))
    items = list(others.items())
    root = strict_object(dict([*items[:at], (name, draw(FEATURES[feature])), *items[at:]]))
    if with_defs:
        root["$defs"] = DEFS
    return root


# --- Properties --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", FEATURES)
def test_every_schema_in_the_subset_gives_valid_output(llm: llama_cpp.Llama, grammars: Grammars, feature: str) -> None:
    tally = Tally(llm, grammars)

    @settings(SETTINGS, max_examples=3)
    @given(schema=schemas(feature), temp=st.sampled_from([0.0, 1.0]), seed=st.integers(0, 2**16))
    def answers_validate(schema: Schema, temp: float, seed: int) -> None:
        tally.check(schema, temp=temp, seed=seed)

    answers_validate()
    tally.assert_mostly_complete()


FIXED: Schema = strict_object(
    {
        "name": {"type": "string", "pattern": "^[A-Z][a-z]{0,8}$"},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "email": {"type": ["string", "null"], "format": "email"},
        "tags": {"type": "array", "items": {"type": "string", "enum": list(WORDS)}, "maxItems": 3},
        "home": {"anyOf": [strict_object({"city": {"type": "string"}}), {"type": "null"}]},
    }
)


def test_any_prompt_gives_valid_output_for_a_fixed_schema(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    tally = Tally(llm, grammars)

    @settings(SETTINGS, max_examples=5)
    @given(user=st.text(max_size=60))
    def answers_validate(user: str) -> None:
        tally.check(FIXED, user)

    answers_validate()
    tally.assert_mostly_complete()


# --- The format checks themselves --------------------------------------------------------------------------------
# Values from JSON-Schema-Test-Suite (draft2020-12/optional/format) where it has them.


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("date-time", "1963-06-19t08:30:06.283185z"),
        ("date-time", "1998-12-31T15:59:60.123-08:00"),
        ("time", "23:59:60Z"),
        ("time", "01:29:60+01:30"),
        ("date", "2020-02-29"),
        ("date", "0000-02-29"),
        ("duration", "P4DT12H30M5S"),
        ("duration", "P1W"),
        ("hostname", "a" * 63 + ".example"),
        ("email", "joe.bloggs@example.com"),
        ("ipv6", "::"),
        ("uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380"),
    ],
)
def test_format_checks_accept_valid_values(fmt: str, value: str) -> None:
    assert FORMAT_CHECKER.conforms(value, fmt)


def accepts(grammars: Grammars, schema: Schema, answer: str) -> bool:
    """Whether `answer`, fed token by token as the model would write it, is a complete match."""
    processor = grammars.processor(JsonSchema(schema))
    for token in grammars.tokenizer.tokenize_str(answer):
        processor.advance(token)
    return processor.accepting and processor.error is None


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("date-time", "2020-01-01T24:00:00Z"),
        ("date-time", "2020-01-01T12:00:00+23:60"),
        ("date-time", "2018-04-30T15:37:60.9Z"),  # a leap second that is not 23:59:60 UTC
        ("time", "12:00:00"),
        ("time", "20:37:60+00:00"),  # likewise; smollm2 writes such times for the date-time feature above
        ("date", "2020-04-31"),
        ("date", "2021-02-29"),  # not a leap year
        ("duration", "PT0.5S"),
        ("duration", "P1W2D"),
        ("hostname", "a" * 64),
        ("hostname", "a_b"),
        ("ipv4", "256.1.1.1"),
        ("ipv6", "1::2::3"),
        ("uuid", "00000000-0000-0000-0000-00000000000G"),
    ],
)
def test_the_grammar_refuses_what_the_format_refuses(grammars: Grammars, fmt: str, value: str) -> None:
    assert not FORMAT_CHECKER.conforms(value, fmt)
    schema = strict_object({"value": {"type": "string", "format": fmt}})
    assert not accepts(grammars, schema, json.dumps({"value": value}, separators=(",", ":")))

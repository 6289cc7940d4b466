"""Constrained decoding on the small packaged model, driven through llama-cpp-python's own `generate`, as the
embedded engine drives it: whatever the model is asked, the output matches the constraint."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import llama_cpp
import numpy as np
import pytest

from homeport.engines import DEFAULT_MODEL, resolve_model
from homeport.engines.base import TextDelta, ToolCall, ToolCallDelta, ToolCallStarted
from homeport.engines.constraints import (
    Constraint,
    CustomTool,
    FunctionTool,
    GrammarLogitsProcessor,
    Grammars,
    JsonObject,
    JsonSchema,
    LarkGrammar,
    Regex,
    ToolCalls,
)
from homeport.engines.tool_format import CodeFence
from homeport.engines.tool_reader import ToolCallReader, parse_tool_calls
from homeport.errors import InvalidRequest


def strict_object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


CALENDAR_EVENT = strict_object(
    name={"type": "string"}, date={"type": "string"}, participants={"type": "array", "items": {"type": "string"}}
)
WEATHER = FunctionTool(
    "get_weather",
    strict_object(location={"type": "string"}, unit={"type": "string", "enum": ["celsius", "fahrenheit"]}),
)
TIME = FunctionTool("get_time", strict_object(timezone={"type": "string"}))


def chat(llm: llama_cpp.Llama, user: str, system: str = "You are a helpful assistant.") -> list[int]:
    text = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    return llm.tokenize(text.encode(), add_bos=False, special=True)


def generate(
    llm: llama_cpp.Llama, processor: GrammarLogitsProcessor, prompt: list[int], *, max_tokens: int = 80, temp: float = 0
) -> str:
    """The engine's loop: stop on an end token, or as soon as the grammar allows nothing else."""
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    out: list[int] = []
    logits = llama_cpp.LogitsProcessorList([processor])
    for token in llm.generate(prompt, temp=temp, top_k=0, top_p=1.0, min_p=0.0, logits_processor=logits):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        out.append(token)
        processor.advance(token)
        assert processor.error is None
        if processor.finished or len(out) >= max_tokens:
            break
    return llm.detokenize(out).decode()


def run(llm: llama_cpp.Llama, grammars: Grammars, constraint: Constraint, user: str, **options: Any) -> str:
    processor = grammars.processor(constraint)
    text = generate(llm, processor, chat(llm, user), **options)
    assert processor.accepting, text
    return text


def test_json_schema_output_validates_with_keys_in_schema_order(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    text = run(llm, grammars, JsonSchema(CALENDAR_EVENT), "Alice and Bob are going to a science fair on Friday.")
    event = json.loads(text)
    jsonschema.validate(event, CALENDAR_EVENT)
    assert text == json.dumps(event, separators=(",", ":"), ensure_ascii=False)  # compact, keys in schema order


def test_sampled_tokens_are_always_allowed_at_any_temperature(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    prompt = chat(llm, "Describe an event as JSON.")
    for seed in (1, 2, 3):
        llm.set_seed(seed)
        processor = grammars.processor(JsonSchema(CALENDAR_EVENT))
        text = generate(llm, processor, prompt, max_tokens=60, temp=1.5)  # asserts no token outside the grammar
        if processor.accepting:
            jsonschema.validate(json.loads(text), CALENDAR_EVENT)


def test_a_loop_that_only_stops_on_end_tokens_still_ends(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    processor = grammars.processor(Regex(r"\d{3}-\d{4}"))  # fed by llama-cpp-python alone: no advance() here
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    out: list[int] = []
    logits = llama_cpp.LogitsProcessorList([processor])
    for token in llm.generate(chat(llm, "Your phone number?"), temp=0, top_k=0, top_p=1.0, logits_processor=logits):
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(out) == 30:
            break
        out.append(token)
    assert re.fullmatch(r"\d{3}-\d{4}", llm.detokenize(out).decode())


def test_json_object_mode_gives_an_object(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    text = run(llm, grammars, JsonObject(), "Give the capital of France in JSON.", max_tokens=150)
    assert isinstance(json.loads(text), dict)


def test_regex_is_matched_exactly(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    text = run(llm, grammars, Regex(r"\d{3}-\d{4}"), "What is the phone number of the pizza place?")
    assert re.fullmatch(r"\d{3}-\d{4}", text)


def test_lark_grammar_is_matched_exactly(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    grammar = 'start: "The answer is " ANSWER "."\nANSWER: "yes" | "no"'
    text = run(llm, grammars, LarkGrammar(grammar), "Is the sky blue?")
    assert text in ("The answer is yes.", "The answer is no.")


def test_only_end_tokens_are_allowed_once_complete(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    processor = grammars.processor(Regex("ok"))
    for token in grammars.tokenizer.tokenize_str("ok"):
        processor.advance(token)
    assert processor.accepting and processor.finished
    scores = processor(np.zeros(3, dtype=np.intc), np.zeros(llm.n_vocab(), dtype=np.single))
    assert sorted(np.flatnonzero(np.isfinite(scores))) == sorted(grammars.eos_tokens)
    assert llama_cpp.llama_vocab_eos(llama_cpp.llama_model_get_vocab(llm.model)) in grammars.eos_tokens


def calls_in(answer: str, tools: list[FunctionTool]) -> list[tuple[str, dict[str, Any]]]:
    """The function calls of a tool-call answer, each checked against its tool's schema."""
    schemas = {tool.name: tool.parameters for tool in tools}
    calls = []
    for call in parse_tool_calls(answer)[1]:
        assert call.arguments is not None and call.input is None
        arguments = json.loads(call.arguments)
        jsonschema.validate(arguments, schemas[call.name])
        calls.append((call.name, arguments))
    return calls


def test_tool_calls_give_text_or_well_formed_calls(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    tools = [WEATHER, TIME]
    system = "You can call tools: get_weather(location, unit) and get_time(timezone)."
    for user in ("What is the weather like in Paris today?", "Say hello."):
        processor = grammars.processor(ToolCalls(tools))
        text = generate(llm, processor, chat(llm, user, system), max_tokens=60)
        if processor.accepting:
            calls_in(text, tools)


def accepts(grammars: Grammars, constraint: Constraint, answer: str) -> bool:
    """Whether `answer`, fed token by token as the model would write it, is a complete match."""
    processor = grammars.processor(constraint)
    for token in grammars.tokenizer.tokenize_str(answer):
        processor.advance(token)
    return processor.accepting and processor.error is None


def test_auto_mode_allows_text_then_calls_and_nothing_after(grammars: Grammars) -> None:
    call = '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "UTC"}}\n</tool_call>'
    answers = {
        "": True,
        "Just text.": True,
        call: True,
        f"Let me check.\n{call}\n{call}": True,
        f"{call}\nThe time is noon.": False,
        "Text that writes <tool_call> without calling.": False,
        call.replace("UTC", "1"): True,
        call.replace('"UTC"', "1"): False,
        '{"name": "get_time", "arguments": {"timezone": "UTC"}}': True,  # bare, as small models write calls
        '{"name": "get_time", "arguments": {"timezone": "UTC"}}\n{"name": "get_time", "arguments": {}}': False,
        '{"answer": 42}': False,  # an answer starting with a brace is a call
        '```json\n{"name": "get_time", "arguments": {"timezone": "UTC"}}\n```': True,  # fenced, as Qwen writes them
        '```json\n{"answer": 42}\n```': False,
        "```python\nprint(1)\n```": True,
    }
    for answer, valid in answers.items():
        assert accepts(grammars, ToolCalls([TIME]), answer) == valid, answer


PYTHON = FunctionTool("python", strict_object(code={"type": "string"}), fence=CodeFence("python", "code"))


def test_a_code_block_calls_the_function_that_takes_code(grammars: Grammars) -> None:
    block = "```python\nprint(1)\n```"
    call = '<tool_call>\n{"name": "python", "arguments": {"code": "1"}}\n</tool_call>'
    answers = {
        block: True,
        f"Let me compute it.\n\n{block}": True,
        f"{block}\nThat prints 1.": False,  # the block ends the answer
        "Plain text, with ``` backticks.": True,
        "```python\n\n```": False,  # no code
        f"{call}": True,
        f"{block}\n{call}": False,
        '```json\n{"name": "python", "arguments": {"code": "1"}}\n```': True,
    }
    for answer, valid in answers.items():
        assert accepts(grammars, ToolCalls([PYTHON, TIME]), answer) == valid, answer
    assert accepts(grammars, ToolCalls([PYTHON], required=True), block)
    assert not accepts(grammars, ToolCalls([PYTHON], required=True), f"Sure.\n{block}")
    assert accepts(grammars, ToolCalls([TIME]), f"Sure.\n{block}\nMore.")  # without the tool a block is text
    assert not accepts(grammars, ToolCalls([PYTHON], text=JsonObject()), block)  # structured text: no blocks


def test_a_code_block_reads_as_a_call_with_its_code_as_the_argument() -> None:
    fences = {"python": CodeFence("python", "code")}
    answers = {
        "```python\nprint(1)\n```": ("", [ToolCall("python", arguments='{"code": "print(1)"}')]),
        'Sure:\n\n```python\nprint("a\\b")\n```': (
            "Sure:",
            [ToolCall("python", arguments='{"code": "print(\\"a\\\\b\\")"}')],
        ),
        "One ``` and ```py only.": ("One ``` and ```py only.", []),
    }
    for answer, parsed in answers.items():
        assert parse_tool_calls(answer, fences) == parsed
        assert read_one_character_at_a_time(answer, fences) == parsed, answer


def test_required_mode_forces_one_call_when_limited_to_one(llm: llama_cpp.Llama, grammars: Grammars) -> None:
    text = run(llm, grammars, ToolCalls([WEATHER, TIME], required=True, max_calls=1), "Say hello.")
    assert len(calls_in(text, [WEATHER, TIME])) == 1


def test_only_the_allowed_tools_can_be_called(grammars: Grammars) -> None:
    call = '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}\n</tool_call>'
    assert accepts(grammars, ToolCalls([WEATHER, TIME], required=True), call)
    assert not accepts(grammars, ToolCalls([TIME], required=True), call)


def test_call_limits_refuse_one_call_too_many(grammars: Grammars) -> None:
    one = '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "UTC"}}\n</tool_call>'
    assert accepts(grammars, ToolCalls([TIME]), "\n".join([one] * 3))
    assert accepts(grammars, ToolCalls([TIME], max_calls=2), f"{one}\n{one}")
    assert not accepts(grammars, ToolCalls([TIME], max_calls=2), "\n".join([one] * 3))
    assert not accepts(grammars, ToolCalls([TIME], max_calls=1), f"{one}\n{one}")


def test_custom_tools_take_raw_input_matching_their_grammar(grammars: Grammars) -> None:
    sql = CustomTool("run_sql", LarkGrammar('start: "SELECT " /[0-9]+/'))
    tools = ToolCalls([WEATHER, sql, CustomTool("notes")], required=True)
    notes = '<tool_call>\n{"name": "notes"}\nany\ntext</tool_call>'
    answers = {
        '<tool_call>\n{"name": "run_sql"}\nSELECT 42</tool_call>': True,
        '<tool_call>\n{"name": "run_sql"}\nDROP TABLE x</tool_call>': False,
        f'{notes}\n<tool_call>\n{{"name": "run_sql"}}\nSELECT 1</tool_call>': True,
        f"{notes}</tool_call>": False,
    }
    for answer, valid in answers.items():
        assert accepts(grammars, tools, answer) == valid, answer


def test_answers_parse_back_into_text_and_calls() -> None:
    weather = '{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}'
    tag_in_string = '{"name": "get_time", "arguments": {"timezone": "</tool_call>"}}'
    answers = {
        "Hello.": ("Hello.", []),
        f"<tool_call>\n{tag_in_string}\n</tool_call>": (
            "",
            [ToolCall("get_time", arguments='{"timezone": "</tool_call>"}')],
        ),
        weather: ("", [ToolCall("get_weather", arguments='{"location": "Paris", "unit": "celsius"}')]),
        f"```json\n{weather}\n{weather}\n```": (
            "",
            [ToolCall("get_weather", arguments='{"location": "Paris", "unit": "celsius"}')] * 2,
        ),
        "```python\nprint(1)\n```": ("```python\nprint(1)\n```", []),
        f'Checking.\n<tool_call>\n{weather}\n</tool_call>\n<tool_call>\n{{"name": "sql"}}\nSELECT\n1</tool_call>': (
            "Checking.",
            [
                ToolCall("get_weather", arguments='{"location": "Paris", "unit": "celsius"}'),
                ToolCall("sql", input="SELECT\n1"),
            ],
        ),
    }
    for answer, parsed in answers.items():
        assert parse_tool_calls(answer) == parsed
        assert read_one_character_at_a_time(answer) == parsed, answer


def read_one_character_at_a_time(answer: str, fences: dict[str, CodeFence] | None = None) -> tuple[str, list[ToolCall]]:
    """What a stream of one-character pieces reads as: every held-back tail must resolve the same way."""
    reader = ToolCallReader(fences=fences)
    pieces = [piece for character in answer for piece in reader.push(character)] + reader.finish()
    text = "".join(piece.text for piece in pieces if isinstance(piece, TextDelta))
    calls: list[ToolCall] = []
    for piece in pieces:
        if isinstance(piece, ToolCallStarted):
            calls.append(ToolCall(piece.name, input="") if piece.custom else ToolCall(piece.name, arguments=""))
        elif isinstance(piece, ToolCallDelta):
            call = calls[piece.index]
            calls[piece.index] = (
                ToolCall(call.name, input=(call.input or "") + piece.text)
                if call.input is not None
                else ToolCall(call.name, arguments=(call.arguments or "") + piece.text)
            )
    return text, calls


def test_compiled_grammars_are_cached_by_source(grammars: Grammars) -> None:
    first = grammars.compile(JsonSchema(CALENDAR_EVENT))
    assert grammars.compile(JsonSchema(json.loads(json.dumps(CALENDAR_EVENT)))) is first
    reordered = {**CALENDAR_EVENT, "properties": dict(reversed(CALENDAR_EVENT["properties"].items()))}
    assert grammars.compile(JsonSchema(reordered)) is not first  # key order is output order: another grammar
    assert grammars.compile(ToolCalls([WEATHER])) is grammars.compile(ToolCalls([WEATHER]))
    assert grammars.compile(ToolCalls([WEATHER])) is not grammars.compile(ToolCalls([WEATHER], max_calls=1))


@pytest.mark.parametrize(
    ("constraint", "words"),
    [
        (LarkGrammar("start: foo"), 'Invalid Lark grammar: at 1(8): unknown name: "foo"'),
        (Regex(r"(\d{3}"), "Invalid regular expression"),
        (JsonSchema({"type": "object", "properties": {"a": {"type": "frobnicate"}}}), "Invalid JSON schema"),
        (ToolCalls([CustomTool("bad", LarkGrammar("start: ("))]), "Invalid tool grammar"),
        (ToolCalls([]), "A tool-call grammar needs at least one tool."),
        (ToolCalls([TIME], max_calls=0), "max_calls must be at least 1."),
    ],
)
def test_refused_grammars_are_invalid_requests(grammars: Grammars, constraint: Constraint, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        grammars.compile(constraint, param="text.format")
    assert caught.value.param == "text.format"
    assert caught.value.message.startswith(words)


def test_non_strict_schemas_ignore_what_llguidance_does_not_implement(grammars: Grammars) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "if": {"minLength": 1}}}}
    grammars.compile(JsonSchema(schema, strict=False))
    grammars.compile(ToolCalls([FunctionTool("f", schema, strict=False)]))
    with pytest.raises(InvalidRequest, match="Unimplemented keys"):
        grammars.compile(JsonSchema(schema))


@pytest.fixture(scope="module")
def qwen() -> Iterator[llama_cpp.Llama]:
    data_dir = Path(os.environ.get("HOMEPORT_TEST_MODEL_DIR", Path.home() / ".cache" / "homeport-tests"))
    path = resolve_model(DEFAULT_MODEL, data_dir).path
    model = llama_cpp.Llama(model_path=str(path), n_ctx=1024, n_threads=1, n_threads_batch=1, verbose=False)
    yield model
    model.close()


@pytest.fixture(scope="module")
def qwen_grammars(qwen: llama_cpp.Llama) -> Grammars:
    return Grammars(qwen)


@pytest.mark.default_model
def test_qwen_calls_the_weather_tool_in_its_native_format(qwen: llama_cpp.Llama, qwen_grammars: Grammars) -> None:
    template = jinja2.Template(qwen.metadata["tokenizer.chat_template"])
    tools = [{"type": "function", "function": {"name": t.name, "parameters": t.parameters}} for t in (WEATHER, TIME)]
    question = [{"role": "user", "content": "What is the weather like in Paris today?"}]
    prompt = template.render(messages=question, tools=tools, add_generation_prompt=True)
    processor = qwen_grammars.processor(ToolCalls([WEATHER, TIME]))
    text = generate(qwen, processor, qwen.tokenize(prompt.encode(), add_bos=False, special=True))
    assert processor.accepting
    [(name, arguments)] = calls_in(text, [WEATHER, TIME])
    assert name == "get_weather" and "Paris" in arguments["location"]


@pytest.mark.default_model
def test_qwen_tool_calls_use_its_special_tag_tokens(qwen_grammars: Grammars) -> None:
    qwen = qwen_grammars
    assert (qwen.tags.open_is_token, qwen.tags.close_is_token) == (True, True)
    body = '\n{"name": "get_time", "arguments": {"timezone": "UTC"}}\n'
    as_tokens = qwen.tokenizer.tokenize_str(f"<tool_call>{body}</tool_call>")
    assert qwen.tokenizer.is_special_token(as_tokens[0]) and qwen.tokenizer.is_special_token(as_tokens[-1])
    spelled = [t for piece in ("<", "tool", "_call", ">") for t in qwen.tokenizer.tokenize_str(piece)]
    for tokens, valid in ((as_tokens, True), (spelled + as_tokens[1:], False)):
        processor = qwen.processor(ToolCalls([TIME], required=True))
        for token in tokens:
            processor.advance(token)
        assert (processor.accepting and processor.error is None) == valid

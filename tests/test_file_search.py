"""The file_search tool in the Responses API, on the small model: the call, its events, results and citations.

`tool_choice={"type": "file_search"}` makes the 135M model search (the grammar requires the call); what it writes
afterwards does not matter here. The default model answers the documentation's own example in test_docs_examples.
"""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseFileSearchToolCall, ResponseOutputMessage
from tests.documents import make_pdf


@pytest.fixture(scope="module")
def store(client: OpenAI) -> tuple[str, str]:
    pdf = make_pdf(
        [
            "Baggage policy. Each passenger may check one bag of up to 23 kg on domestic flights.",
            "Extra bags. Passengers may buy Prepaid Extra Bags up to 90 minutes before an international flight.",
        ]
    )
    file = client.files.create(file=("baggage.pdf", pdf), purpose="assistants")
    vector_store = client.vector_stores.create(name="baggage")
    attached = client.vector_stores.files.create_and_poll(vector_store_id=vector_store.id, file_id=file.id)
    assert attached.status == "completed"
    return vector_store.id, file.id


def test_forced_search_runs_and_cites(client: OpenAI, store: tuple[str, str]) -> None:
    vector_store_id, file_id = store
    response = client.responses.create(
        model="gpt-4o",
        input="Can I bring more bags than my allowance?",
        tools=[{"type": "file_search", "vector_store_ids": [vector_store_id]}],
        tool_choice={"type": "file_search"},
        parallel_tool_calls=False,
        include=["file_search_call.results"],
        max_output_tokens=120,
        temperature=0,
    )
    call = response.output[0]
    assert isinstance(call, ResponseFileSearchToolCall)
    assert call.id.startswith("fs_") and call.status == "completed" and call.queries
    assert call.results and call.results[0].file_id == file_id and call.results[0].filename == "baggage.pdf"
    assert 0 <= (call.results[0].score or 0) <= 1
    message = response.output[-1]
    assert isinstance(message, ResponseOutputMessage)
    annotations = message.content[0].annotations  # type: ignore[union-attr]
    text = message.content[0].text  # type: ignore[union-attr]
    if text.strip():
        assert annotations and annotations[0].type == "file_citation"
        assert annotations[0].file_id == file_id and 0 <= annotations[0].index <= len(text)  # type: ignore[union-attr]
    tool = response.tools[0]
    assert tool.type == "file_search" and tool.max_num_results == 20
    assert tool.ranking_options is not None and tool.ranking_options.ranker == "auto"
    assert tool.ranking_options.score_threshold == 0.0
    assert response.usage is not None and response.usage.input_tokens > 0


def test_results_only_with_include(client: OpenAI, store: tuple[str, str]) -> None:
    vector_store_id, _ = store
    response = client.responses.create(
        model="gpt-4o",
        input="What is the checked bag weight limit?",
        tools=[{"type": "file_search", "vector_store_ids": [vector_store_id], "max_num_results": 1}],
        tool_choice="required",
        parallel_tool_calls=False,
        max_output_tokens=120,
        temperature=0,
    )
    call = response.output[0]
    assert isinstance(call, ResponseFileSearchToolCall) and call.results is None
    stored = client.responses.retrieve(response.id)
    assert stored.output[0].results is None  # type: ignore[union-attr]
    with_results = client.responses.retrieve(response.id, include=["file_search_call.results"])
    assert with_results.output[0].results is None  # type: ignore[union-attr]


def test_stream_events_in_order(client: OpenAI, store: tuple[str, str]) -> None:
    vector_store_id, _ = store
    with client.responses.stream(
        model="gpt-4o",
        input="How late can I buy an extra bag?",
        tools=[{"type": "file_search", "vector_store_ids": [vector_store_id]}],
        tool_choice={"type": "file_search"},
        parallel_tool_calls=False,
        max_output_tokens=200,
        temperature=0,
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    search = [t for t in types if t.startswith("response.file_search_call")]
    assert search == [
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
    ]
    added = types.index("response.output_item.added")
    assert types[added + 1] == "response.file_search_call.in_progress"
    assert types.index("response.file_search_call.completed") < types.index("response.output_item.done")
    if "response.output_text.annotation.added" in types:
        assert types.index("response.output_text.annotation.added") < types.index("response.output_text.done")
    assert types[-1] == "response.completed"
    assert final.output[0].type == "file_search_call"


def test_filters_and_unknown_store(client: OpenAI, store: tuple[str, str]) -> None:
    vector_store_id, _ = store
    response = client.responses.create(
        model="gpt-4o",
        input="bags",
        tools=[
            {
                "type": "file_search",
                "vector_store_ids": [vector_store_id],
                "filters": {"type": "eq", "key": "kind", "value": "nothing-has-this"},
            }
        ],
        tool_choice={"type": "file_search"},
        parallel_tool_calls=False,
        include=["file_search_call.results"],
        max_output_tokens=120,
        temperature=0,
    )
    assert response.output[0].results == []  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError) as error:
        client.responses.create(
            model="gpt-4o", input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_nope"]}]
        )
    assert error.value.param == "tools[0].vector_store_ids[0]"
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(
            model="gpt-4o",
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": [vector_store_id], "max_num_results": 99}],
        )
    assert bad.value.param == "tools[0].max_num_results"


def test_output_replays_as_input(client: OpenAI, store: tuple[str, str]) -> None:
    vector_store_id, _ = store
    tools = [{"type": "file_search", "vector_store_ids": [vector_store_id]}]
    first = client.responses.create(
        model="gpt-4o",
        input="How heavy may a checked bag be?",
        tools=tools,  # type: ignore[arg-type]
        tool_choice={"type": "file_search"},
        parallel_tool_calls=False,
        include=["file_search_call.results"],
        max_output_tokens=120,
        temperature=0,
    )
    replayed = [{"role": "user", "content": "How heavy may a checked bag be?"}]
    replayed += [item.model_dump(exclude_none=True) for item in first.output]
    replayed.append({"role": "user", "content": "And in pounds?"})
    second = client.responses.create(
        model="gpt-4o",
        input=replayed,  # type: ignore[arg-type]
        max_output_tokens=16,
    )
    kinds = [item.type for item in client.responses.input_items.list(second.id, order="asc").data]
    assert kinds[:2] == ["message", "file_search_call"]
    # The replayed results reach the model: the prompt is longer than without them.
    without = client.responses.input_tokens.count(
        model="gpt-4o",
        input=[entry for entry in replayed if entry.get("type") != "file_search_call"],  # type: ignore[arg-type]
    )
    assert second.usage is not None and second.usage.input_tokens > without.input_tokens + 10
    chained = client.responses.create(
        model="gpt-4o", input="And in pounds?", previous_response_id=first.id, max_output_tokens=16
    )
    assert chained.status in ("completed", "incomplete")

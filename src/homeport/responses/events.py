"""The one emitter of Responses streaming events.

Every event of a response is built here, as the SDK's own pydantic type, and numbered here. Non-streaming requests
consume the same events and keep the last one's `response`, so both paths agree by construction.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseCustomToolCall,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItem,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseQueuedEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from openai.types.responses.response import IncompleteDetails
from openai.types.responses.response_error import ResponseError
from openai.types.responses.response_output_text import Annotation
from openai.types.responses.response_text_delta_event import Logprob as DeltaLogprob
from openai.types.responses.response_text_done_event import Logprob as DoneLogprob
from pydantic import TypeAdapter

from homeport.engines.base import TokenLogprob

OutputItem = ResponseOutputItem
_STREAM_EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
_ANNOTATION: TypeAdapter[Annotation] = TypeAdapter(Annotation)


def wire(model: Any) -> dict[str, Any]:
    """An SDK object as JSON-ready data: the fields we set, with OpenAI's integer timestamps."""
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    _integer_times(data)
    return data


def _integer_times(data: Any) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("created_at", "completed_at") and isinstance(value, float) and value.is_integer():
                data[key] = int(value)
            else:
                _integer_times(value)
    elif isinstance(data, list):
        for value in data:
            _integer_times(value)


class EventEmitter:
    """Builds the events of one response, in order, mutating `response` as its output grows."""

    def __init__(self, response: Response, *, obfuscate: bool) -> None:
        self.response = response
        self._obfuscate = obfuscate
        # Assigned here, once per event: a stream resumed with starting_after replays stored numbers, so a number
        # must never be recomputed elsewhere.
        self._sequence = 0

    def _number(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def _snapshot(self) -> Response:
        return self.response.model_copy(deep=True)

    def created(self) -> ResponseStreamEvent:
        return ResponseCreatedEvent(type="response.created", response=self._snapshot(), sequence_number=self._number())

    def queued(self) -> ResponseStreamEvent:
        return ResponseQueuedEvent(type="response.queued", response=self._snapshot(), sequence_number=self._number())

    def skip(self, number: int) -> None:
        """Number the next event `number`: a run prepared again continues the numbers its event log holds."""
        self._sequence = number

    def in_progress(self) -> ResponseStreamEvent:
        return ResponseInProgressEvent(
            type="response.in_progress", response=self._snapshot(), sequence_number=self._number()
        )

    def item_added(self, item: OutputItem) -> ResponseStreamEvent:
        return ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=item.model_copy(deep=True),
            output_index=len(self.response.output),
            sequence_number=self._number(),
        )

    def text_part_added(self, message: ResponseOutputMessage) -> ResponseStreamEvent:
        return ResponseContentPartAddedEvent(
            type="response.content_part.added",
            item_id=message.id,
            output_index=len(self.response.output),
            content_index=len(message.content),
            part=ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[]),
            sequence_number=self._number(),
        )

    def text_delta(
        self, message: ResponseOutputMessage, delta: str, logprobs: list[TokenLogprob]
    ) -> ResponseStreamEvent:
        event = ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id=message.id,
            output_index=len(self.response.output),
            content_index=len(message.content),
            delta=delta,
            logprobs=[DeltaLogprob.model_validate(logprob_data(lp)) for lp in logprobs],
            sequence_number=self._number(),
        )
        if self._obfuscate:
            event.obfuscation = obfuscation(delta)  # type: ignore[attr-defined]
        return event

    def annotation_added(
        self, message: ResponseOutputMessage, part: ResponseOutputText, annotation: dict[str, Any]
    ) -> ResponseStreamEvent:
        """An annotation of the text being written (a citation), added to the part as it goes out."""
        validated = _ANNOTATION.validate_python(annotation)
        part.annotations.append(validated)
        return ResponseOutputTextAnnotationAddedEvent.model_validate(
            {
                "type": "response.output_text.annotation.added",
                "item_id": message.id,
                "output_index": len(self.response.output),
                "content_index": len(message.content),
                "annotation_index": len(part.annotations) - 1,
                "annotation": validated.model_dump(),
                "sequence_number": self._number(),
            }
        )

    def item_progress(
        self, event_type: str, item: OutputItem, fields: dict[str, Any] | None = None
    ) -> ResponseStreamEvent:
        """A status event of a server-owned tool's item (`response.<item type>.in_progress`, `.searching`, a code
        delta, …): the tool names it and gives any fields of its own; the item's id and place are the same for all."""
        return _STREAM_EVENT.validate_python(
            {
                "type": event_type,
                "item_id": item.id,
                "output_index": len(self.response.output),
                "sequence_number": self._number(),
                **(fields or {}),
            }
        )

    def text_done(self, message: ResponseOutputMessage, part: ResponseOutputText) -> ResponseStreamEvent:
        return ResponseTextDoneEvent(
            type="response.output_text.done",
            item_id=message.id,
            output_index=len(self.response.output),
            content_index=len(message.content),
            text=part.text,
            logprobs=[DoneLogprob.model_validate(lp.model_dump()) for lp in part.logprobs or []],
            sequence_number=self._number(),
        )

    def text_part_done(self, message: ResponseOutputMessage, part: ResponseOutputText) -> ResponseStreamEvent:
        event = ResponseContentPartDoneEvent(
            type="response.content_part.done",
            item_id=message.id,
            output_index=len(self.response.output),
            content_index=len(message.content),
            part=part.model_copy(deep=True),
            sequence_number=self._number(),
        )
        message.content.append(part)
        return event

    def item_done(self, item: OutputItem) -> ResponseStreamEvent:
        event = ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            item=item.model_copy(deep=True),
            output_index=len(self.response.output),
            sequence_number=self._number(),
        )
        self.response.output.append(item)
        return event

    def call_delta(self, call: ResponseFunctionToolCall | ResponseCustomToolCall, delta: str) -> ResponseStreamEvent:
        """More of a call's arguments (a function) or input (a custom tool)."""
        assert call.id is not None, "output items are given ids when they are added"
        event: ResponseFunctionCallArgumentsDeltaEvent | ResponseCustomToolCallInputDeltaEvent
        if isinstance(call, ResponseFunctionToolCall):
            event = ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=call.id,
                output_index=len(self.response.output),
                delta=delta,
                sequence_number=self._number(),
            )
        else:
            event = ResponseCustomToolCallInputDeltaEvent(
                type="response.custom_tool_call_input.delta",
                item_id=call.id,
                output_index=len(self.response.output),
                delta=delta,
                sequence_number=self._number(),
            )
        if self._obfuscate:
            event.obfuscation = obfuscation(delta)  # type: ignore[union-attr]
        return event

    def call_input_done(self, call: ResponseFunctionToolCall | ResponseCustomToolCall) -> ResponseStreamEvent:
        assert call.id is not None, "output items are given ids when they are added"
        if isinstance(call, ResponseFunctionToolCall):
            return ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                item_id=call.id,
                output_index=len(self.response.output),
                arguments=call.arguments,
                sequence_number=self._number(),
            )
        return ResponseCustomToolCallInputDoneEvent(
            type="response.custom_tool_call_input.done",
            item_id=call.id,
            output_index=len(self.response.output),
            input=call.input,
            sequence_number=self._number(),
        )

    def completed(self) -> ResponseStreamEvent:
        self._finish("completed")
        return ResponseCompletedEvent(
            type="response.completed", response=self._snapshot(), sequence_number=self._number()
        )

    def incomplete(self, reason: str) -> ResponseStreamEvent:
        self._finish("incomplete")
        self.response.incomplete_details = IncompleteDetails(reason=reason)  # type: ignore[arg-type]
        return ResponseIncompleteEvent(
            type="response.incomplete", response=self._snapshot(), sequence_number=self._number()
        )

    def failed(self, message: str) -> ResponseStreamEvent:
        self._finish("failed")
        self.response.error = ResponseError(code="server_error", message=message)
        return ResponseFailedEvent(type="response.failed", response=self._snapshot(), sequence_number=self._number())

    def _finish(self, status: str) -> None:
        self.response.status = status  # type: ignore[assignment]
        self.response.completed_at = float(int(time.time())) if status == "completed" else None


def obfuscation(delta: str) -> str:
    """Padding that brings every streamed delta to a similar size, so its length does not reveal the token (a side
    channel). Responses events and Chat Completions chunks carry it alike."""
    return secrets.token_urlsafe(12)[: max(1, 16 - len(delta))]


def logprob_data(logprob: TokenLogprob) -> dict[str, Any]:
    """An engine logprob in the wire shape shared by deltas and `output_text.logprobs`."""
    return {
        "token": logprob.token,
        "bytes": logprob.bytes,
        "logprob": logprob.logprob,
        "top_logprobs": [
            {"token": top.token, "bytes": top.bytes, "logprob": top.logprob} for top in logprob.top_logprobs
        ],
    }

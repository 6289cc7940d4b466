"""The embedded engine: a GGUF model run in-process by llama-cpp-python (with `constraints.py`, the only modules
importing `llama_cpp`).

One llama context serves one generation at a time. Requests wait on an `asyncio.Lock`, whose waiters are woken
in arrival order, so the queue is fair; the token loop runs in a worker thread (llama.cpp releases the GIL while it
computes), so the event loop keeps answering other requests while the model is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import threading
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import anyio
import llama_cpp
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from homeport.engines.base import (
    ChatMessage,
    EngineDelta,
    Finished,
    GenerateRequest,
    Sampling,
    TextDelta,
    TokenLogprob,
    TopLogprob,
    Usage,
)
from homeport.engines.chat_template import has_tool_syntax, template_inputs
from homeport.engines.constraints import Constraint, GrammarLogitsProcessor, Grammars, Tool, ToolCalls
from homeport.engines.packaged import ModelFile
from homeport.engines.streaming import DeltaAssembler
from homeport.engines.tool_reader import ToolCallReader
from homeport.errors import ContextLengthExceeded, EngineError, HomeportError

log = logging.getLogger("homeport.engine")

_DONE = object()

# llama.cpp reads this seed as "pick one at random", so a caller's seed is never mapped onto it.
_RANDOM_SEED = 0xFFFFFFFF


class LlamaCppEngine:
    """`Engine` over llama-cpp-python. Prefix reuse of the KV cache is real and reported as cached tokens."""

    accepts_images = False

    def __init__(self, model: ModelFile, *, context_size: int, threads: int | None = None) -> None:
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model.path),
                n_ctx=context_size,
                n_threads=threads or os.cpu_count() or 1,
                # Prompt evaluation defaults to every core; its spinning threads stall badly when the machine is
                # shared, so it gets the same count as generation.
                n_threads_batch=threads or os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"Could not load the model file {model.path}") from exc
        self.model_id = model.name
        self.context_size = self._llm.n_ctx()
        self.vocab_size = self._llm.n_vocab()
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._formatter = self._chat_formatter()
        self._lock = asyncio.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._grammars_lock = threading.Lock()
        self._compiled: Grammars | None = None

    def _chat_formatter(self) -> Jinja2ChatFormatter:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EngineError(f"The model {self.model_id} has no chat template in its GGUF metadata")
        self._native_tools = has_tool_syntax(template)
        return Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def prompt_tokens(self, messages: Sequence[ChatMessage], tools: Sequence[Tool] = ()) -> tuple[int, ...]:
        return self._render(tuple(messages), tuple(tools))

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one engine per process; the cache lives as long as it does
    def _render(self, messages: tuple[ChatMessage, ...], tools: tuple[Tool, ...]) -> tuple[int, ...]:
        # Memoized: a request's prompt is counted while its context is assembled and again when it is generated.
        chat, listed = template_inputs(messages, tools, native=self._native_tools)
        rendered = self._formatter(messages=chat, tools=listed)  # type: ignore[arg-type]
        return tuple(self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True))

    def _grammars(self) -> Grammars:
        """Built on first use (about 1 s for a 150k vocabulary), then shared by every constrained generation."""
        with self._grammars_lock:
            if self._compiled is None:
                self._compiled = Grammars(self._llm)
            return self._compiled

    def check_constraint(self, constraint: Constraint, *, param: str) -> None:
        self._grammars().compile(constraint, param=param)

    def count_tokens(self, messages: Sequence[ChatMessage], tools: Sequence[Tool] = ()) -> int:
        return len(self.prompt_tokens(messages, tools))

    def raw_prompt_tokens(self, prompt: str) -> tuple[int, ...]:
        """The model's tokens of a raw prompt. Special tokens are read as such, so a hand-written chat template works;
        an empty prompt is the start of a document (as OpenAI's default prompt, `<|endoftext|>`, is)."""
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        if tokens:
            return tuple(tokens)
        start = self._llm.token_bos()
        return (start if start >= 0 else self._llm.token_eos(),)

    def count_prompt_tokens(self, prompt: str) -> int:
        return len(self.raw_prompt_tokens(prompt))

    async def generate(self, request: GenerateRequest) -> AsyncGenerator[EngineDelta, None]:
        if request.prompt is not None:
            prompt = self.raw_prompt_tokens(request.prompt)
        else:
            prompt = self.prompt_tokens(request.messages, request.tools)
        if len(prompt) >= self.context_size:
            raise ContextLengthExceeded(
                f"The input takes {len(prompt)} tokens; this model's context window is {self.context_size} tokens."
            )
        async with self._lock:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[Any] = asyncio.Queue()
            stop = threading.Event()

            def emit(item: object) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, item)

            job = loop.run_in_executor(self._worker, self._run, list(prompt), request.sampling, stop, emit)
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                stop.set()
                # The llama context is shared: the next request may start only after this loop has let go of it,
                # even when the consumer was cancelled (a client that went away). The single-worker executor
                # serializes jobs as well; the shield keeps the lock held until the stop is seen.
                with anyio.CancelScope(shield=True):
                    await job

    def _run(self, prompt: list[int], sampling: Sampling, stop: threading.Event, emit: Any) -> None:
        try:
            for delta in self._tokens(prompt, sampling, stop):
                emit(delta)
        except HomeportError as exc:
            emit(exc)
        except Exception:
            log.exception("generation failed")
            emit(EngineError("The model failed while generating."))
        finally:
            emit(_DONE)

    def _tokens(self, prompt: list[int], sampling: Sampling, stop: threading.Event) -> Iterator[EngineDelta]:
        if sampling.seed is not None:
            # A prompt evaluated over a reused KV-cache prefix gets logits that differ in the last bits from a fresh
            # evaluation, enough to change a sampled token: a seeded generation evaluates its whole prompt afresh.
            self._llm.reset()  # type: ignore[no-untyped-call]
        cached = min(llama_cpp.Llama.longest_token_prefix(self._llm._input_ids.tolist(), prompt), len(prompt) - 1)
        room = self.context_size - len(prompt)
        budget = room if sampling.max_tokens is None else min(sampling.max_tokens, room)
        capture = _LogprobCapture() if sampling.top_logprobs is not None else None
        guide = self._grammars().processor(sampling.constraint) if sampling.constraint else None
        output = DeltaAssembler(sampling.stop)
        constraint = sampling.constraint
        reader = (
            ToolCallReader(json_text=constraint.text is not None, fences=constraint.fences)
            if isinstance(constraint, ToolCalls)
            else None
        )
        produced = 0
        reason: Literal["stop", "length"] = "length"
        for token in self._sampled(prompt, sampling, guide, capture) if budget > 0 else ():
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                reason = "stop"
                break
            produced += 1
            piece = self._llm.detokenize([token])
            logprob = None
            if capture is not None and sampling.top_logprobs is not None:
                logprob = self._logprob(capture.last, token, piece, sampling.top_logprobs)
            if delta := output.push(piece, logprob):
                yield from _read(delta, reader)
            if guide is not None:
                guide.advance(token)
                if guide.error:
                    raise EngineError("The constrained output could not be continued.")
                if guide.finished:
                    reason = "stop"
                    break
            if output.stopped:
                reason = "stop"
                break
            if produced >= budget or stop.is_set():
                break
        if tail := output.finish():
            yield from _read(tail, reader)
        if reader is not None:
            yield from reader.finish()
        if guide is not None and not guide.accepting:
            reason = "length"  # never claim a cut-off constrained answer complete
        yield Finished(reason, Usage(len(prompt), max(cached, 0), produced))

    def _sampled(
        self,
        prompt: list[int],
        sampling: Sampling,
        guide: GrammarLogitsProcessor | None,
        capture: _LogprobCapture | None,
    ) -> Iterator[int]:
        """llama.cpp's tokens for this prompt under the request's sampling settings, seeded as asked."""
        self._llm.set_seed(secrets.randbits(31) if sampling.seed is None else sampling.seed % _RANDOM_SEED)
        return self._llm.generate(
            prompt,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            logits_processor=_processors(sampling.logit_bias, guide, capture),
        )

    def _logprob(self, logprobs: np.ndarray, token: int, piece: bytes, top: int) -> TokenLogprob:
        alternatives = np.argpartition(logprobs, -top)[-top:] if top else np.array([], dtype=int)
        alternatives = alternatives[np.argsort(logprobs[alternatives])[::-1]]
        return TokenLogprob(
            token=piece.decode("utf-8", errors="replace"),
            bytes=list(piece),
            logprob=float(logprobs[token]),
            top_logprobs=[self._top(int(t), float(logprobs[t])) for t in alternatives],
        )

    def _top(self, token: int, logprob: float) -> TopLogprob:
        piece = self._llm.detokenize([token])
        return TopLogprob(token=piece.decode("utf-8", errors="replace"), bytes=list(piece), logprob=logprob)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._llm.close()


def _read(delta: TextDelta, reader: ToolCallReader | None) -> Sequence[EngineDelta]:
    """Text as it is, or read as text and tool calls when the answer is in the tool-call format."""
    return (delta,) if reader is None else reader.push(delta.text, delta.logprobs)


def _processors(
    bias: Mapping[int, float], guide: GrammarLogitsProcessor | None, capture: _LogprobCapture | None
) -> llama_cpp.LogitsProcessorList | None:
    """Bias and grammar go first, so the logprobs a capture keeps are those of the distribution sampled from."""
    processors: list[Any] = [_LogitBias(bias)] if bias else []
    if guide is not None:
        processors.append(guide)
    if capture is not None:
        processors.append(capture)
    return llama_cpp.LogitsProcessorList(processors) if processors else None


class _LogitBias:
    """A logits processor adding a fixed value to chosen tokens' logits (OpenAI's `logit_bias`)."""

    def __init__(self, bias: Mapping[int, float]) -> None:
        self._tokens = np.fromiter(bias.keys(), dtype=np.intc, count=len(bias))
        self._values = np.fromiter(bias.values(), dtype=np.float32, count=len(bias))

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores[self._tokens] += self._values
        return scores


class _LogprobCapture:
    """A logits processor that changes nothing and keeps the log-softmax of the logits the sampler saw last."""

    def __init__(self) -> None:
        self.last: np.ndarray = np.zeros(0, dtype=np.float32)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        shifted = scores - scores.max()
        self.last = shifted - np.log(np.exp(shifted).sum())
        return scores

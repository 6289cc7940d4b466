"""`python bench/retrieval.py`: file_search's ingestion throughput and retrieval quality, in-process, on one book.

The book is Lewis Carroll's *Alice's Adventures in Wonderland* (public domain; bench/data/README.md says where it
comes from), so every machine measures the same text and the questions have answers a reader can check.

Ingestion: the book typeset as a multi-page PDF with fpdf2 (core fonts are Latin-1 only, so typographic quotes and
dashes become ASCII), then what the ingestion worker does to an upload: `parse_document` (pypdf) -> `chunk_document`
(static 800/400, the platform's defaults) -> `Embedder.embed` -> `VectorIndex.add_file` into a fresh index. Median
of `--runs` (3) runs, after one untimed embedding to warm the encoder up. Embedding is the stage everyone expects to
dominate, so it is the baseline: every stage is given as a share of the pipeline and as a multiple of embedding.

Quality: recall@5 of bench/data/alice-questions.json, each question with the exact span of the book that answers it
(its `gold`); a question counts when one of the top 5 chunks contains the span (compared after folding quotes,
dashes, italics underscores and whitespace). The plain-text book is chunked small (static 200/50): with 800-token
chunks the whole book is ~90 chunks and the top 5 would hold a fair share of it. Questions are of three kinds:
`paraphrase` (few words shared with the answer, the vector side's strength), `rare` (names, numbers, odd words, the
keyword side's) and `plain`. Keyword-only recall is the baseline of the comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fpdf import FPDF

from homeport.retrieval import Embedder
from homeport.retrieval.chunking import chunk_document
from homeport.retrieval.index import VectorIndex
from homeport.retrieval.parsing import parse_document
from homeport.retrieval.search import rewrite_query

DATA = Path(__file__).parent / "data"
BOOK = DATA / "alice.txt"
QUESTIONS = DATA / "alice-questions.json"
TOP = 5
STORE = "vs_bench"

_FOLD = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2014": "-", "_": None})
"""Typographic quotes and dashes to ASCII and italics markers dropped: Latin-1 for the PDF, and the form in which
gold spans are compared with chunks (the questions file is typed in ASCII)."""

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Question:
    kind: str
    question: str
    gold: str


@dataclass(frozen=True)
class Variant:
    """One way of searching: `VectorIndex.search` options, and whether the query goes through `rewrite_query`."""

    label: str
    options: dict[str, Any]
    rewrite: bool = False


VARIANTS = (
    Variant("keyword", {"mode": "keyword"}),
    Variant("vector", {"mode": "vector"}),
    Variant("hybrid 0.7/0.3", {"mode": "hybrid"}),
    Variant("hybrid 0.5/0.5", {"mode": "hybrid", "embedding_weight": 0.5, "text_weight": 0.5}),
    Variant("hybrid, rewrite_query", {"mode": "hybrid"}, rewrite=True),
)
"""Keyword-only first: it is the baseline. 0.7/0.3 is the index's default weighting; rewrite_query is what
`rewrite_query: true` on the search endpoint does to a query."""


@dataclass(frozen=True)
class Run:
    """Seconds per ingestion stage of one run, and what it produced."""

    stages: dict[str, float]
    pages: int
    chunks: int
    embedded: float
    """Tokens embedded over the document's tokens: overlapping chunks embed text more than once."""


def fold(text: str) -> str:
    """The text in the Latin-1 the core PDF fonts can set, as the questions file spells it, whitespace collapsed."""
    folded = text.translate(_FOLD)
    folded = "".join(c if ord(c) < 256 else unicodedata.normalize("NFKD", c)[:1] for c in folded)
    return re.sub(r"\s+", " ", folded.encode("latin-1", "ignore").decode("latin-1")).strip()


def make_pdf(text: str, font_size: float = 12) -> bytes:
    """The book as a PDF, one paragraph reflowed per cell; 53 pages at 12 pt on A4."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=font_size)
    pdf.add_page()
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip():
            pdf.multi_cell(0, font_size * 0.5, fold(paragraph))
            pdf.ln(font_size * 0.3)
    return bytes(pdf.output())


def ingest(pdf: bytes, embedder: Embedder, directory: Path) -> Run:
    """One upload through the worker's stages, each timed, into a fresh index under `directory`."""
    stages: dict[str, float] = {}
    index = VectorIndex(directory / "index.db", embedder.dimensions)
    try:
        began = time.perf_counter()
        document = parse_document(pdf, "alice.pdf")
        stages["parse"] = time.perf_counter() - began
        began = time.perf_counter()
        chunks = chunk_document(document, embedder.tokenizer, max_tokens=800, overlap_tokens=400)
        stages["chunk"] = time.perf_counter() - began
        texts = [chunk.text for chunk in chunks]
        began = time.perf_counter()
        vectors = embedder.embed(texts)
        stages["embed"] = time.perf_counter() - began
        began = time.perf_counter()
        index.add_file(STORE, "file-alice", texts, vectors)
        stages["index"] = time.perf_counter() - began
    finally:
        index.close()
    embedded = sum(chunk.tokens for chunk in chunks) / embedder.count_tokens(document.text)
    return Run(stages, len(document.pages), len(chunks), embedded)


def ingestion_lines(embedder: Embedder, runs: int) -> list[str]:
    """Throughput of the whole pipeline and each stage's share, medians of `runs` runs."""
    pdf = make_pdf(BOOK.read_text(encoding="utf-8"))
    embedder.embed(["Alice was beginning to get very tired of sitting by her sister on the bank."])  # warm-up
    measured = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="homeport-bench-retrieval-", dir="/tmp") as directory:
            measured.append(ingest(pdf, embedder, Path(directory)))
    pages, chunks, embedded = measured[0].pages, measured[0].chunks, measured[0].embedded
    medians = {stage: statistics.median(run.stages[stage] for run in measured) for stage in measured[0].stages}
    total = statistics.median(sum(run.stages.values()) for run in measured)
    summed = sum(medians.values())
    lines = [
        f"ingestion: {pages}-page PDF ({len(pdf) / 1024:.0f} KiB) -> {chunks} chunks of <= 800 tokens (overlap 400); "
        f"{embedded:.1f}x the document's tokens embedded; median of {runs} runs",
        f"  {'pipeline':<9} {total:6.2f} s  {pages / total:6.1f} pages/s  {chunks / total:6.1f} chunks/s",
    ]
    for stage, seconds in medians.items():
        share, ratio = seconds / summed, seconds / medians["embed"]
        lines.append(f"  {stage:<9} {seconds:6.2f} s  {share:6.1%} of the pipeline  {ratio:7.3f}x embed")
    return lines


def load_questions() -> list[Question]:
    """The question set, each gold span checked to occur in the book exactly once (else the bench is wrong)."""
    book = fold(BOOK.read_text(encoding="utf-8"))
    questions = [Question(**entry) for entry in json.loads(QUESTIONS.read_text(encoding="utf-8"))]
    for question in questions:
        if book.count(fold(question.gold)) != 1:
            raise SystemExit(f"gold span not found exactly once in the book: {question.gold!r}")
    return questions


def recall(
    index: VectorIndex, questions: Sequence[Question], queries: Sequence[str], vectors: Vectors, variant: Variant
) -> tuple[float, dict[str, float], list[str]]:
    """recall@TOP overall and per kind, and the questions missed; `queries` are what is searched for each question."""
    found: dict[str, list[bool]] = {}
    missed = []
    for question, query, vector in zip(questions, queries, vectors, strict=True):
        hits = index.search([STORE], query, vector, limit=TOP, **variant.options)
        hit = any(fold(question.gold) in fold(chunk.text) for chunk in hits)
        found.setdefault(question.kind, []).append(hit)
        if not hit:
            missed.append(question.question)
    every = [hit for hits in found.values() for hit in hits]
    return sum(every) / len(every), {kind: sum(hits) / len(hits) for kind, hits in found.items()}, missed


def quality_lines(embedder: Embedder, directory: Path, show_misses: bool) -> list[str]:
    """recall@TOP of every variant side by side, each against keyword-only's (the first)."""
    document = parse_document(BOOK.read_bytes(), BOOK.name)
    texts = [chunk.text for chunk in chunk_document(document, embedder.tokenizer, max_tokens=200, overlap_tokens=50)]
    index = VectorIndex(directory / "quality.db", embedder.dimensions)
    index.add_file(STORE, "file-alice", texts, embedder.embed(texts))
    questions = load_questions()
    asked = [question.question for question in questions]
    rewritten = [rewrite_query(question) for question in asked]
    vectors = {False: embedder.embed(asked), True: embedder.embed(rewritten)}
    kinds = sorted({question.kind for question in questions})
    counts = ", ".join(f"{sum(q.kind == kind for q in questions)} {kind}" for kind in kinds)
    lines = [
        f"quality: recall@{TOP} of {len(questions)} questions ({counts}) over {len(texts)} chunks of <= 200 tokens "
        "(overlap 50)",
        f"  {'variant':<22} {'all':>5}  " + "  ".join(f"{kind:>10}" for kind in kinds) + "   vs keyword",
    ]
    baseline = None
    for variant in VARIANTS:
        queries = rewritten if variant.rewrite else asked
        overall, per_kind, missed = recall(index, questions, queries, vectors[variant.rewrite], variant)
        baseline = overall if baseline is None else baseline
        columns = "  ".join(f"{per_kind[kind]:10.2f}" for kind in kinds)
        lines.append(f"  {variant.label:<22} {overall:5.2f}  {columns}   {overall / baseline:6.2f}x")
        if show_misses:
            lines.extend(f"      missed: {question}" for question in missed)
    index.close()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed ingestion runs (3)")
    parser.add_argument("--threads", type=int, default=2, help="encoder threads (2)")
    parser.add_argument("--misses", action="store_true", help="list the questions each mode missed")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    embedder = Embedder.packaged(threads=args.threads)
    print(f"retrieval bench: {BOOK.name}, {embedder.name}, {args.threads} encoder threads")
    for line in ingestion_lines(embedder, args.runs):
        print(line, flush=True)
    with tempfile.TemporaryDirectory(prefix="homeport-bench-retrieval-", dir="/tmp") as directory:
        for line in quality_lines(embedder, Path(directory), args.misses):
            print(line, flush=True)
    print(f"(took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()

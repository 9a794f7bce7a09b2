"""Passages of a document and their ranking against a question (BM25 over a Unicode-aware tokenizer).

A passage is a run of consecutive blocks of a page in reading order, about a short paragraph long, so a
citation points at a small region rather than a whole page. Each passage is indexed together with its page's
title lines (a table's caption, a section heading), since a fact in a table cell is described there and
nowhere near the cell. Only the best passages (and their pages) go to a model, which keeps long documents
inside a small context.
"""

from __future__ import annotations

import logging
import os
import sys
import unicodedata
from dataclasses import dataclass

# bm25s runs a JAX top-k when it is imported if JAX is installed, which starts JAX on its default device: on a GPU
# machine JAX then takes 75% of the GPU's memory for itself (seen: 105 of 140 GiB on an H200, and the resident VLM
# ran out of memory at batch 64). Our scores need no JAX, so unless the process already uses JAX or chose its
# platforms, JAX stays on the CPU.
if "jax" not in sys.modules:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import bm25s  # after the JAX platform default above
import bm25s.stopwords as stopword_lists
from tokenizers import normalizers, pre_tokenizers

from mcp_docvl.documents.model import BBox, Block, Line, Page, union_bbox

# bm25s sets its own logger to DEBUG, so every index it builds ("Building index from tokens") reaches stderr
# through any handler on the root logger: a stdio server's log would fill with it.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Passage size: small enough to cite precisely, large enough to hold a fact and its label.
_PASSAGE_CHARS = 400
_PASSAGE_LINES = 12
# Rows of a table in one passage (a table block has one line a row): a few, so one row's values are not outweighed
# by the rest of a long table, each passage carrying the table's header as context.
_TABLE_ROWS = 4
# Characters from the top of a page indexed with each of its passages.
_TITLE_CHARS = 200

# BERT's normaliser and pre-tokenizer: Unicode clean-up, accent stripping, lower case, CJK characters split
# one per token, punctuation split off. Language-neutral, unlike stemming.
_NORMALIZER = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                         lowercase=True)
_PRE_TOKENIZER = pre_tokenizers.BertPreTokenizer()
_STOPWORDS = frozenset(
    word
    for words in (stopword_lists.STOPWORDS_EN_PLUS, stopword_lists.STOPWORDS_FRENCH, stopword_lists.STOPWORDS_GERMAN,
                  stopword_lists.STOPWORDS_SPANISH, stopword_lists.STOPWORDS_ITALIAN,
                  stopword_lists.STOPWORDS_PORTUGUESE, stopword_lists.STOPWORDS_DUTCH)
    for word in words
)
# Question words that never appear in the answer's passage; as stop words they would only add noise.
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much",
                             "does", "did", "do", "is", "are", "was", "were", "tell", "give", "list", "show",
                             "document", "according"})


@dataclass(frozen=True, slots=True)
class Passage:
    page: int
    bbox: BBox
    text: str
    # Indexed with the text, not shown: the page's title lines.
    context: str = ""


@dataclass(frozen=True, slots=True)
class Ranked:
    passage: Passage
    score: float
    # Share of the question's distinct terms found in the passage (0..1): a readable relevance measure.
    coverage: float


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens of `text`; punctuation is dropped, CJK characters stand alone."""
    tokens = [t for t, _ in _PRE_TOKENIZER.pre_tokenize_str(_NORMALIZER.normalize_str(text))]
    return [t for t in tokens if any(unicodedata.category(c)[0] in "LN" for c in t)]


def query_terms(question: str) -> list[str]:
    """The searchable terms of a question: its tokens less stop words and question words."""
    return [t for t in tokenize(question) if t not in _STOPWORDS and t not in _QUESTION_WORDS]


def page_passages(page: Page) -> list[Passage]:
    """A page's lines in reading order, grouped into passages of about `_PASSAGE_CHARS` characters.

    A passage ends at a block boundary once it is long enough (or mid-block when a block is very long), so
    table cells and short paragraphs gather into one passage instead of scattering into one-word passages. A
    passage that starts inside a table below its header rows takes the header as context: a row's values are
    found by the column names a question uses.
    """
    lines = [line for block in page.blocks for line in block.lines if line.text.strip()]
    title = " ".join(line.text for line in lines)[:_TITLE_CHARS]
    ends = {id(block.lines[-1]) for block in page.blocks if block.lines}
    headers = {id(line): _table_header(block) for block in page.blocks if block.table is not None
               for line in block.lines[max(1, block.table.header_rows):]}
    in_tables = {id(line) for block in page.blocks if block.table is not None for line in block.lines}
    out: list[Passage] = []
    window: list[Line] = []
    size = 0
    for line, following in zip(lines, [*lines[1:], None], strict=True):
        window.append(line)
        size += len(line.text) + 1
        most_lines = _TABLE_ROWS if id(window[0]) in in_tables else _PASSAGE_LINES
        # A table starts and ends its own passages: its rows are found with its header, not with the text around.
        crosses = following is not None and (id(line) in in_tables) != (id(following) in in_tables)
        if (size >= _PASSAGE_CHARS and id(line) in ends) or size >= 2 * _PASSAGE_CHARS or \
                len(window) >= most_lines or crosses:
            out.append(_passage(page.number, window, title, headers.get(id(window[0]))))
            window, size = [], 0
    if window:
        out.append(_passage(page.number, window, title, headers.get(id(window[0]))))
    return out


def _table_header(block: Block) -> str:
    """The text of a table block's header rows (its first line when no row is marked as header)."""
    count = max(1, block.table.header_rows) if block.table is not None else 1
    return " ".join(line.text for line in block.lines[:count])


def _passage(number: int, lines: list[Line], title: str, header: str | None = None) -> Passage:
    text = "\n".join(line.text for line in lines)
    context = f"{header}\n{title}" if header else title
    return Passage(page=number, bbox=union_bbox([ln.bbox for ln in lines]), text=text, context=context)


def rank(passages: list[Passage], question: str, top_k: int = 5) -> list[Ranked]:
    """The `top_k` passages that best match `question` (BM25), best first; passages sharing no term are left out."""
    terms = query_terms(question)
    if not passages or not terms:
        return []
    corpus = [tokenize(f"{p.context}\n{p.text}") for p in passages]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    scores = retriever.get_scores(terms)
    distinct = set(terms)
    ranked = []
    for passage, tokens, score in zip(passages, corpus, scores, strict=True):
        if score > 0:
            coverage = len(distinct & set(tokens)) / len(distinct)
            ranked.append(Ranked(passage, float(score), round(coverage, 3)))
    ranked.sort(key=lambda r: (-r.score, r.passage.page, r.passage.bbox[1]))
    return ranked[:top_k]

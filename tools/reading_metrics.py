"""Scorers for tools/eval_reading.py, written from the definitions in ../shared/eval/README.md.

Reading facts (olmOCR-bench): `present` / `absent` / `order` facts checked against a page's Markdown.
Markdown similarity (opendataloader-bench): NID, NID-S, TEDS, TEDS-S and MHS against a reference Markdown.

Choices the README leaves open, fixed here and applied to every engine alike:
- TEDS compares one tree per document: a root whose children are its tables in order (pipe tables and HTML
  tables both parsed). A cell's label is its tag plus colspan/rowspan; renaming one cell into another costs the
  normalised edit distance of their texts (0 or 1 by structure alone for TEDS-S).
- MHS is the same tree measure over the headings: each heading nests under the nearest earlier heading of a
  smaller level; renaming costs 1 across levels, the normalised text distance within one level.
- A metric is undefined (None) for a document when neither the reference nor the prediction holds tables
  (TEDS) or headings (MHS); when only the prediction has them the score is 0 (tables invented from prose count
  against an engine), and when only the reference has them it is 0 too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

from apted import APTED, Config
from fuzzysearch import find_near_matches
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Levenshtein

# ---------------------------------------------------------------------------------------------- reading facts

_EMPHASIS = re.compile(r"\*\*|__|</?[bi]>|(?<!\w)[*_]|[*_](?!\w)")
_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00b5": "\u03bc",
})


def normalise_text(text: str) -> str:
    """The olmOCR-bench normalisation: emphasis marks dropped, whitespace collapsed, NFC, ASCII quotes/dashes."""
    text = _EMPHASIS.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_QUOTES)
    return " ".join(text.split())


@dataclass(frozen=True)
class Fact:
    pdf: str
    type: str  # present / absent / order
    text: str = ""
    before: str = ""
    after: str = ""
    max_diffs: int = 0
    case_sensitive: bool = True
    first_n: int | None = None
    last_n: int | None = None

    @classmethod
    def from_json(cls, row: dict) -> Fact:
        return cls(pdf=row["pdf"], type=row["type"], text=row.get("text") or "", before=row.get("before") or "",
                   after=row.get("after") or "", max_diffs=int(row.get("max_diffs") or 0),
                   case_sensitive=row.get("case_sensitive", True) is not False,
                   first_n=row.get("first_n"), last_n=row.get("last_n"))


def _window(content: str, first_n: int | None, last_n: int | None) -> str:
    if first_n and last_n:
        return content[:first_n] + " " + content[-last_n:]
    if first_n:
        return content[:first_n]
    if last_n:
        return content[-last_n:]
    return content


def fact_passes(fact: Fact, markdown: str) -> bool:
    """Whether `markdown` (one PDF's output) satisfies `fact`."""
    content = normalise_text(markdown)
    if fact.type in ("present", "absent"):
        target = normalise_text(fact.text)
        page = _window(content, fact.first_n, fact.last_n)
        if not fact.case_sensitive:
            target, page = target.casefold(), page.casefold()
        if not target:
            return fact.type == "present"
        threshold = 1.0 - fact.max_diffs / len(target)
        best = fuzz.partial_ratio(target, page) / 100.0 if page else 0.0
        found = best >= threshold - 1e-9  # 28/30 and 14/15 differ in the last bit
        return found if fact.type == "present" else not found
    if fact.type == "order":
        before, after = normalise_text(fact.before), normalise_text(fact.after)
        if not before or not after or not content:
            return False
        before_at = [m.start for m in find_near_matches(before, content, max_l_dist=fact.max_diffs)]
        if not before_at:
            return False
        after_at = [m.start for m in find_near_matches(after, content, max_l_dist=fact.max_diffs)]
        return bool(after_at) and min(before_at) < max(after_at)
    raise ValueError(f"unknown fact type {fact.type!r}")


# ------------------------------------------------------------------------------------------ Markdown parsing

_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_HTML_TABLE = re.compile(r"<table\b.*?</table>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass
class Cell:
    tag: str  # td / th
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass
class TableRows:
    rows: list[list[Cell]] = field(default_factory=list)


def _split_pipe_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


class _HtmlTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[TableRows] = []
        self._depth = 0
        self._cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append(TableRows())
        elif self._depth == 1 and tag == "tr":
            self.tables[-1].rows.append([])
        elif self._depth == 1 and tag in ("td", "th"):
            values = dict(attrs)
            if not self.tables[-1].rows:
                self.tables[-1].rows.append([])
            self._cell = Cell(tag="td", text="", colspan=_int(values.get("colspan")),
                              rowspan=_int(values.get("rowspan")))
            self.tables[-1].rows[-1].append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth = max(0, self._depth - 1)
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data


def _int(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def split_tables(markdown: str) -> tuple[str, list[TableRows]]:
    """The Markdown without its tables, and the tables (pipe tables and HTML tables) in order of appearance."""
    tables: list[tuple[int, TableRows]] = []

    def html(match: re.Match[str]) -> str:
        parser = _HtmlTables()
        parser.feed(match.group(0))
        for table in parser.tables:
            tables.append((match.start(), table))
        return "\n"
    text = _HTML_TABLE.sub(html, markdown)
    kept: list[str] = []
    lines = text.split("\n")
    i = 0
    offset = 0
    while i < len(lines):
        if _PIPE_ROW.match(lines[i]):
            start = i
            while i < len(lines) and _PIPE_ROW.match(lines[i]):
                i += 1
            block = lines[start:i]
            if len(block) >= 2 or any(_PIPE_RULE.match(x) for x in block):
                rows = [[Cell("td", c.replace("\\|", "|")) for c in _split_pipe_row(x)]
                        for x in block if not _PIPE_RULE.match(x)]
                tables.append((offset, TableRows(rows)))
                kept.append("")
            else:
                kept.extend(block)
            offset += sum(len(x) + 1 for x in block)
            continue
        kept.append(lines[i])
        offset += len(lines[i]) + 1
        i += 1
    tables.sort(key=lambda t: t[0])
    return "\n".join(kept), [t for _, t in tables]


def headings(markdown: str) -> list[tuple[int, str]]:
    """ATX headings (level, text), outside fenced code."""
    out: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match and match.group(2):
            out.append((len(match.group(1)), normalise_text(match.group(2))))
    return out


# ------------------------------------------------------------------------------------------------ tree metric


class Node:
    def __init__(self, label: str, text: str = "", children: list[Node] | None = None) -> None:
        self.label = label
        self.text = text
        self.children = children or []

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)


class _Costs(Config):
    def __init__(self, with_text: bool) -> None:
        self.with_text = with_text

    def rename(self, a: Node, b: Node) -> float:
        if a.label != b.label:
            return 1.0
        if not self.with_text or (not a.text and not b.text):
            return 0.0
        return Levenshtein.normalized_distance(a.text, b.text)

    def children(self, node: Node) -> list[Node]:
        return node.children


def tree_similarity(a: Node, b: Node, with_text: bool = True) -> float:
    """1 - tree edit distance / max(nodes)."""
    distance = APTED(a, b, _Costs(with_text)).compute_edit_distance()
    return 1.0 - distance / max(a.size(), b.size())


def tables_tree(tables: list[TableRows]) -> Node:
    root = Node("document")
    for table in tables:
        body = Node("tbody", children=[
            Node("tr", children=[
                Node(f"{c.tag}:{c.colspan}:{c.rowspan}", " ".join(normalise_text(c.text).split())) for c in row
            ]) for row in table.rows
        ])
        root.children.append(Node("table", children=[body]))
    return root


def headings_tree(items: list[tuple[int, str]]) -> Node:
    root = Node("document")
    stack: list[tuple[int, Node]] = [(0, root)]
    for level, text in items:
        while stack[-1][0] >= level:
            stack.pop()
        node = Node(f"h{level}", text)
        stack[-1][1].children.append(node)
        stack.append((level, node))
    return root


# ----------------------------------------------------------------------------------------- Markdown metrics


def _flat(text: str) -> str:
    return " ".join(text.split())


def nid(reference: str, prediction: str) -> float:
    """1 - indel distance / (len(ref) + len(pred)), whitespace runs collapsed."""
    return Indel.normalized_similarity(_flat(reference), _flat(prediction))


@dataclass
class MarkdownScores:
    nid: float
    nid_s: float
    teds: float | None
    teds_s: float | None
    mhs: float | None

    @property
    def overall(self) -> float:
        parts = [x for x in (self.nid, self.teds, self.mhs) if x is not None]
        return sum(parts) / len(parts)


def markdown_scores(reference: str, prediction: str) -> MarkdownScores:
    ref_text, ref_tables = split_tables(reference)
    pred_text, pred_tables = split_tables(prediction)
    teds = teds_s = None
    if ref_tables or pred_tables:
        a, b = tables_tree(ref_tables), tables_tree(pred_tables)
        teds, teds_s = tree_similarity(a, b, True), tree_similarity(a, b, False)
    ref_heads, pred_heads = headings(reference), headings(prediction)
    mhs = tree_similarity(headings_tree(ref_heads), headings_tree(pred_heads)) if ref_heads or pred_heads else None
    return MarkdownScores(nid=nid(reference, prediction), nid_s=nid(ref_text, pred_text), teds=teds, teds_s=teds_s,
                          mhs=mhs)

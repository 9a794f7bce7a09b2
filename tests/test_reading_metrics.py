"""The scorers of tools/eval_reading.py on hand-made strings: each check can fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

pytest.importorskip("fuzzysearch", reason="fuzzysearch is in the dev extra (pip install -e .[dev])")
pytest.importorskip("apted", reason="apted is in the dev extra (pip install -e .[dev])")

from reading_metrics import Fact, fact_passes, markdown_scores, nid, normalise_text


def test_normalise_drops_emphasis_and_folds_quotes():
    assert normalise_text("**Bold**  and _it_ \u201cq\u201d \u2014 x\n y") == 'Bold and it "q" - x y'


def test_present_and_absent_with_allowed_differences():
    page = "The quick brown fox jumps over the lazy dog."
    assert fact_passes(Fact(pdf="a", type="present", text="quick brown fax", max_diffs=1), page)
    assert not fact_passes(Fact(pdf="a", type="present", text="quick green cat", max_diffs=1), page)
    assert fact_passes(Fact(pdf="a", type="absent", text="Page 7 of 9", max_diffs=0), page)
    assert not fact_passes(Fact(pdf="a", type="absent", text="lazy dog", max_diffs=0), page)
    # Case-folded only when the fact says so.
    assert not fact_passes(Fact(pdf="a", type="present", text="QUICK BROWN", max_diffs=0), page)
    assert fact_passes(Fact(pdf="a", type="present", text="QUICK BROWN", max_diffs=0, case_sensitive=False), page)
    # first_n: only the page's opening characters are searched.
    assert not fact_passes(Fact(pdf="a", type="present", text="lazy dog", first_n=10), page)


def test_order():
    page = "Column one starts here. Column two follows later."
    fact = Fact(pdf="a", type="order", before="one starts here", after="two follows", max_diffs=1)
    assert fact_passes(fact, page)
    assert not fact_passes(Fact(pdf="a", type="order", before="two follows", after="one starts", max_diffs=1), page)
    assert not fact_passes(Fact(pdf="a", type="order", before="missing text", after="two follows"), page)


def test_nid_and_table_removal():
    assert nid("abc", "abc") == 1.0
    assert nid("abcd", "wxyz") == 0.0
    assert nid("ab", "abcd") == pytest.approx(1 - 2 / 6)
    reference = "Intro text.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\nEnd."
    scores = markdown_scores(reference, "Intro text.\n\nEnd.")
    assert scores.nid_s == pytest.approx(1.0, abs=0.02)
    assert scores.nid < 0.9
    assert scores.teds is not None and scores.teds < 0.2  # the table was missed


def test_teds_of_two_tiny_tables():
    html = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"
    same = markdown_scores(html, "| a | b |\n|---|---|\n| 1 | 2 |")
    assert same.teds == pytest.approx(1.0) and same.teds_s == pytest.approx(1.0)
    # One cell's text differs: structure still equal, text not.
    changed = markdown_scores(html, "| a | b |\n|---|---|\n| 1 | 9 |")
    assert changed.teds_s == pytest.approx(1.0)
    assert 0.8 < changed.teds < 1.0
    # A missing row costs its nodes: tr + 2 cells of 9 (document, table, tbody, 2 tr, 4 cells).
    short = markdown_scores(html, "| a | b |\n|---|---|")
    assert short.teds_s == pytest.approx(1 - 3 / 9)
    # A table invented from prose scores 0 against a reference without tables.
    invented = markdown_scores("Plain prose.", "| Plain | prose. |\n|---|---|")
    assert invented.teds is not None and invented.teds < 0.5


def test_heading_structure():
    reference = "# Title\n\n## One\n\ntext\n\n## Two\n"
    assert markdown_scores(reference, reference).mhs == pytest.approx(1.0)
    flat = markdown_scores(reference, "# Title\n\ntext\n")
    assert flat.mhs == pytest.approx(1 - 2 / 4)
    assert markdown_scores("no headings", "none here").mhs is None

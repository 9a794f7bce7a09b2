"""The token estimate's inputs: what counts as a word, an all-caps word, a digit, a punctuation mark."""

from __future__ import annotations

from mcp_docvl.tokens import estimate_tokens, features


def test_features_count_word_classes_digits_and_marks():
    # lowercase words, letters past the 7th, all-caps words, their letters, digits, marks, non-ASCII letters, breaks
    assert features("The NATO report, 2019: internationally 42 items.\nEcole") == (5, 8, 1, 4, 6, 3, 0, 1)
    # A word with a non-ASCII letter is left out of the word counts and counted letter by letter instead.
    assert features("The NATO report, 2019: internationally 42 items.\nÉcole") == (4, 8, 1, 4, 6, 3, 1, 1)
    # Underscores split words without being punctuation; control characters are punctuation.
    assert features("a\x01b_c") == (3, 0, 0, 0, 0, 1, 0, 0)
    assert features("") == (0, 0, 0, 0, 0, 0, 0, 0) and estimate_tokens("") == 0

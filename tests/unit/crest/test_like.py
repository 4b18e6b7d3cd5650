"""`crest/like.py`: LIKE matching against two references, and its time bound.

The references: the regex translation the service used before (``%`` -> ``.*``, ``_`` -> ``.``,
exponential on patterns like ``%%%%x!``, so only on short inputs) and a dynamic-programming
matcher (quadratic, obviously right).
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.crest.like import LikePattern, contains, like, starts_with

#: few letters, so that generated patterns and texts often overlap; regex metacharacters and
#: a case pair included, plus characters whose case folding is unusual
ALPHABET = "abAB.*\\[$\n\u212aks\u017fS\u0130i"
patterns = st.text(alphabet=ALPHABET + "%%__", max_size=12)
texts = st.text(alphabet=ALPHABET, max_size=16)


def regex_reference(pattern: str, text: str, ignore_case: bool) -> bool:
    """The translation the queries used before this module (correct, but it backtracks)."""
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags).fullmatch(text) is not None


def dp_reference(pattern: str, text: str) -> bool:
    """Case-sensitive LIKE by dynamic programming over (pattern prefix, text prefix)."""
    row = [True] + [False] * len(text)
    for ch in pattern:
        if ch == "%":
            row = [any(row[: j + 1]) for j in range(len(text) + 1)]
        else:
            row = [False] + [row[j] and (ch == "_" or ch == text[j]) for j in range(len(text))]
    return row[-1]


@settings(max_examples=2000, deadline=None)
@given(pattern=patterns, text=texts)
@example(pattern="%a%a%", text="aa")
@example(pattern="a%a", text="a")
@example(pattern="%_", text="")
@example(pattern="k", text="\u212a")
def test_same_answers_as_the_regex_and_dp_references(pattern, text):
    assert LikePattern(pattern).matches(text) is regex_reference(pattern, text, False)
    assert LikePattern(pattern).matches(text) is dp_reference(pattern, text)
    assert LikePattern(pattern, ignore_case=True).matches(text) is regex_reference(
        pattern, text, True
    )


@settings(max_examples=300, deadline=None)
@given(text=texts, data=st.data())
def test_a_pattern_cut_from_the_text_matches_it(text, data):
    """Replace some characters of a text by ``_`` and some runs by ``%``: it still matches."""
    pattern, i = "", 0
    while i < len(text):
        choice = data.draw(st.sampled_from(["keep", "one", "run"]))
        if choice == "keep":
            pattern, i = pattern + text[i], i + 1
        elif choice == "one":
            pattern, i = pattern + "_", i + 1
        else:
            step = data.draw(st.integers(0, len(text) - i))
            pattern, i = pattern + "%", i + step
    assert LikePattern(pattern).matches(text)


@pytest.mark.parametrize(
    "pattern, value, matches",
    [
        ("a%", "abc", True),
        ("%c", "abc", True),
        ("a_c", "abc", True),
        ("a_c", "abbc", False),
        ("a.c", "abc", False),
        ("%", "", True),
        ("", "", True),
        ("", "a", False),
        ("A%", "abc", False),
        ("%b%", "abc", True),
        ("a%b%c", "ac", False),
        ("a%%c", "ac", True),
        ("%x!", "x!x!", True),
        ("_%_", "a", False),
        ("line%", "line\nbreak", True),
    ],
)
def test_like(pattern, value, matches):
    assert like(value, pattern) is matches


def test_ignore_case():
    assert like("ABC", "a_c", ignore_case=True)
    assert not like("ABC", "a_c")


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        ("%" * 200 + "x!", "a" * 10_000, False),
        ("%" * 200, "a" * 10_000, True),
        ("%a" * 100 + "b", "a" * 10_000, False),
        ("%a" * 100 + "%", "a" * 10_000, True),
        ("%" + "_" * 100 + "b%", "a" * 10_000, False),
        ("%" + "a" * 99 + "b%" + "a" * 99 + "b", "a" * 10_000, False),
        ("%_%_" * 100 + "%x", "ab" * 5_000, False),
        ("%%%%%%%%%%%%%%x!", "a" * 10_000, False),
    ],
)
@pytest.mark.parametrize("ignore_case", [False, True])
def test_adversarial_patterns_take_linear_time(pattern, text, expected, ignore_case):
    started = time.perf_counter()
    compiled = LikePattern(pattern, ignore_case=ignore_case)
    assert compiled.matches(text) is expected
    assert time.perf_counter() - started < 0.5


def test_contains_and_starts_with_ignore_case():
    assert contains("Hello World", "o w") and not contains("Hello", "x")
    assert starts_with("Hello", "hE") and not starts_with("Hello", "ello")
    started = time.perf_counter()
    assert not contains("a" * 100_000, "a" * 5_000 + "b")
    assert not starts_with("a" * 100_000, "a" * 50_000 + "b")
    assert time.perf_counter() - started < 0.5

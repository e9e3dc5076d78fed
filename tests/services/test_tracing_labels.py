"""`likely` is the best candidate of an enquiry, strictly ahead of every other, at the
calibrated score; namesakes that score alike are each only `possible`."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.tracing.enums import MatchLabel
from services.tracing.scoring import LIKELY_SCORE, label_of

scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_a_lone_candidate_at_the_threshold_is_likely() -> None:
    assert label_of(LIKELY_SCORE, None) == MatchLabel.LIKELY
    assert label_of(LIKELY_SCORE - 0.01, None) == MatchLabel.POSSIBLE


def test_a_tie_is_never_likely() -> None:
    assert label_of(0.99, 0.99) == MatchLabel.POSSIBLE
    assert label_of(0.99, 0.98) == MatchLabel.LIKELY


@given(st.lists(scores, min_size=1, max_size=10))
def test_at_most_one_candidate_of_an_enquiry_is_likely(values: list[float]) -> None:
    labels = [
        label_of(value, max((v for j, v in enumerate(values) if j != i), default=None))
        for i, value in enumerate(values)
    ]
    likely = [i for i, label in enumerate(labels) if label == MatchLabel.LIKELY]
    assert len(likely) <= 1
    for i in likely:
        assert values[i] == max(values)
        assert values[i] >= LIKELY_SCORE

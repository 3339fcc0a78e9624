"""Which pupils answer consents for themselves, from the municipality's settings."""

from __future__ import annotations

from gateway.consents.service import DEFAULT_PUPIL_AGE, pupils_from_age


def test_pupils_do_not_answer_unless_the_municipality_says_so() -> None:
    assert pupils_from_age(None) is None
    assert pupils_from_age({}) is None
    assert pupils_from_age({"consents": {}}) is None
    assert pupils_from_age({"consents": {"pupils_answer": False}}) is None


def test_allowing_pupils_without_an_age_means_from_sixteen() -> None:
    assert DEFAULT_PUPIL_AGE == 16
    assert pupils_from_age({"consents": {"pupils_answer": True}}) == 16


def test_a_named_age_wins_and_a_bad_one_lets_no_pupil_answer() -> None:
    assert pupils_from_age({"consents": {"pupils_answer": True, "pupils_from_age": 15}}) == 15
    assert pupils_from_age({"consents": {"pupils_from_age": 14}}) == 14
    for bad in (0, 26, "16", True, 15.5):
        assert pupils_from_age({"consents": {"pupils_from_age": bad}}) is None

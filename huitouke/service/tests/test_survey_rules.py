"""The survey's pure rules (no database): answers checked against the questions sent, questions checked, and the
figures (response rate, average, distribution, NPS) against a direct count over any set of answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.core.errors import ApplicationError
from huitouke.service.surveys.rules import SurveyFact, answer_clean, csat_band, figures, question_clean

QUESTIONS = [
    {"key": "q1", "kind": "rating", "required": True, "choices": []},
    {"key": "q2", "kind": "nps", "required": False, "choices": []},
    {"key": "q3", "kind": "choice", "required": False, "choices": ["旺旺", "电话"]},
    {"key": "q4", "kind": "text", "required": False, "choices": []},
    {"key": "q5", "kind": "nps", "required": False, "choices": []},
]


@given(rating=st.integers(1, 5), q1=st.integers(1, 5), q2=st.integers(0, 10), q5=st.integers(0, 10))
def test_valid_answers_are_kept_as_numbers(rating, q1, q2, q5):
    a = answer_clean(
        rating=str(rating), comment=" 好 ", answers={"q1": str(q1), "q2": q2, "q5": str(q5)}, questions=QUESTIONS
    )
    assert (a.rating, a.comment, a.answers, a.nps) == (rating, "好", {"q1": q1, "q2": q2, "q5": q5}, q2)


@given(value=st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats(allow_nan=False)))
def test_a_rating_outside_1_to_5_is_refused_by_name(value):
    valid = str(value).strip() in {"1", "2", "3", "4", "5"}
    if valid:
        assert answer_clean(rating=value, comment="", answers={"q1": "3"}, questions=QUESTIONS).rating == int(value)
    else:
        with pytest.raises(ApplicationError) as caught:
            answer_clean(rating=value, comment="", answers={"q1": "3"}, questions=QUESTIONS)
        assert caught.value.field == "rating"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({}, "q1"),
        ({"q1": "  "}, "q1"),
        ({"q1": "6"}, "q1"),
        ({"q1": "3", "q2": "11"}, "q2"),
        ({"q1": "3", "q2": "-1"}, "q2"),
        ({"q1": "3", "q3": "微信"}, "q3"),
        ({"q1": "3", "q4": "长" * 1001}, "q4"),
    ],
)
def test_bad_extra_answers_are_refused_naming_the_question(answers, field):
    with pytest.raises(ApplicationError) as caught:
        answer_clean(rating=4, comment="", answers=answers, questions=QUESTIONS)
    assert caught.value.field == field


def test_a_too_long_comment_is_refused_and_unknown_keys_are_ignored():
    with pytest.raises(ApplicationError) as caught:
        answer_clean(rating=4, comment="字" * 2001, answers={"q1": "3"}, questions=QUESTIONS)
    assert caught.value.field == "comment"
    a = answer_clean(rating=4, comment="\x00ok", answers={"q1": "3", "zz": "x", "q3": "电话"}, questions=QUESTIONS)
    assert (a.comment, a.answers, a.nps) == ("ok", {"q1": 3, "q3": "电话"}, None)


@pytest.mark.parametrize(
    ("label", "kind", "choices", "field"),
    [
        ("", "text", [], "label"),
        ("x" * 201, "text", [], "label"),
        ("q", "slider", [], "kind"),
        ("q", "choice", ["一个"], "choices"),
        ("q", "choice", ["a", "a", " "], "choices"),
        ("q", "choice", [str(i) for i in range(11)], "choices"),
    ],
)
def test_bad_questions_are_refused_by_field(label, kind, choices, field):
    with pytest.raises(ApplicationError) as caught:
        question_clean(label=label, kind=kind, choices=choices)
    assert caught.value.field == field


def test_only_a_single_choice_keeps_choices():
    assert question_clean(label=" 好吗 ", kind="text", choices=["a", "b"]).choices == []
    assert question_clean(label="好吗", kind="choice", choices=["a", " b ", "a"]).choices == ["a", "b"]


facts = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.one_of(st.none(), st.integers(1, 5)),
        st.one_of(st.none(), st.integers(0, 10)),
    ),
    max_size=60,
)


@given(rows=facts)
def test_figures_match_a_direct_count(rows):
    result = {f.key: f for f in figures(SurveyFact((k,), r, n) for k, r, n in rows)}
    assert set(result) == {k for k, _r, _n in rows}
    for key, f in result.items():
        mine = [(r, n) for k, r, n in rows if k == key]
        ratings = [r for r, _n in mine if r is not None]
        npss = [n for _r, n in mine if n is not None]
        assert f.sent == len(mine)
        assert f.answered == len(ratings)
        assert f.distribution == [ratings.count(i) for i in range(1, 6)]
        assert f.response_rate == pytest.approx(len(ratings) / len(mine))
        if ratings:
            assert f.average == pytest.approx(sum(ratings) / len(ratings))
            assert f.average is not None
            assert 1 <= f.average <= 5
            assert f.satisfied_share == pytest.approx(sum(r >= 4 for r in ratings) / len(ratings))
        else:
            assert f.average is None
        if npss:
            expected = 100 * (sum(n >= 9 for n in npss) - sum(n <= 6 for n in npss)) / len(npss)
            assert f.nps == pytest.approx(expected)
            assert f.nps is not None
            assert -100 <= f.nps <= 100
        else:
            assert f.nps is None
    assert [f.sent for f in figures(SurveyFact((k,), r, n) for k, r, n in rows)] == sorted(
        (f.sent for f in result.values()), reverse=True
    )


def test_nps_by_hand():
    # 2 promoters (9, 10), 1 passive (8), 2 detractors (0, 6): (2 - 2) / 5 = 0; without the detractors 2/3 → 66.7
    f = figures([SurveyFact(("x",), None, n) for n in (9, 10, 8, 0, 6)])[0]
    assert (f.sent, f.answered, f.nps) == (5, 0, 0)
    g = figures([SurveyFact(("x",), 5, n) for n in (9, 10, 8)])[0]
    assert g.nps == pytest.approx(200 / 3)
    assert (g.average, g.satisfied_share, g.response_rate) == (5, 1, 1)


def test_csat_bands_for_the_recovery_report():
    assert [csat_band(r) for r in (None, 1, 2, 3, 4, 5)] == [
        "no_answer",
        "dissatisfied",
        "dissatisfied",
        "neutral",
        "satisfied",
        "satisfied",
    ]

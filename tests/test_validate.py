"""User values are checked in one place and come back as structured problems, worded per front end."""

import pytest

from swa_demo.validate import Invalid, Problem, parse_int, words
from swa_demo.walkthrough import Settings, check, problems


def test_every_problem_of_the_settings_comes_back_at_once():
    found = problems(Settings(prompt="A1", window=0, new=99))
    assert [(p.field, p.code) for p in found] == [("prompt", "bad_char"), ("window", "range"),
                                                  ("new", "range")]
    with pytest.raises(Invalid) as err:
        check(Settings(prompt="", policy="sink", sinks=2))
    assert [p.code for p in err.value.problems] == ["empty", "sinks_range"]


def test_the_same_problem_is_worded_by_each_front_end():
    p = Problem("window", "range", {"v": 0, "lo": 1, "hi": 64})
    assert words(p) == "--window must be between 1 and 64, got 0"
    assert words(p, "zh", {"window": "窗口 W"}) == "窗口 W应在 1 到 64 之间（当前为 0）"


@pytest.mark.parametrize("raw,code", [("²", "not_int"), ("1e30", "not_int"), ("", "not_int"),
                                      ("9" * 5000, "range"), ("0", "range"), ("-3", "range")])
def test_whole_numbers_are_ascii_digits_inside_a_stated_range(raw, code):
    with pytest.raises(Invalid) as err:
        parse_int("window", raw, 1, 64)
    assert err.value.problems[0].code == code
    assert len(str(err.value)) < 200


def test_a_typed_value_is_quoted_not_interpreted():
    p = Problem("policy", "choice", {"v": "[click](https://evil.example)", "options": "seed, ring"})
    assert "'[click](https://evil.example)'" in words(p)

"""The tiny alphabet model really learns, from a fixed seed (how long it takes is a figure of
`python -m swa_demo train`, not a test: a timed test fails on a busy machine, not on slow code)."""

from swa_demo import tiny
from swa_demo.generate import generate


def test_training_from_the_fixed_seed_learns_the_alphabet():
    losses = []
    model = tiny.train(3, log=losses.append)
    assert float(losses[-1].split("loss")[1].split()[0]) < 0.01
    out = generate(model, [tiny.parse_prompt("ABC"), tiny.parse_prompt("PQRS")], 3, policy="ring")
    assert ["".join(map(tiny.label, row)) for row in out.tokens.tolist()] == ["DEF", "TUV"]


def test_prompt_parsing_accepts_letters_and_separators_only():
    assert tiny.parse_prompt("a, b c") == [0, 1, 2]
    for bad in ("A1", "É", "A-B"):
        try:
            tiny.parse_prompt(bad)
        except ValueError as err:
            assert "A-Z" in str(err)
        else:
            raise AssertionError(f"{bad!r} was accepted")

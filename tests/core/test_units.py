"""Feature signals of a text and the search for units that track them (Karpathy et al. 2015)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnviz.core.units import (
    FEATURES,
    correlations,
    decode_labels,
    feature_signals,
    find_units,
)


def test_inside_quotes_is_the_state_after_each_character():
    text = 'a "bc" d “e” f'
    s = feature_signals(text)["inside quotes"]
    # the opening quote is inside (just read it), the closing one outside
    expected = [0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0]
    np.testing.assert_array_equal(s, expected)


def test_an_unclosed_quote_stays_open_and_other_quotes_inside_do_not_close_it():
    s = feature_signals('“a"b” "c')["inside quotes"]
    np.testing.assert_array_equal(s, [1, 1, 1, 1, 0, 0, 1, 1])


def test_position_in_line_counts_since_the_newline():
    s = feature_signals("ab\ncde\n\nf")["position in line"]
    np.testing.assert_array_equal(s, [1, 2, 0, 1, 2, 3, 0, 0, 1])


def test_bracket_depth_nests_and_never_goes_negative():
    s = feature_signals("a(b[c]d)e)f(")["inside brackets"]
    np.testing.assert_array_equal(s, [0, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1])


def test_word_features():
    sig = feature_signals("Hi, to\nMe")
    np.testing.assert_array_equal(sig["position in word"], [1, 2, 0, 0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(sig["start of word"], [1, 0, 0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(sig["newline"], [0, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(sig["uppercase"], [1, 0, 0, 0, 0, 0, 0, 1, 0])


def test_every_feature_is_a_float_signal_of_the_text_length():
    sig = feature_signals('x "y" (z)\n')
    assert tuple(sig) == FEATURES
    assert all(v.shape == (10,) and v.dtype == np.float64 for v in sig.values())
    assert all(v.shape == (0,) for v in feature_signals("").values())


def planted(text: str, H: int = 16, unit: int = 5, sign: float = -1.0, seed: int = 0):
    """Random activations in [-1, 1] (T, H) with one unit that tracks the quotes (plus noise)."""
    rng = np.random.default_rng(seed)
    h = np.tanh(rng.normal(size=(len(text), H)))  # (T, H)
    quotes = feature_signals(text)["inside quotes"]
    h[:, unit] = np.tanh(sign * (2 * quotes - 1) + 0.3 * rng.normal(size=len(text)))
    return h


TEXT = (
    'Alice said "I think so" and went on. "Why not?" asked the (very) Queen.\n'
    'Then: "off with her head" (she said) "and his"!\n' * 3
)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_planted_quote_unit_ranks_first_with_its_sign(sign):
    h = planted(TEXT, unit=5, sign=sign)
    ranked = find_units(h, TEXT, "inside quotes")
    unit, r = ranked[0]
    assert unit == 5
    assert np.sign(r) == sign and abs(r) > 0.8
    assert len(ranked) == 16
    assert [u for u, _ in ranked] != list(range(16))
    rs = [abs(r) for _, r in ranked]
    assert rs == sorted(rs, reverse=True)  # strongest first
    assert rs[1] < 0.5  # the others are noise
    assert find_units(h, TEXT, "inside quotes", top=3) == ranked[:3]


def test_correlation_matches_numpy():
    rng = np.random.default_rng(1)
    h, s = rng.normal(size=(50, 4)), rng.normal(size=50)
    expected = [np.corrcoef(h[:, k], s)[0, 1] for k in range(4)]
    np.testing.assert_allclose(correlations(h, s), expected, rtol=1e-12)


def test_a_signal_of_its_own_and_an_unknown_feature():
    h = planted(TEXT, unit=2, sign=1.0)
    mine = feature_signals(TEXT)["inside quotes"]
    assert find_units(h, TEXT, mine)[0][0] == 2
    with pytest.raises(ValueError, match="unknown feature"):
        find_units(h, TEXT, "inside comments")
    with pytest.raises(ValueError, match="differ in length"):
        correlations(h[:-1], mine)


def test_constant_signals_and_units_and_non_finite_values_give_zero_without_warnings():
    text = "no quotes and no brackets here"
    h = planted(text, H=6)
    h[:, 0] = 0.3  # a constant (saturated) unit
    h[4, 1] = np.nan  # a unit of a diverged model
    h[7, 2] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = correlations(h, feature_signals(text)["inside quotes"])  # constant 0
        assert np.all(r == 0)
        ranked = find_units(h, text, "position in word")
        assert len(feature_signals("a")["newline"]) == 1
        assert np.all(correlations(h[:1], np.zeros(1)) == 0)
    r = dict(ranked)
    assert r[0] == r[1] == r[2] == 0.0
    assert all(np.isfinite(v) for v in r.values())
    assert {u for u, _ in ranked[:3]} == {3, 4, 5}  # the defined ones first


def test_decode_labels_restores_whitespace():
    vocab = ["⏎", "␣", "a", "b", '"']
    assert decode_labels(np.array([2, 1, 4, 3, 0]), vocab) == 'a "b\n'


def test_labels_invert_the_task_vocabulary():
    from rnnviz.core.tasks.charlm import CharLMTask

    text = 'To be,\tor "not"\r\nto be'
    task = CharLMTask(5, text)
    ids = task.encode(text).numpy()
    assert decode_labels(ids, task.input_vocab) == text

"""09-serverless's answer (``hair_lambda.answer``): softmax over a multi-class model's logits
against SciPy and PyTorch, the hair model's one logit unchanged, and the metadata checks of
``output`` and ``classes`` (``check_answer``). No model: plain arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest
import service_files
import torch
from scipy.special import expit
from scipy.special import softmax as scipy_softmax

hl = service_files.load("09-serverless", "hair_lambda")

CLOTHES = ["dress", "hat", "longsleeve", "outwear", "pants"]
CLOTHING = {"output": "logits", "classes": CLOTHES}
HAIR = {"output": "logit", "classes": ["curly", "straight"], "positive_class": "straight"}


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 1e3, 1e6])
def test_softmax_equals_scipy_and_torch(scale):
    logits = np.random.default_rng(int(scale * 7) % 1000).normal(size=(50, 7)) * scale
    for z in logits:
        got = hl.softmax(z)
        np.testing.assert_allclose(got, scipy_softmax(z), rtol=1e-12, atol=1e-300)
        want = torch.softmax(torch.from_numpy(z), dim=0).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
        assert np.isfinite(got).all() and sum(got) == pytest.approx(1.0, abs=1e-12)


def test_softmax_does_not_overflow_where_the_naive_formula_does():
    z = np.array([1000.0, 999.0, -1000.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum()
    assert np.isnan(naive).any()  # the formula as written breaks here
    np.testing.assert_allclose(hl.softmax(z), scipy_softmax(z), rtol=1e-12)


@pytest.mark.parametrize("bad", [[], [1.0, np.nan], [np.inf, 0.0]])
def test_softmax_refuses_what_has_no_probabilities(bad):
    with pytest.raises(ValueError, match="finite logits"):
        hl.softmax(np.array(bad, dtype=float))


def test_multi_class_answer_is_the_top_class_and_every_probability():
    z = np.array([0.5, -1.25, 3.0, 2.5, -0.75], dtype=np.float32)  # a model's float32 output
    got = hl.answer(z, CLOTHING)
    p = torch.softmax(torch.from_numpy(z.astype(np.float64)), dim=0).numpy()
    assert got["label"] == "longsleeve" == CLOTHES[int(torch.argmax(torch.from_numpy(z)))]
    assert got["prediction"] == pytest.approx(p[2], rel=1e-12)
    assert list(got["probabilities"]) == CLOTHES == list(got["logits"])
    np.testing.assert_allclose(list(got["probabilities"].values()), p, rtol=1e-12)
    assert list(got["logits"].values()) == [float(v) for v in z]  # exactly the model's
    assert json.loads(json.dumps(got)) == got  # plain floats
    assert all(type(v) is float for v in [got["prediction"], *got["probabilities"].values()])


def test_multi_class_ties_go_to_the_first_class_as_torch_argmax():
    z = np.array([1.0, 4.0, 4.0, 0.0, -2.0])
    assert hl.answer(z, CLOTHING)["label"] == CLOTHES[int(torch.argmax(torch.from_numpy(z)))]
    assert hl.answer(z, CLOTHING)["label"] == "hat"


@pytest.mark.parametrize("n", [1, 4, 6])
def test_multi_class_answer_needs_one_logit_per_class(n):
    with pytest.raises(ValueError, match="5 logits expected"):
        hl.answer(np.zeros(n), CLOTHING)


@pytest.mark.parametrize("logit", [-40.0, -3.5, -1e-9, 0.0, 0.7, 1.744, 12.0, 800.0])
def test_hair_answer_is_unchanged(logit):
    """The binary answer to a float and to the model's output vector (what ``predict``
    passes now) is the same, and its probabilities are SciPy's sigmoid."""
    as_float = hl.answer(logit, HAIR)
    as_vector = hl.answer(np.array([logit], dtype=np.float32), HAIR)
    f32 = float(np.float32(logit))
    assert as_vector == hl.answer(f32, HAIR)
    assert as_vector["logit"] == f32 and type(as_vector["logit"]) is float
    assert list(as_float) == ["prediction", "logit", "label", "probabilities"]
    assert as_float["prediction"] == pytest.approx(expit(logit), rel=1e-12, abs=1e-300)
    assert as_float["label"] == ("straight" if expit(logit) >= 0.5 else "curly")
    assert as_float["probabilities"] == {
        "curly": 1.0 - as_float["prediction"],
        "straight": as_float["prediction"],
    }


def test_hair_answer_needs_one_logit():
    with pytest.raises(ValueError, match="one logit expected"):
        hl.answer(np.zeros(2), HAIR)


@pytest.mark.parametrize(
    "meta, shape, message",
    [
        (HAIR, ["N", 1], None),
        (CLOTHING, ["N", 5], None),
        (CLOTHING, ["N", 4], r"output shape \['N', 4\], expected \[N, 5\]"),
        (CLOTHING, ["N", 5, 1], "output shape"),
        ({**CLOTHING, "classes": ["a"]}, ["N", 1], "two or more distinct names"),
        ({**CLOTHING, "classes": ["a", "a"]}, ["N", 2], "two or more distinct names"),
        ({**CLOTHING, "classes": ["a", ""]}, ["N", 2], "two or more distinct names"),
        ({**CLOTHING, "output": "probabilities"}, ["N", 5], "expected 'logit' or 'logits'"),
        ({**HAIR, "positive_class": "wavy"}, ["N", 1], "positive 'wavy'"),
    ],
)
def test_check_answer(meta, shape, message, tmp_path):
    if message is None:
        hl.check_answer(tmp_path, meta, shape)
    else:
        with pytest.raises(ValueError, match=message):
            hl.check_answer(tmp_path, meta, shape)

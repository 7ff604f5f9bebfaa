"""Property tests of the checks' building blocks, on random shapes, dtypes and magnitudes.

The hidden checks stay deterministic (fixed seeds, fixed inputs); here hypothesis varies what they
are built from, to show that the contract's rules hold for correct code on any shape (batch 1,
non-square, float32 and float64, values up to ±1e3) and are broken by the bugs they name, and that
``close`` tells float32 round-off from a wrong constant.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from students import mutants

from probes.core import CheckFailure, close, layer_contract
from probes.losses import _loss_contract
from probes.training import _Audit
from solutions import (
    BatchNorm,
    CrossEntropyLoss,
    DataLoader,
    Dropout,
    Linear,
    MSELoss,
    ReLU,
    Sigmoid,
    Tanh,
    softmax,
)

PROPERTIES = settings(max_examples=40, deadline=None, database=None)
DTYPES = st.sampled_from([np.float32, np.float64])


def batches(min_rows=1, max_value=1e3):
    """(N, D) arrays, N and D drawn independently (batch 1 and non-square included), finite, |x| <= max_value."""
    shapes = st.tuples(st.integers(min_rows, 6), st.integers(1, 7))
    return shapes.flatmap(lambda shape: st.tuples(
        arrays(np.float64, shape, elements=st.floats(-max_value, max_value, allow_subnormal=False)),
        arrays(np.float64, shape, elements=st.floats(-10, 10, allow_subnormal=False))))


def _holds(rules):
    flags = {k: v for k, v in rules.items() if not k.startswith("dtype")}
    assert all(flags.values()), rules
    assert rules["dtype_forward"] == rules["dtype_backward"] == "float32", rules
    assert rules["dtype64"] == "float64 и float64", rules


@PROPERTIES
@given(data=batches(), layer=st.sampled_from([ReLU, Sigmoid, Tanh, lambda: Dropout(0.4)]))
def test_elementwise_layers_keep_every_rule(data, layer):
    x, grad = data
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _holds(layer_contract("layer", layer, x, grad))


@PROPERTIES
@given(data=batches(max_value=50), outputs=st.integers(1, 5))
def test_linear_keeps_every_rule(data, outputs):
    x, _ = data
    grad = np.linspace(-1, 1, len(x) * outputs).reshape(len(x), outputs)
    _holds(layer_contract("Linear", lambda: Linear(x.shape[1], outputs), x, grad))


@PROPERTIES
@given(data=batches(min_rows=2, max_value=50))
def test_batchnorm_keeps_every_rule(data):
    x, grad = data
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no constant column: its variance would be 0
    _holds(layer_contract("BatchNorm", lambda: BatchNorm(x.shape[1]), x, grad))


@PROPERTIES
@given(data=batches(), dtype=DTYPES)
def test_an_in_place_forward_is_caught_whenever_it_changes_something(data, dtype):
    x, grad = data[0].astype(dtype), data[1].astype(dtype)
    rules = layer_contract("ReLU", mutants.ReLUInPlace, x, grad)
    assert rules["x_untouched"] == (not (x < 0).any()), rules


@PROPERTIES
@given(data=batches(max_value=5))
def test_a_backward_that_spoils_its_cache_is_caught(data):
    x, grad = data
    rules = layer_contract("Sigmoid", mutants.SigmoidBackwardSpoilsOutput, x, grad)
    assert not rules["output_kept"] and rules["backward_repeatable"] == (not grad.any()), rules


@PROPERTIES
@given(data=batches())
def test_a_float64_cast_is_caught_for_float32_input(data):
    x, grad = data
    assert layer_contract("ReLU", mutants.ReLUFloat64, x, grad)["dtype_forward"] == "float64"


@PROPERTIES
@given(data=batches(max_value=1e3))
def test_the_losses_keep_every_rule(data):
    logits, prediction = data
    target = np.arange(len(logits)) % logits.shape[1]
    if logits.shape[1] > 1:
        ce = _loss_contract("CE", CrossEntropyLoss, logits, target, {"one-hot": (logits, np.eye(logits.shape[1])[target]),
                                                                        "1-D": (logits[:, 0], target)})
        assert ce == {"prediction_untouched": True, "target_untouched": True, "loss_type": "float",
                      "backward_repeatable": True, "bad: one-hot": "ValueError", "bad: 1-D": "ValueError"}, ce
    mse = _loss_contract("MSE", MSELoss, prediction, logits, {"column": (prediction[:, :1], prediction[:, 0])})
    assert mse == {"prediction_untouched": True, "target_untouched": True, "loss_type": "float",
                   "backward_repeatable": True, "bad: column": "ValueError"}, mse


@PROPERTIES
@given(data=batches(max_value=1e4), dtype=DTYPES)
def test_softmax_rows_sum_to_one_in_their_dtype_without_touching_x(data, dtype):
    x = data[0].astype(dtype)
    given_x = x.copy()
    p = softmax(given_x)
    assert np.array_equal(given_x, x) and p.dtype == dtype
    close("rows", p.sum(axis=1), np.ones(len(x)), rtol=1e-5, atol=1e-6)


@PROPERTIES
@given(size=st.integers(1, 60), batch_size=st.integers(1, 70), drop_last=st.booleans())
def test_the_dataloaders_batches_are_what_len_says_and_never_empty(size, batch_size, drop_last):
    data = (np.arange(size, dtype=np.float32)[:, None], np.arange(size))
    audit = _Audit()
    batches = audit.epoch("DataLoader", DataLoader(data, batch_size=batch_size, drop_last=drop_last))
    full, rest = divmod(size, batch_size)
    assert [len(b[1]) for b in batches] == [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert audit.no_empty and audit.len_matches
    broken = _Audit()
    broken.epoch("DataLoader", mutants.DataLoaderExtraEmptyBatch(data, batch_size=batch_size))
    assert broken.no_empty == bool(size % batch_size)


@PROPERTIES
@given(values=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)),
                     elements=st.floats(-1e3, 1e3, allow_subnormal=False)))
def test_close_accepts_float32_round_off_and_rejects_a_wrong_constant(values):
    close("float32", values.astype(np.float32), values)
    scale = max(1.0, float(np.abs(values).max()))
    wrong = values.copy()
    wrong.flat[0] += 1e-3 * scale  # far above the tolerance, as a clip at 0.999999 is for large upstream gradients
    with pytest.raises(CheckFailure):
        close("constant", wrong, values)

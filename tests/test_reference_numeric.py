"""The reference package (``solutions``) against central finite differences, in float64.

Each analytic gradient is checked on a scalar function of the form
``L = sum(upstream * layer.forward(x))`` with a random (not all-ones) upstream,
so that ``layer.backward(upstream)`` is exactly dL/dx.
"""
import numpy as np
import pytest

from probes.core import numeric_gradient
from solutions import (
    BatchNorm,
    CrossEntropyLoss,
    Dropout,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    softmax,
)

EPS = 1e-6
# Central differences: truncation ~EPS^2 |f'''| ~ 1e-12, rounding ~1e-16 |f| / EPS ~ 1e-9 for |f| ~ 10.
RTOL, ATOL = 1e-6, 1e-7


def numeric_grad(f, x):
    """Central differences of the scalar ``f()`` wrt ``x`` (perturbed in place, then restored)."""
    return numeric_gradient(f, x, eps=EPS)


def assert_grad(analytic, numeric, what, rtol=RTOL, atol=ATOL):
    analytic = np.asarray(analytic)
    assert analytic.shape == numeric.shape, f"{what}: analytic shape {analytic.shape}, expected {numeric.shape}"
    np.testing.assert_allclose(
        analytic, numeric, rtol=rtol, atol=atol, err_msg=f"{what}: backward disagrees with finite differences"
    )


def check_layer(layer, x, upstream, params=(), name=None):
    """Check dL/dx and dL/d(each param) of L = sum(upstream * layer.forward(x))."""
    name = name or type(layer).__name__
    layer.zero_grad()
    layer.forward(x)
    analytic_x = layer.backward(upstream).copy()
    analytic_params = [g.copy() for g in layer.gradients()]

    def loss():
        return float(np.sum(upstream * layer.forward(x)))

    assert_grad(analytic_x, numeric_grad(loss, x), f"{name} input gradient")
    for (label, param), grad in zip(params, analytic_params):
        assert_grad(grad, numeric_grad(loss, param), f"{name} gradient of {label}")


# --------------------------------------------------------------------------- activations


@pytest.mark.activations
def test_relu_input_grad():
    rng = np.random.default_rng(0)
    # |x| >= 0.1, far from the kink at 0 compared with EPS.
    x = rng.uniform(0.1, 3.0, size=(7, 5)) * rng.choice([-1.0, 1.0], size=(7, 5))
    check_layer(ReLU(), x, rng.normal(size=(7, 5)))


@pytest.mark.activations
@pytest.mark.parametrize("layer_cls", [Sigmoid, Tanh])
def test_smooth_activation_input_grad(layer_cls):
    rng = np.random.default_rng(1)
    x = rng.normal(scale=2.0, size=(7, 5))
    check_layer(layer_cls(), x, rng.normal(size=(7, 5)))


# --------------------------------------------------------------------------- linear / sequential


@pytest.mark.linear
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_linear_input_weight_and_bias_grads(bias, legacy_rng):
    rng = np.random.default_rng(2)
    layer = Linear(5, 3, bias=bias)
    layer.weight[...] = rng.normal(size=(5, 3))
    params = [("weight", layer.weight)]
    if bias:
        layer.bias[...] = rng.normal(size=3)
        params.append(("bias", layer.bias))
    check_layer(layer, rng.normal(size=(7, 5)), rng.normal(size=(7, 3)), params)


@pytest.mark.sequential
def test_sequential_linear_tanh_linear_grads(legacy_rng):
    rng = np.random.default_rng(3)
    first, second = Linear(5, 8), Linear(8, 3)
    for layer in (first, second):
        layer.weight[...] = rng.normal(scale=0.5, size=layer.weight.shape)
        layer.bias[...] = rng.normal(size=layer.bias.shape)
    model = Sequential(first, Tanh(), second)
    params = [("layer 0 weight", first.weight), ("layer 0 bias", first.bias),
              ("layer 2 weight", second.weight), ("layer 2 bias", second.bias)]
    check_layer(model, rng.normal(size=(7, 5)), rng.normal(size=(7, 3)), params, name="Sequential")


# --------------------------------------------------------------------------- batchnorm


def random_batchnorm(rng, num_features):
    layer = BatchNorm(num_features)
    layer.gamma[...] = rng.uniform(0.5, 2.0, size=num_features) * rng.choice([-1.0, 1.0], size=num_features)
    layer.beta[...] = rng.normal(size=num_features)
    return layer


@pytest.mark.batchnorm
def test_batchnorm_training_grads():
    """Training mode: the batch statistics depend on x.  (Each forward also moves the
    running statistics, which does not change training-mode outputs.)"""
    rng = np.random.default_rng(4)
    layer = random_batchnorm(rng, 5)
    x = rng.normal(loc=rng.normal(size=5), scale=rng.uniform(0.3, 3.0, size=5), size=(7, 5))
    params = [("gamma", layer.gamma), ("beta", layer.beta)]
    check_layer(layer.train(), x, rng.normal(size=(7, 5)), params, name="BatchNorm (training)")


@pytest.mark.batchnorm
def test_batchnorm_eval_grads():
    rng = np.random.default_rng(5)
    layer = random_batchnorm(rng, 5)
    layer.running_mean[...] = rng.normal(size=5)
    layer.running_var[...] = rng.uniform(0.2, 3.0, size=5)
    x = rng.normal(scale=2.0, size=(7, 5))
    params = [("gamma", layer.gamma), ("beta", layer.beta)]
    check_layer(layer.eval(), x, rng.normal(size=(7, 5)), params, name="BatchNorm (eval)")


# --------------------------------------------------------------------------- dropout


@pytest.mark.dropout
def test_dropout_grad_with_a_fixed_mask(legacy_rng):
    """Re-seeding before each forward freezes the mask, making dropout a fixed linear map."""
    rng = np.random.default_rng(6)
    layer = Dropout(0.3)
    x = rng.normal(size=(7, 5))
    upstream = rng.normal(size=(7, 5))

    def forward():
        np.random.seed(99)
        return layer.forward(x)

    forward()
    analytic = layer.backward(upstream)
    numeric = numeric_grad(lambda: float(np.sum(upstream * forward())), x)
    assert_grad(analytic, numeric, "Dropout input gradient (fixed mask)")


# --------------------------------------------------------------------------- softmax and losses


@pytest.mark.losses
def test_softmax_grad_via_weighted_sum():
    """d/dx sum(w * softmax(x)) = s * (w - sum(w * s)) row by row, with s = softmax(x)."""
    rng = np.random.default_rng(7)
    x = rng.normal(scale=2.0, size=(7, 5))
    w = rng.normal(size=(7, 5))
    s = softmax(x)
    analytic = s * (w - np.sum(w * s, axis=-1, keepdims=True))
    numeric = numeric_grad(lambda: float(np.sum(w * softmax(x))), x)
    assert_grad(analytic, numeric, "softmax Jacobian-vector product")


@pytest.mark.losses
@pytest.mark.parametrize("n", [7, 1])
def test_cross_entropy_grad(n):
    rng = np.random.default_rng(8)
    logits = rng.normal(scale=2.0, size=(n, 5))
    labels = rng.integers(0, 5, size=n)
    loss = CrossEntropyLoss()
    loss.forward(logits, labels)
    analytic = loss.backward()
    numeric = numeric_grad(lambda: loss.forward(logits, labels), logits)
    assert_grad(analytic, numeric, f"CrossEntropyLoss gradient wrt logits (N={n})")


@pytest.mark.losses
def test_mse_grad():
    rng = np.random.default_rng(9)
    pred = rng.normal(size=(5, 3))
    target = rng.normal(size=(5, 3))
    loss = MSELoss()
    loss.forward(pred, target)
    analytic = loss.backward()
    numeric = numeric_grad(lambda: loss.forward(pred, target), pred)
    assert_grad(analytic, numeric, "MSELoss gradient wrt prediction")


@pytest.mark.sequential
@pytest.mark.losses
def test_full_model_with_cross_entropy_grads(legacy_rng):
    """End to end: CE(Sequential(Linear, BatchNorm, Sigmoid, Linear)(x)) wrt x and every parameter."""
    rng = np.random.default_rng(10)
    first, second = Linear(4, 6), Linear(6, 3)
    for layer in (first, second):
        layer.weight[...] = rng.normal(size=layer.weight.shape)
        layer.bias[...] = rng.normal(size=layer.bias.shape)
    model = Sequential(first, random_batchnorm(rng, 6), Sigmoid(), second)
    x = rng.normal(size=(8, 4))
    labels = rng.integers(0, 3, size=8)
    loss_fn = CrossEntropyLoss()

    def loss():
        return loss_fn.forward(model.forward(x), labels)

    model.zero_grad()
    loss()
    analytic_x = model.backward(loss_fn.backward()).copy()
    analytic_params = [g.copy() for g in model.gradients()]
    assert_grad(analytic_x, numeric_grad(loss, x), "model input gradient")
    for i, (param, grad) in enumerate(zip(model.parameters(), analytic_params)):
        assert_grad(grad, numeric_grad(loss, param), f"model gradient of parameter #{i}")

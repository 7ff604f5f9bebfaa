"""The reference package (``solutions``) against PyTorch, the oracle.

Everything runs in float64 with seeded NumPy Generators, so the comparisons use
tight tolerances.  ``torch`` is imported unconditionally on purpose: if it is
missing, this module must error out rather than be skipped.

Conventions bridged here:
  * our Linear.weight is (in, out); torch's nn.Linear.weight is (out, in), so
    ours == torch.weight.T, and grad_weight == torch.weight.grad.T;
  * our BatchNorm.gamma / beta are torch's BatchNorm1d.weight / bias.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from solutions import (
    SGD,
    Adam,
    BatchNorm,
    CrossEntropyLoss,
    DataLoader,
    Dropout,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    evaluate,
    one_hot_encode,
    softmax,
    train_epoch,
)

RTOL, ATOL = 1e-10, 1e-12
DTYPE = torch.float64

oracle = pytest.mark.torch_oracle


# --------------------------------------------------------------------------- helpers


def tt(array, requires_grad=False):
    """A float64 torch copy of a NumPy array (a copy: our layers cache inputs)."""
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=DTYPE, requires_grad=requires_grad)


def nn_(tensor):
    """torch tensor -> NumPy float64 array (detached copy)."""
    return tensor.detach().cpu().numpy().astype(np.float64, copy=True)


def assert_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, torch gives {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: the reference produced non-finite values {actual}"
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol, err_msg=f"{what}: reference differs from PyTorch"
    )


def torch_forward_backward(module, x, upstream):
    """Run ``module`` on a torch copy of ``x``; return (output, grad wrt x) as NumPy."""
    tx = tt(x, requires_grad=True)
    ty = module(tx)
    ty.backward(tt(upstream))
    return nn_(ty), nn_(tx.grad)


def linear_pair(rng, n_in, n_out, bias=True):
    """Our Linear and a torch nn.Linear holding the same random weights."""
    ours = Linear(n_in, n_out, bias=bias)
    theirs = nn.Linear(n_in, n_out, bias=bias).to(DTYPE)
    weight = rng.normal(scale=1 / np.sqrt(n_in), size=(n_in, n_out))
    ours.weight[...] = weight
    with torch.no_grad():
        theirs.weight.copy_(tt(weight.T))
    if bias:
        b = rng.normal(scale=0.5, size=n_out)
        ours.bias[...] = b
        with torch.no_grad():
            theirs.bias.copy_(tt(b))
    return ours, theirs


def batchnorm_pair(rng, num_features, eps=1e-5, momentum=0.1):
    """Our BatchNorm and a torch BatchNorm1d with the same random gamma and beta."""
    ours = BatchNorm(num_features, eps=eps, momentum=momentum)
    theirs = nn.BatchNorm1d(num_features, eps=eps, momentum=momentum).to(DTYPE)
    gamma = rng.uniform(0.5, 2.0, size=num_features) * rng.choice([-1.0, 1.0], size=num_features)
    beta = rng.normal(size=num_features)
    ours.gamma[...] = gamma
    ours.beta[...] = beta
    with torch.no_grad():
        theirs.weight.copy_(tt(gamma))
        theirs.bias.copy_(tt(beta))
    return ours, theirs


def model_pair(rng, spec):
    """Build our Sequential and an equivalent torch nn.Sequential with equal parameters.

    ``spec`` is a list like [("linear", 4, 6), ("tanh",), ("batchnorm", 6), ...].
    """
    ours, theirs = [], []
    for kind, *args in spec:
        if kind == "linear":
            a, b = linear_pair(rng, *args)
        elif kind == "batchnorm":
            a, b = batchnorm_pair(rng, *args)
        elif kind == "relu":
            a, b = ReLU(), nn.ReLU()
        elif kind == "sigmoid":
            a, b = Sigmoid(), nn.Sigmoid()
        elif kind == "tanh":
            a, b = Tanh(), nn.Tanh()
        else:
            raise ValueError(kind)
        ours.append(a)
        theirs.append(b)
    return Sequential(*ours), nn.Sequential(*theirs).to(DTYPE)


def torch_params_as_ours(module):
    """torch parameters (and their grads) in our order and layout: Linear weights transposed."""
    params, grads = [], []
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            pairs = [(sub.weight, True)] + ([] if sub.bias is None else [(sub.bias, False)])
        elif isinstance(sub, nn.BatchNorm1d):
            pairs = [(sub.weight, False), (sub.bias, False)]
        else:
            continue
        for p, transpose in pairs:
            params.append(nn_(p.T if transpose else p))
            grads.append(None if p.grad is None else nn_(p.grad.T if transpose else p.grad))
    return params, grads


def assert_params_match(ours, theirs, what, rtol=RTOL, atol=ATOL):
    expected, _ = torch_params_as_ours(theirs)
    actual = ours.parameters()
    assert len(actual) == len(expected), f"{what}: {len(actual)} parameters, torch has {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, f"{what}, parameter #{i}", rtol=rtol, atol=atol)


def assert_grads_match(ours, theirs, what, rtol=RTOL, atol=ATOL):
    _, expected = torch_params_as_ours(theirs)
    actual = ours.gradients()
    assert len(actual) == len(expected), f"{what}: {len(actual)} gradients, torch has {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, f"{what}, gradient of parameter #{i}", rtol=rtol, atol=atol)


ACTIVATIONS = [
    pytest.param(ReLU, torch.relu, id="ReLU"),
    pytest.param(Sigmoid, torch.sigmoid, id="Sigmoid"),
    pytest.param(Tanh, torch.tanh, id="Tanh"),
]


# --------------------------------------------------------------------------- activations


@oracle
@pytest.mark.activations
@pytest.mark.parametrize("layer_cls, torch_fn", ACTIVATIONS)
def test_activation_forward_and_input_grad(layer_cls, torch_fn):
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(7, 5))
    upstream = rng.normal(size=(7, 5))
    layer = layer_cls()
    y = layer.forward(x)
    grad = layer.backward(upstream)
    ty, tgrad = torch_forward_backward(torch_fn, x, upstream)
    assert_close(y, ty, f"{layer_cls.__name__} forward")
    assert_close(grad, tgrad, f"{layer_cls.__name__} input gradient")


@oracle
@pytest.mark.activations
@pytest.mark.parametrize("layer_cls, torch_fn", ACTIVATIONS)
def test_activation_extreme_inputs(layer_cls, torch_fn):
    """|x| up to 1e3: no overflow warning (warnings are errors), no NaN, same values as torch."""
    rng = np.random.default_rng(1)
    edge = np.array([-1e3, -800.0, -745.0, -710.0, -700.0, -40.0, -20.0, 20.0, 40.0, 700.0, 710.0, 800.0, 1e3])
    x = np.concatenate([edge, rng.uniform(-1e3, 1e3, size=22)]).reshape(5, 7)
    upstream = rng.normal(size=x.shape)
    layer = layer_cls()
    y = layer.forward(x)
    grad = layer.backward(upstream)
    ty, tgrad = torch_forward_backward(torch_fn, x, upstream)
    assert_close(y, ty, f"{layer_cls.__name__} forward at |x| up to 1e3")
    assert_close(grad, tgrad, f"{layer_cls.__name__} input gradient at |x| up to 1e3")


@oracle
@pytest.mark.activations
def test_relu_subgradient_at_zero_matches_torch():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, -0.0, 3.0]])
    upstream = np.array([[1.5, -2.0, 0.5], [3.0, 4.0, -1.0]])
    layer = ReLU()
    y = layer.forward(x)
    grad = layer.backward(upstream)
    ty, tgrad = torch_forward_backward(torch.relu, x, upstream)
    assert_close(y, ty, "ReLU forward with exact zeros")
    assert_close(grad, tgrad, "ReLU gradient at x == 0 (torch uses subgradient 0)")


# --------------------------------------------------------------------------- linear


@oracle
@pytest.mark.linear
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_linear_forward_and_all_grads(bias):
    rng = np.random.default_rng(2)
    ours, theirs = linear_pair(rng, 5, 3, bias=bias)
    x = rng.normal(size=(7, 5))
    upstream = rng.normal(size=(7, 3))
    y = ours.forward(x)
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs, x, upstream)
    assert_close(y, ty, "Linear forward")
    assert_close(grad, tgrad, "Linear input gradient")
    assert_close(ours.grad_weight, nn_(theirs.weight.grad.T), "Linear grad_weight (ours is torch's .T)")
    if bias:
        assert_close(ours.grad_bias, nn_(theirs.bias.grad), "Linear grad_bias")
    else:
        assert ours.bias is None and ours.grad_bias is None, "Linear(bias=False) must have no bias"
        assert len(ours.parameters()) == len(ours.gradients()) == 1, "Linear(bias=False) has only a weight"


@oracle
@pytest.mark.linear
def test_linear_grads_accumulate_over_two_backward_calls_like_torch():
    rng = np.random.default_rng(3)
    ours, theirs = linear_pair(rng, 5, 3)
    for call in (1, 2):
        x = rng.normal(size=(7, 5))
        upstream = rng.normal(size=(7, 3))
        ours.forward(x)
        grad = ours.backward(upstream)
        _, tgrad = torch_forward_backward(theirs, x, upstream)  # torch accumulates into .grad
        assert_close(grad, tgrad, f"Linear input gradient, backward call {call}")
        assert_close(ours.grad_weight, nn_(theirs.weight.grad.T), f"Linear accumulated grad_weight after call {call}")
        assert_close(ours.grad_bias, nn_(theirs.bias.grad), f"Linear accumulated grad_bias after call {call}")
    held = ours.gradients()
    ours.zero_grad()
    theirs.zero_grad(set_to_none=False)
    assert all(a is b for a, b in zip(held, ours.gradients())), "zero_grad must reset the arrays in place"
    assert_close(ours.grad_weight, nn_(theirs.weight.grad.T), "Linear grad_weight after zero_grad")
    assert_close(ours.grad_bias, nn_(theirs.bias.grad), "Linear grad_bias after zero_grad")


# --------------------------------------------------------------------------- sequential


@oracle
@pytest.mark.sequential
def test_sequential_forward_input_and_parameter_grads():
    rng = np.random.default_rng(4)
    spec = [("linear", 5, 8), ("batchnorm", 8), ("relu",), ("linear", 8, 6), ("tanh",), ("linear", 6, 4), ("sigmoid",)]
    ours, theirs = model_pair(rng, spec)
    x = rng.normal(size=(7, 5))
    upstream = rng.normal(size=(7, 4))
    y = ours.forward(x)
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs, x, upstream)
    assert_close(y, ty, "Sequential forward")
    assert_close(grad, tgrad, "Sequential input gradient")
    assert_grads_match(ours, theirs, "Sequential")


@oracle
@pytest.mark.sequential
def test_sequential_eval_mode_matches_torch_eval():
    rng = np.random.default_rng(5)
    spec = [("linear", 5, 8), ("batchnorm", 8), ("tanh",), ("linear", 8, 3)]
    ours, theirs = model_pair(rng, spec)
    for _ in range(3):  # move the running statistics away from (0, 1)
        x = rng.normal(loc=1.0, scale=2.0, size=(9, 5))
        ours.train().forward(x)
        theirs.train()(tt(x))
    ours.eval()
    theirs.eval()
    assert not any(layer.training for layer in ours.layers), "Sequential.eval() must reach every layer"
    x = rng.normal(size=(7, 5))
    upstream = rng.normal(size=(7, 3))
    theirs.zero_grad()
    y = ours.forward(x)
    ours.zero_grad()
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs, x, upstream)
    assert_close(y, ty, "Sequential eval forward")
    assert_close(grad, tgrad, "Sequential eval input gradient")
    assert_grads_match(ours, theirs, "Sequential eval")


# --------------------------------------------------------------------------- batchnorm


@oracle
@pytest.mark.batchnorm
@pytest.mark.parametrize("eps, momentum", [(1e-5, 0.1), (1e-3, 0.3)], ids=["defaults", "eps1e-3_m0.3"])
def test_batchnorm_training_forward_and_all_grads(eps, momentum):
    rng = np.random.default_rng(6)
    ours, theirs = batchnorm_pair(rng, 5, eps=eps, momentum=momentum)
    x = rng.normal(loc=rng.normal(size=5), scale=rng.uniform(0.1, 3.0, size=5), size=(7, 5))
    upstream = rng.normal(size=(7, 5))
    y = ours.forward(x)
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs.train(), x, upstream)
    assert_close(y, ty, "BatchNorm training forward")
    assert_close(grad, tgrad, "BatchNorm training input gradient")
    assert_close(ours.grad_gamma, nn_(theirs.weight.grad), "BatchNorm grad_gamma")
    assert_close(ours.grad_beta, nn_(theirs.bias.grad), "BatchNorm grad_beta")
    assert_close(ours.running_mean, nn_(theirs.running_mean), "BatchNorm running_mean after one batch")
    assert_close(ours.running_var, nn_(theirs.running_var), "BatchNorm running_var (unbiased) after one batch")


@oracle
@pytest.mark.batchnorm
def test_batchnorm_grads_accumulate_over_two_backward_calls_like_torch():
    rng = np.random.default_rng(7)
    ours, theirs = batchnorm_pair(rng, 5)
    for call in (1, 2):
        x = rng.normal(scale=2.0, size=(7, 5))
        upstream = rng.normal(size=(7, 5))
        ours.forward(x)
        grad = ours.backward(upstream)
        _, tgrad = torch_forward_backward(theirs, x, upstream)
        assert_close(grad, tgrad, f"BatchNorm input gradient, backward call {call}")
        assert_close(ours.grad_gamma, nn_(theirs.weight.grad), f"BatchNorm accumulated grad_gamma after call {call}")
        assert_close(ours.grad_beta, nn_(theirs.bias.grad), f"BatchNorm accumulated grad_beta after call {call}")


@oracle
@pytest.mark.batchnorm
@pytest.mark.parametrize("eps, momentum", [(1e-5, 0.1), (1e-3, 0.3)], ids=["defaults", "eps1e-3_m0.3"])
def test_batchnorm_running_stats_over_three_batches_then_eval(eps, momentum):
    rng = np.random.default_rng(8)
    ours, theirs = batchnorm_pair(rng, 5, eps=eps, momentum=momentum)
    theirs.train()
    # Different batch sizes, so the unbiased factor n / (n - 1) differs per batch.
    for step, n in enumerate((7, 4, 11), start=1):
        x = rng.normal(loc=rng.normal(scale=3.0, size=5), scale=rng.uniform(0.2, 4.0, size=5), size=(n, 5))
        y = ours.forward(x)
        ty = theirs(tt(x))
        assert_close(y, nn_(ty), f"BatchNorm training forward, batch {step} (n={n})")
        assert_close(ours.running_mean, nn_(theirs.running_mean), f"running_mean after batch {step} (n={n})")
        assert_close(ours.running_var, nn_(theirs.running_var), f"running_var after batch {step} (n={n})")

    ours.eval()
    theirs.eval()
    theirs.zero_grad()
    ours.zero_grad()
    x = rng.normal(scale=2.0, size=(7, 5))
    upstream = rng.normal(size=(7, 5))
    y = ours.forward(x)
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs, x, upstream)
    assert_close(y, ty, "BatchNorm eval forward (running statistics)")
    assert_close(grad, tgrad, "BatchNorm eval input gradient (statistics are constants)")
    assert_close(ours.grad_gamma, nn_(theirs.weight.grad), "BatchNorm eval grad_gamma")
    assert_close(ours.grad_beta, nn_(theirs.bias.grad), "BatchNorm eval grad_beta")
    assert_close(ours.running_mean, nn_(theirs.running_mean), "eval forward must not touch running_mean")
    assert_close(ours.running_var, nn_(theirs.running_var), "eval forward must not touch running_var")


@oracle
@pytest.mark.batchnorm
def test_batchnorm_large_offset_small_spread():
    """Features with mean ~1e4 and std ~1e-2: a one-pass E[x^2] - E[x]^2 variance would break."""
    rng = np.random.default_rng(9)
    ours, theirs = batchnorm_pair(rng, 5)
    x = 1e4 + rng.normal(scale=1e-2, size=(7, 5))
    upstream = rng.normal(size=(7, 5))
    y = ours.forward(x)
    grad = ours.backward(upstream)
    ty, tgrad = torch_forward_backward(theirs.train(), x, upstream)
    # Inherent conditioning: one ulp of 1e4 (1.8e-12) divided by std 1e-2 is ~2e-10 in x_hat, for any
    # implementation (torch too: both are ~4e-10 from the exact value).  So compare normwise at 1e-8.
    assert_close(y, ty, "BatchNorm forward at mean 1e4, std 1e-2", rtol=1e-8, atol=1e-8 * np.abs(ty).max())
    assert_close(grad, tgrad, "BatchNorm input gradient at mean 1e4, std 1e-2", rtol=1e-8, atol=1e-8 * np.abs(tgrad).max())
    assert_close(ours.running_mean, nn_(theirs.running_mean), "running_mean at mean 1e4")
    assert_close(ours.running_var, nn_(theirs.running_var), "running_var at mean 1e4", rtol=1e-8)


# --------------------------------------------------------------------------- dropout


@oracle
@pytest.mark.dropout
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_training_semantics_match_torch_convention(p, legacy_rng):
    """The RNGs differ, so compare structure: drop fraction ~p, survivors scaled by 1/(1-p)."""
    rng = np.random.default_rng(10)
    x = rng.uniform(0.5, 2.0, size=(400, 500)) * rng.choice([-1.0, 1.0], size=(400, 500))  # no zeros
    upstream = rng.normal(size=x.shape)
    layer = Dropout(p)
    assert layer.training, "a new layer starts in training mode, as in torch"
    y = layer.forward(x)
    grad = layer.backward(upstream)
    kept = y != 0
    # Binomial std of the fraction is < 1e-3 for 2e5 elements; 0.01 is a >10-sigma margin.
    assert abs((1 - kept.mean()) - p) < 0.01, f"Dropout({p}) dropped {1 - kept.mean():.4f} of elements, expected ~{p}"
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15, err_msg=f"Dropout({p}) survivor scaling")
    np.testing.assert_allclose(grad[kept], upstream[kept] / (1 - p), rtol=1e-15, err_msg="Dropout backward scaling")
    assert np.all(grad[~kept] == 0), "Dropout backward must zero the gradient of dropped elements"

    # torch's own convention on the same input: same fraction, same 1/(1-p) scaling.
    torch.manual_seed(0)
    ty = nn_(nn.Dropout(p).train()(tt(x)))
    tkept = ty != 0
    assert abs((1 - tkept.mean()) - p) < 0.01, "torch.nn.Dropout drops ~p (documents the convention)"
    np.testing.assert_allclose(ty[tkept], x[tkept] / (1 - p), rtol=1e-15, err_msg="torch survivor scaling")


@oracle
@pytest.mark.dropout
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_dropout_eval_is_identity_and_edge_rates(p, legacy_rng):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(7, 5))
    upstream = rng.normal(size=(7, 5))
    layer = Dropout(p).eval()
    np.testing.assert_array_equal(layer.forward(x), nn_(nn.Dropout(p).eval()(tt(x))), "Dropout eval forward")
    np.testing.assert_array_equal(layer.forward(x), x, err_msg=f"Dropout({p}) in eval mode must be the identity")
    np.testing.assert_array_equal(layer.backward(upstream), upstream, err_msg="Dropout eval backward: identity")

    layer.train()
    y = layer.forward(x)
    torch.manual_seed(0)
    ty = nn_(nn.Dropout(p).train()(tt(x)))
    if p == 0.0:
        np.testing.assert_array_equal(y, x, err_msg="Dropout(0) in training mode is the identity")
        np.testing.assert_array_equal(ty, x, err_msg="torch Dropout(0) is the identity")
    if p == 1.0:
        np.testing.assert_array_equal(y, np.zeros_like(x), err_msg="Dropout(1) zeroes everything")
        np.testing.assert_array_equal(layer.backward(upstream), np.zeros_like(x), err_msg="Dropout(1) backward")
        np.testing.assert_array_equal(ty, np.zeros_like(x), err_msg="torch Dropout(1) zeroes everything")


# --------------------------------------------------------------------------- softmax / one-hot


@oracle
@pytest.mark.losses
@pytest.mark.parametrize(
    "scale, shape",
    [(1.0, (7, 5)), (1e3, (7, 5)), (1e4, (6, 4)), (3.0, (5,))],
    ids=["normal", "spread1e3", "spread1e4", "1d"],
)
def test_softmax_matches_torch(scale, shape):
    rng = np.random.default_rng(12)
    x = rng.uniform(-scale, scale, size=shape)
    if x.ndim == 2 and scale >= 1e3:
        x[0, :] = scale  # a row of ties at the maximum
        x[1, 0], x[1, 1:] = -scale, scale  # one class far below the others
        x[2, 0], x[2, 1:] = scale, -scale  # one dominant class
    p = softmax(x)
    assert_close(p, nn_(torch.softmax(tt(x), dim=-1)), f"softmax at |x| up to {scale:g}", atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14, err_msg="softmax rows must sum to 1")


@oracle
@pytest.mark.losses
def test_one_hot_encode_matches_torch():
    labels = np.array([2, 0, 4, 4, 1, 3, 0])
    expected = nn_(F.one_hot(torch.tensor(labels), num_classes=6).to(DTYPE))
    assert_close(one_hot_encode(labels, 6), expected, "one_hot_encode")


# --------------------------------------------------------------------------- losses


def cross_entropy_pair(logits, labels):
    ours = CrossEntropyLoss()
    loss = ours.forward(logits, labels)
    grad = ours.backward()
    tlogits = tt(logits, requires_grad=True)
    tloss = F.cross_entropy(tlogits, torch.tensor(labels, dtype=torch.int64))
    tloss.backward()
    return loss, grad, tloss.item(), nn_(tlogits.grad)


@oracle
@pytest.mark.losses
@pytest.mark.parametrize(
    "scale, n, c", [(2.0, 7, 5), (1e3, 7, 5), (3.0, 1, 4), (1e3, 1, 4)], ids=["normal", "spread1e3", "batch1", "batch1_1e3"]
)
def test_cross_entropy_matches_torch(scale, n, c):
    rng = np.random.default_rng(13)
    logits = rng.uniform(-scale, scale, size=(n, c))
    labels = rng.integers(0, c, size=n)
    if n > 1 and scale >= 1e3:
        logits[0, labels[0]] = -scale  # the target is the least likely class: loss ~ 2e3
        logits[1, labels[1]] = scale  # the target dominates: loss ~ 0
    loss, grad, tloss, tgrad = cross_entropy_pair(logits, labels)
    assert isinstance(loss, float), f"CrossEntropyLoss.forward must return a Python float, got {type(loss)}"
    assert_close(loss, tloss, f"CrossEntropyLoss value (N={n}, |logits| up to {scale:g})")
    assert_close(grad, tgrad, f"CrossEntropyLoss gradient wrt logits (N={n}, |logits| up to {scale:g})")


@oracle
@pytest.mark.losses
def test_mse_loss_matches_torch():
    rng = np.random.default_rng(14)
    pred = rng.normal(size=(5, 3))
    target = rng.normal(size=(5, 3))
    ours = MSELoss()
    loss = ours.forward(pred, target)
    grad = ours.backward()
    tpred = tt(pred, requires_grad=True)
    tloss = nn.MSELoss()(tpred, tt(target))
    tloss.backward()
    assert isinstance(loss, float), f"MSELoss.forward must return a Python float, got {type(loss)}"
    assert_close(loss, tloss.item(), "MSELoss value (mean over all 15 elements)")
    assert_close(grad, nn_(tpred.grad), "MSELoss gradient wrt prediction")


# --------------------------------------------------------------------------- optimizers

OPTIMIZERS = [
    pytest.param(
        lambda m: SGD(m, learning_rate=0.1, momentum=0.0),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.0),
        id="SGD_lr0.1",
    ),
    pytest.param(
        lambda m: SGD(m, learning_rate=0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        id="SGD_lr0.05_momentum0.9",
    ),
    pytest.param(lambda m: Adam(m), lambda p: torch.optim.Adam(p), id="Adam_defaults"),
    pytest.param(
        lambda m: Adam(m, learning_rate=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6),
        id="Adam_lr0.01_betas0.8_0.99_eps1e-6",
    ),
]


@oracle
@pytest.mark.optimizers
@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
@pytest.mark.parametrize("make_ours, make_torch", OPTIMIZERS)
def test_optimizer_trajectory_matches_torch(make_ours, make_torch, loss_name):
    rng = np.random.default_rng(15)
    ours, theirs = model_pair(rng, [("linear", 4, 6), ("tanh",), ("linear", 6, 3)])
    x = rng.normal(size=(8, 4))
    if loss_name == "mse":
        y = rng.normal(size=(8, 3))
        loss_fn, tloss_fn, ty = MSELoss(), nn.MSELoss(), tt(y)
    else:
        y = rng.integers(0, 3, size=8)
        loss_fn, tloss_fn, ty = CrossEntropyLoss(), nn.CrossEntropyLoss(), torch.tensor(y, dtype=torch.int64)
    opt, topt = make_ours(ours), make_torch(theirs.parameters())
    tx = tt(x)
    for step in range(1, 9):
        opt.zero_grad()
        loss = loss_fn.forward(ours.forward(x), y)
        ours.backward(loss_fn.backward())
        opt.step()

        topt.zero_grad()
        tloss = tloss_fn(theirs(tx), ty)
        tloss.backward()
        topt.step()

        assert_close(loss, tloss.item(), f"{loss_name} loss before step {step}")
        assert_params_match(ours, theirs, f"parameters after step {step} ({loss_name})")


@oracle
@pytest.mark.optimizers
def test_optimizer_updates_parameters_in_place():
    """Optimizers must mutate the arrays the model holds, not rebind them."""
    rng = np.random.default_rng(16)
    for make in (lambda m: SGD(m, learning_rate=0.1, momentum=0.9), lambda m: Adam(m, learning_rate=0.1)):
        ours, _ = model_pair(rng, [("linear", 4, 6), ("tanh",), ("linear", 6, 3)])
        held = ours.parameters()
        before = [p.copy() for p in held]
        opt = make(ours)
        loss_fn = MSELoss()
        loss_fn.forward(ours.forward(rng.normal(size=(8, 4))), rng.normal(size=(8, 3)))
        ours.backward(loss_fn.backward())
        opt.step()
        assert all(a is b for a, b in zip(held, ours.parameters())), f"{type(opt).__name__} rebound a parameter"
        assert all(not np.array_equal(a, b) for a, b in zip(held, before)), f"{type(opt).__name__} left a parameter unchanged"


# --------------------------------------------------------------------------- training loop


@oracle
@pytest.mark.training
def test_train_epoch_and_evaluate_match_a_torch_loop(legacy_rng):
    rng = np.random.default_rng(17)
    spec = [("linear", 4, 8), ("batchnorm", 8), ("relu",), ("linear", 8, 3)]
    ours, theirs = model_pair(rng, spec)
    X = rng.normal(size=(23, 4))  # 23 = 4 full batches of 5 and a last batch of 3
    y = rng.integers(0, 3, size=23)
    loader = DataLoader((X, y), batch_size=5, shuffle=False)
    opt = SGD(ours, learning_rate=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    tloss_fn = nn.CrossEntropyLoss()

    for epoch in (1, 2):
        mean_loss = train_epoch(ours, CrossEntropyLoss(), opt, loader)
        theirs.train()
        total = 0.0
        for start in range(0, 23, 5):
            xb, yb = tt(X[start : start + 5]), torch.tensor(y[start : start + 5], dtype=torch.int64)
            topt.zero_grad()
            loss = tloss_fn(theirs(xb), yb)
            loss.backward()
            topt.step()
            total += loss.item() * len(xb)
        assert_close(mean_loss, total / 23, f"train_epoch mean loss per sample, epoch {epoch}")
        assert_params_match(ours, theirs, f"parameters after epoch {epoch}")
        bn, tbn = ours[1], theirs[1]
        assert_close(bn.running_mean, nn_(tbn.running_mean), f"BatchNorm running_mean after epoch {epoch}")
        assert_close(bn.running_var, nn_(tbn.running_var), f"BatchNorm running_var after epoch {epoch}")

    accuracy = evaluate(ours, loader)
    theirs.eval()
    with torch.no_grad():
        tacc = (theirs(tt(X)).argmax(dim=1).numpy() == y).mean()
    assert accuracy == pytest.approx(tacc, abs=1e-15), f"evaluate: {accuracy}, torch eval accuracy {tacc}"

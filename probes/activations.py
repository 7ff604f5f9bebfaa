"""Checks for ReLU, Sigmoid and Tanh: one shared probe, three units."""
import numpy as np

from .core import Unit, as_array, call, check_numeric, compare_results, layer_contract, numeric_gradient

LABELS = {
    "forward": "forward(x) на случайном батче 7×5",
    "backward": "backward(grad_output) — градиент по входу",
    "single_forward": "forward на батче из одного примера",
    "single_backward": "backward на батче из одного примера",
    "hard_forward": "forward при больших |x| (до 1000)",
    "hard_backward": "backward при больших |x| (до 1000)",
    "call_matches_forward": "layer(x) должен давать то же, что layer.forward(x)",
}


def make_inputs(rng):
    x = rng.normal(0, 2, size=(7, 5))
    x[np.abs(x) < 0.05] += 0.3  # keep away from ReLU's kink for the numeric check
    x[5, :], x[6, 2] = 0.0, 0.0  # ... but test the kink itself: dReLU/dx(0) = 0, as in PyTorch
    signs = np.vstack([-np.ones(8), np.ones(8), rng.choice([-1, 1], size=8)])  # both tails, always
    hard = signs * np.geomspace(20, 1000, 8)
    return {
        "x": x,
        "grad": rng.normal(size=(7, 5)),
        "x1": rng.normal(size=(1, 4)),
        "grad1": rng.normal(size=(1, 4)),
        "hard": hard,
        # Large upstream gradients make a tiny error in dy/dx (a clipped tanh) visible.
        "hard_grad": rng.normal(0, 10, size=(3, 8)),
        "small": x[:3, :4].copy(),
        "small_grad": rng.normal(size=(3, 4)),
    }


def run(cls, inputs, title):
    make = lambda: call(f"{title}()", cls)  # noqa: E731
    out = {}
    layer = make()
    x = inputs["x"].copy()
    out["forward"] = as_array(f"{title}.forward", call(f"{title}.forward", layer.forward, x), x.shape)
    out["backward"] = as_array(f"{title}.backward",
                               call(f"{title}.backward", layer.backward, inputs["grad"].copy()), x.shape)
    out["call_matches_forward"] = bool(np.allclose(
        as_array(f"{title}(x)", call(f"{title}(x)", layer, inputs["x"].copy())), out["forward"]))

    out.update(layer_contract(title, make, inputs["x"], inputs["grad"]))

    layer = make()
    out["single_forward"] = as_array(f"{title}.forward", call(f"{title}.forward", layer.forward,
                                                               inputs["x1"].copy()), (1, 4))
    out["single_backward"] = as_array(f"{title}.backward", call(f"{title}.backward", layer.backward,
                                                                 inputs["grad1"].copy()), (1, 4))
    layer = make()
    out["hard_forward"] = as_array(f"{title}.forward", call(f"{title}.forward", layer.forward,
                                                             inputs["hard"].copy()), (3, 8))
    out["hard_backward"] = as_array(f"{title}.backward", call(f"{title}.backward", layer.backward,
                                                               inputs["hard_grad"].copy()), (3, 8))
    # Second oracle: the student's backward against differences of the student's forward.
    layer, x, g = make(), inputs["small"].copy(), inputs["small_grad"]
    call(f"{title}.forward", layer.forward, x)
    out["analytic"] = as_array(f"{title}.backward", call(f"{title}.backward", layer.backward, g.copy()), x.shape)
    out["numeric"] = numeric_gradient(
        lambda: float(np.sum(g * as_array(f"{title}.forward", call(f"{title}.forward", layer.forward, x)))), x)
    return out


def _unit(title, reference):
    def compare(inputs, got, want):
        compare_results(LABELS, got, want, title=title, skip=("analytic", "numeric"))
        check_numeric(f"{title}: backward", got["analytic"], got["numeric"])

    return Unit(title, reference, make_inputs, lambda cls, inputs: run(cls, inputs, title), compare, LABELS)


RELU = _unit("ReLU", "activations.ReLU")
SIGMOID = _unit("Sigmoid", "activations.Sigmoid")
TANH = _unit("Tanh", "activations.Tanh")

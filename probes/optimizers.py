"""Checks for SGD and Adam: trajectories on a quadratic bowl against the reference."""
import numpy as np

from .core import CheckFailure, Unit, call, close
from .fixtures import Bowl

STEPS = 7


def make_inputs(rng):
    inputs = {}
    for k, shape in enumerate(Bowl.SHAPES):
        inputs[f"p{k}"] = rng.normal(size=shape)
        inputs[f"t{k}"] = rng.normal(size=shape)
    return inputs


def _bowl(inputs):
    n = len(Bowl.SHAPES)
    return Bowl([inputs[f"p{k}"] for k in range(n)], [inputs[f"t{k}"] for k in range(n)])


def _trajectory(title, cls, inputs, kwargs):
    """Parameters after each of STEPS steps, plus how the optimizer treated the arrays."""
    model = _bowl(inputs)
    start = [p.copy() for p in model.params]
    arrays = list(model.params)
    opt = call(f"{title}(model, {_fmt(kwargs)})", cls, model, **kwargs)
    path, zeroed, in_place = [], True, True
    for _ in range(STEPS):
        call(f"{title}.zero_grad", opt.zero_grad)
        zeroed &= all(not g.any() for g in model.grads)
        model.backward()
        call(f"{title}.step", opt.step)
        in_place &= all(a is b for a, b in zip(arrays, model.params))
        path.append(np.concatenate([(p - s).ravel() for p, s in zip(model.params, start)]))
    return {"path": np.array(path), "zeroed": zeroed, "in_place": in_place}


def _fmt(kwargs):
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


def make_unit(title, reference, settings, hint):
    def run(cls, inputs):
        out = {}
        for i, kwargs in enumerate(settings):
            for key, value in _trajectory(title, cls, inputs, kwargs).items():
                out[f"{key}_{i}"] = value
        return out

    def compare(inputs, got, want):
        for i, kwargs in enumerate(settings):
            what = f"{title}({_fmt(kwargs) or 'параметры по умолчанию'})"
            if not got[f"zeroed_{i}"]:
                raise CheckFailure(f"{what}: zero_grad() должен обнулять градиенты модели (model.zero_grad())")
            if not got[f"in_place_{i}"]:
                raise CheckFailure(f"{what}: step() должен менять параметры на месте (p -= ...), "
                                   f"а не создавать новые массивы — модель их не увидит")
            path, expected = got[f"path_{i}"], want[f"path_{i}"]
            for step in range(STEPS):
                try:
                    close(f"{what}: изменение параметров после шага {step + 1}", path[step], expected[step],
                          rtol=1e-6, atol=1e-9)
                except CheckFailure as failure:
                    raise CheckFailure(f"{failure} {hint}") from None

    return Unit(title, reference, make_inputs, run, compare)


SGD = make_unit("SGD", "optim.SGD", [
    {},
    {"learning_rate": 0.1},
    {"learning_rate": 0.05, "momentum": 0.9},
], "(SGD: v = momentum·v + grad, на первом шаге v = grad; p -= learning_rate·v.)")

ADAM = make_unit("Adam", "optim.Adam", [
    {},
    {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
], "(Adam: счётчик шагов t растёт на 1 за вызов step(); m̂ = m/(1-β1^t), v̂ = v/(1-β2^t); "
   "p -= lr·m̂/(sqrt(v̂) + eps) — eps вне корня.)")

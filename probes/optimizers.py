"""Checks for SGD and Adam: trajectories on a quadratic bowl against the reference."""
from dataclasses import dataclass

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


def _trajectory(title, cls, inputs, kwargs, schedule=None, silent=()):
    """Parameters after each of STEPS steps, plus how the optimizer treated the arrays.

    ``schedule``: the learning rate set on ``optimizer.learning_rate`` before each step (as a scheduler
    does); ``silent``: (step, parameter) pairs whose gradient is all zero at that step."""
    model = _bowl(inputs)
    start = [p.copy() for p in model.params]
    arrays = list(model.params)
    opt = call(f"{title}(model, {_fmt(kwargs)})", cls, model, **kwargs)
    path, zeroed, in_place, grads_kept = [], True, True, True
    for step in range(STEPS):
        call(f"{title}.zero_grad", opt.zero_grad)
        zeroed &= all(not g.any() for g in model.grads)
        model.backward()
        for k in (k for s, k in silent if s == step):
            model.grads[k][...] = 0.0
        if schedule is not None:
            opt.learning_rate = schedule[step]
        seen = [g.copy() for g in model.grads]
        call(f"{title}.step", opt.step)
        in_place &= all(a is b for a, b in zip(arrays, model.params))
        grads_kept &= all(np.array_equal(g, s) for g, s in zip(model.grads, seen))
        path.append(np.concatenate([(p - s).ravel() for p, s in zip(model.params, start)]))
    return {"path": np.array(path), "zeroed": zeroed, "in_place": in_place, "grads_kept": grads_kept}


def _fmt(kwargs):
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


@dataclass(frozen=True)
class Run:
    """One trajectory: constructor arguments, and optionally a learning-rate schedule and silent gradients."""
    kwargs: dict
    schedule: tuple = None
    silent: tuple = ()

    def describe(self, title):
        what = f"{title}({_fmt(self.kwargs) or 'параметры по умолчанию'})"
        if self.schedule is not None:
            what += (f", learning_rate меняется перед каждым шагом: {', '.join(map(str, self.schedule))} "
                     f"(step() должен читать self.learning_rate при каждом вызове)")
        for step, k in self.silent:
            what += (f", на шаге {step + 1} градиент параметра {k + 1} весь нулевой "
                     f"(как в torch, скорость и моменты всё равно сдвигают его)")
        return what


def make_unit(title, reference, runs, hint):
    def run(cls, inputs):
        out = {}
        for i, settings in enumerate(runs):
            for key, value in _trajectory(title, cls, inputs, settings.kwargs, settings.schedule,
                                          settings.silent).items():
                out[f"{key}_{i}"] = value
        return out

    def compare(inputs, got, want):
        for i, settings in enumerate(runs):
            what = settings.describe(title)
            if not got[f"zeroed_{i}"]:
                raise CheckFailure(f"{what}: zero_grad() должен обнулять градиенты модели (model.zero_grad())")
            if not got[f"in_place_{i}"]:
                raise CheckFailure(f"{what}: step() должен менять параметры на месте (p -= ...), "
                                   f"а не создавать новые массивы — модель их не увидит")
            if not got[f"grads_kept_{i}"]:
                raise CheckFailure(f"{what}: step() изменил градиенты модели — оптимизатор их только читает, "
                                   f"обнуляет их zero_grad()")
            path, expected = got[f"path_{i}"], want[f"path_{i}"]
            for step in range(STEPS):
                try:
                    close(f"{what}: изменение параметров после шага {step + 1}", path[step], expected[step],
                          rtol=1e-6, atol=1e-9)
                except CheckFailure as failure:
                    raise CheckFailure(f"{failure} {hint}") from None

    return Unit(title, reference, make_inputs, run, compare)


# A schedule as 08's cosine one changes it between steps; the first value is the constructor's.
SCHEDULE = (0.05, 0.05, 0.02, 0.1, 0.01, 0.05, 0.03)
SILENT = ((2, 0), (3, 0), (4, 2))

SGD = make_unit("SGD", "optim.SGD", [
    Run({}),
    Run({"learning_rate": 0.1}),
    Run({"learning_rate": 0.05, "momentum": 0.9}),
    Run({"learning_rate": 0.05, "momentum": 0.9}, schedule=SCHEDULE),
    Run({"learning_rate": 0.05, "momentum": 0.9}, silent=SILENT),
], "(SGD: v = momentum·v + grad, на первом шаге v = grad; p -= learning_rate·v.)")

ADAM = make_unit("Adam", "optim.Adam", [
    Run({}),
    Run({"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    Run({"learning_rate": 0.05, "beta1": 0.45, "beta2": 0.4}, schedule=SCHEDULE),
    Run({"learning_rate": 0.01}, silent=SILENT),
], "(Adam: счётчик шагов t растёт на 1 за вызов step(); m̂ = m/(1-β1^t), v̂ = v/(1-β2^t); "
   "p -= lr·m̂/(sqrt(v̂) + eps) — eps вне корня.)")

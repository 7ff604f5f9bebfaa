"""Check for BatchNorm (torch.nn.BatchNorm1d semantics)."""
import numpy as np

from .core import (CheckFailure, Unit, as_array, as_list, call, check_numeric, compare_results, layer_contract,
                   numeric_gradient, raised)

TITLE = "BatchNorm"
F = 6
LABELS = {
    "init": "начальные gamma=1, beta=0, running_mean=0, running_var=1",
    "train_y": "forward в режиме обучения (нормировка по статистикам батча, смещённая дисперсия)",
    "running_mean": "running_mean после трёх батчей: running = (1 - momentum)·running + momentum·batch_mean",
    "running_var": "running_var после трёх батчей: в него идёт НЕсмещённая дисперсия батча (делим на N - 1)",
    "grad_input": "backward в режиме обучения: градиент по входу",
    "grad_gamma": "grad_gamma",
    "grad_beta": "grad_beta",
    "grad_gamma_acc": "grad_gamma после двух backward (градиенты должны накапливаться, +=)",
    "grad_beta_acc": "grad_beta после двух backward (градиенты должны накапливаться, +=)",
    "held_grads_acc": "массивы из gradients(), полученные ДО backward, после двух backward: оптимизатор держит именно "
                      "их — прибавляйте на месте (grad += ...), а не создавайте новый массив (grad = grad + ...)",
    "zero_grad": "zero_grad() должен обнулить grad_gamma и grad_beta на месте",
    "parameters": "parameters() должен вернуть [gamma, beta], gradients() — [grad_gamma, grad_beta]",
    "eval_y": "forward в режиме eval (нормировка по running_mean и running_var)",
    "eval_running": "forward в режиме eval не должен менять running_mean и running_var",
    "eval_grad_input": "backward в режиме eval (статистики — константы, градиент = grad·gamma / sqrt(running_var + eps))",
    "eval_grad_gamma": "grad_gamma в режиме eval",
    "single_eval_y": "forward в режиме eval на батче из одного примера",
    "custom_y": "forward при eps=0.1 и momentum=0.5",
    "custom_running": "скользящие средние running_mean и running_var при momentum=0.5",
    "pair_y": "forward в режиме обучения на батче из двух примеров (N = 2 уже можно нормировать)",
    "single_train_error": "forward в режиме обучения на батче из одного примера должен бросать ValueError",
}


def make_inputs(rng):
    center, spread = rng.normal(0, 3, size=F), rng.uniform(0.5, 3, size=F)
    batches = [center + spread * rng.normal(size=(n, F)) for n in (8, 5, 8)]
    return {
        "gamma": rng.uniform(0.5, 2, size=F), "beta": rng.normal(size=F),
        "b0": batches[0], "b1": batches[1], "b2": batches[2],
        "grad": rng.normal(size=(8, F)), "grad2": rng.normal(size=(8, F)),
        "xe": center + spread * rng.normal(size=(5, F)), "grad_e": rng.normal(size=(5, F)),
        "small": rng.normal(size=(4, 3)) * 2 + 1, "small_grad": rng.normal(size=(4, 3)),
    }


def _set(layer, name, value):
    array = getattr(layer, name, None)
    if not isinstance(array, np.ndarray) or array.shape != value.shape:
        raise CheckFailure(f"{TITLE}: атрибут {name} должен быть массивом формы {value.shape}")
    array[...] = value


def _vec(layer, *names):
    return np.concatenate([as_array(f"{TITLE}.{n}", getattr(layer, n, None), (layer_size(layer),)) for n in names])


def layer_size(layer):
    return np.shape(getattr(layer, "gamma", np.zeros(0)))[0]


def _forward(layer, x, what="forward"):
    return as_array(f"{TITLE}.{what}", call(f"{TITLE}.{what}", layer.forward, x.copy()), x.shape)


def _backward(layer, g, what="backward"):
    return as_array(f"{TITLE}.{what}", call(f"{TITLE}.{what}", layer.backward, g.copy()), g.shape)


def run(cls, inputs):
    out = {}
    bn = call(f"{TITLE}({F})", cls, F)
    out["init"] = _vec(bn, "gamma", "beta", "running_mean", "running_var")
    _set(bn, "gamma", inputs["gamma"])
    _set(bn, "beta", inputs["beta"])
    held_early = as_list(f"{TITLE}.gradients()", call(f"{TITLE}.gradients", bn.gradients))  # as an optimizer holds them
    call(f"{TITLE}.train", bn.train)
    for key in ("b0", "b1"):
        _forward(bn, inputs[key])
    out["train_y"] = _forward(bn, inputs["b2"])
    out["running_mean"], out["running_var"] = _vec(bn, "running_mean"), _vec(bn, "running_var")
    out["grad_input"] = _backward(bn, inputs["grad"])
    out["grad_gamma"], out["grad_beta"] = _vec(bn, "grad_gamma"), _vec(bn, "grad_beta")
    _backward(bn, inputs["grad2"])
    out["grad_gamma_acc"], out["grad_beta_acc"] = _vec(bn, "grad_gamma"), _vec(bn, "grad_beta")
    out["held_grads_acc"] = np.concatenate([as_array(f"{TITLE}.gradients()", g).ravel() for g in held_early])
    params = as_list(f"{TITLE}.parameters()", call(f"{TITLE}.parameters", bn.parameters))
    grads = as_list(f"{TITLE}.gradients()", call(f"{TITLE}.gradients", bn.gradients))
    held = [bn.grad_gamma, bn.grad_beta]
    out["parameters"] = (len(params) == 2 and params[0] is bn.gamma and params[1] is bn.beta
                         and len(grads) == 2 and grads[0] is held[0] and grads[1] is held[1])
    call(f"{TITLE}.zero_grad", bn.zero_grad)
    out["zero_grad"] = np.concatenate([np.ravel(held[0]), np.ravel(held[1]),
                                       np.ravel(bn.grad_gamma), np.ravel(bn.grad_beta)]).astype(float)

    call(f"{TITLE}.eval", bn.eval)
    before = _vec(bn, "running_mean", "running_var")
    out["eval_y"] = _forward(bn, inputs["xe"], "forward в режиме eval")
    out["eval_running"] = _vec(bn, "running_mean", "running_var") - before
    out["eval_grad_input"] = _backward(bn, inputs["grad_e"], "backward в режиме eval")
    out["eval_grad_gamma"] = _vec(bn, "grad_gamma")
    out["single_eval_y"] = _forward(bn, inputs["xe"][:1], "forward в режиме eval")

    out.update(layer_contract(TITLE, lambda: call(f"{TITLE}({F})", cls, F), inputs["b0"], inputs["grad"]))

    custom = call(f"{TITLE}({F}, eps=0.1, momentum=0.5)", cls, F, eps=0.1, momentum=0.5)
    out["custom_y"] = _forward(custom, inputs["b1"])
    out["custom_running"] = _vec(custom, "running_mean", "running_var")
    out["pair_y"] = _forward(call(f"{TITLE}({F})", cls, F), inputs["b0"][:2])
    fresh = call(f"{TITLE}({F})", cls, F)
    out["single_train_error"] = raised(fresh.forward, inputs["b0"][:1].copy())

    # Second oracle, in both modes.
    for mode in ("train", "eval"):
        small = call(f"{TITLE}(3)", cls, 3)
        x, g = inputs["small"].copy(), inputs["small_grad"]
        if mode == "eval":
            _set(small, "running_mean", np.array([0.5, -1.0, 2.0]))
            _set(small, "running_var", np.array([2.0, 0.5, 3.0]))
            call(f"{TITLE}.eval", small.eval)
        where = "в режиме обучения" if mode == "train" else "в режиме eval"
        _forward(small, x, f"forward {where}")
        out[f"analytic_{mode}"] = _backward(small, g, f"backward {where}")
        out[f"numeric_{mode}"] = numeric_gradient(lambda: float(np.sum(g * _forward(small, x, f"forward {where}"))), x)
    return out


def compare(inputs, got, want):
    if got["single_train_error"] != "ValueError":
        found = got["single_train_error"] or "ничего не было брошено"
        raise CheckFailure(f"{TITLE}: {LABELS['single_train_error']} — по одному примеру нельзя оценить "
                           f"дисперсию (получено: {found})")
    compare_results(LABELS, got, want, title=TITLE,
                    skip=("single_train_error", "analytic_train", "numeric_train", "analytic_eval", "numeric_eval"))
    check_numeric(f"{TITLE}: backward в режиме обучения", got["analytic_train"], got["numeric_train"])
    check_numeric(f"{TITLE}: backward в режиме eval", got["analytic_eval"], got["numeric_eval"])


BATCHNORM = Unit(TITLE, "batchnorm.BatchNorm", make_inputs, run, compare, LABELS)

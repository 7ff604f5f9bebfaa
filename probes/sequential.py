"""Check for Sequential, driven with logging stand-in layers."""
import numpy as np

from .core import RULES, Unit, as_array, as_list, call, check_numeric, compare_results, numeric_gradient
from .fixtures import Scale, Square

TITLE = "Sequential"
LABELS = {
    "forward": "forward: слои должны применяться по порядку",
    "backward": "backward: градиент по входу",
    "param_grads": "градиенты параметров внутренних слоёв после backward",
    "call_order": "порядок вызовов: forward слоёв от первого к последнему, backward — в обратном порядке",
    "parameters": "parameters(): параметры всех слоёв подряд, в порядке слоёв, сами массивы",
    "gradients": "gradients(): градиенты всех слоёв, выровненные с parameters()",
    "eval_flags": "eval() должен перевести в режим инференса сам контейнер и все вложенные слои",
    "train_flags": "train() должен вернуть режим обучения контейнеру и всем вложенным слоям",
    "zero_grad": "zero_grad() должен обнулить градиенты всех слоёв",
    "len": "len(model) — число слоёв",
    "getitem": "model[i] должен вернуть i-й слой",
    "add": "add(layer) должен добавить слой в конец",
    "empty_forward": "пустой Sequential() должен возвращать вход без изменений",
}

RULES.update({
    "lists": "parameters() и gradients() должны возвращать списки (list), а не генераторы или кортежи",
    "zero_grad_in_place": "zero_grad() заменил массивы градиентов новыми: обнуляйте на месте, оптимизатор держит "
                          "ссылки на старые",
})


def make_inputs(rng):
    return {"a1": rng.normal(size=4), "a2": rng.normal(size=4), "a3": rng.normal(size=4),
            "x": rng.normal(size=(6, 4)), "grad": rng.normal(size=(6, 4))}


def _model(cls, inputs, log):
    first = Scale(inputs["a1"], log, "L0")
    inner = call(f"{TITLE}(...)", cls, Square(log, "L1"), Scale(inputs["a2"], log, "L2"))
    return call(f"{TITLE}(...)", cls, first, inner, Scale(inputs["a3"], log, "L3")), inner


def _layers(model, inner):
    return [model.layers[0], inner.layers[0], inner.layers[1], model.layers[2]]


def _flags(model, inner):
    return str([model.training, inner.training] + [layer.training for layer in _layers(model, inner)])


def run(cls, inputs):
    out, log = {}, []
    model, inner = _model(cls, inputs, log)
    leaves = _layers(model, inner)
    x, grad = inputs["x"].copy(), inputs["grad"].copy()
    out["forward"] = as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", model.forward, x), (6, 4))
    out["x_untouched"] = bool(np.array_equal(x, inputs["x"]))
    out["backward"] = as_array(f"{TITLE}.backward", call(f"{TITLE}.backward", model.backward, grad), (6, 4))
    out["grad_untouched"] = bool(np.array_equal(grad, inputs["grad"]))
    out["call_order"] = ", ".join(log)
    out["param_grads"] = np.concatenate([leaf.grad_a for leaf in leaves])

    out["lists"] = True
    for method in ("parameters", "gradients"):
        returned = call(f"{TITLE}.{method}", getattr(model, method))
        out["lists"] &= isinstance(returned, list)
        listed = as_list(f"{TITLE}.{method}()", returned)
        expected = [a for leaf in leaves for a in getattr(leaf, method)()]
        out[method] = len(listed) == len(expected) and all(a is b for a, b in zip(listed, expected))

    held = [leaf.grad_a for leaf in leaves]
    call(f"{TITLE}.zero_grad", model.zero_grad)
    out["zero_grad_in_place"] = all(a is leaf.grad_a for a, leaf in zip(held, leaves))
    out["zero_grad"] = np.concatenate([leaf.grad_a for leaf in leaves])
    call(f"{TITLE}.eval", model.eval)
    out["eval_flags"] = _flags(model, inner)
    call(f"{TITLE}.train", model.train)
    out["train_flags"] = _flags(model, inner)

    out["len"] = call(f"len({TITLE})", len, model)
    out["getitem"] = call(f"{TITLE}[i]", lambda: model[1] is inner and model[-1] is leaves[-1])
    grown = call(f"{TITLE}()", cls)
    out["empty_forward"] = as_array(f"{TITLE}().forward", call(f"{TITLE}().forward", grown.forward,
                                                               inputs["x"].copy()), (6, 4))
    extra = Square([], "extra")
    call(f"{TITLE}.add", grown.add, extra)
    out["add"] = call(f"{TITLE}.add", lambda: len(grown) == 1 and grown[0] is extra)

    # Second oracle: the chain rule as the container applies it, against differences.
    model, _ = _model(cls, inputs, [])
    x, g = inputs["x"][:3].copy(), inputs["grad"][:3]
    call(f"{TITLE}.forward", model.forward, x)
    out["analytic"] = as_array(f"{TITLE}.backward", call(f"{TITLE}.backward", model.backward, g.copy()))
    out["numeric"] = numeric_gradient(
        lambda: float(np.sum(g * as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", model.forward, x)))), x)
    return out


def compare(inputs, got, want):
    compare_results(LABELS, got, want, title=TITLE, skip=("analytic", "numeric"))
    check_numeric(f"{TITLE}: backward", got["analytic"], got["numeric"])


SEQUENTIAL = Unit(TITLE, "sequential.Sequential", make_inputs, run, compare, LABELS)

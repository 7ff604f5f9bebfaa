"""Check for Linear."""
import numpy as np

from .core import (CheckFailure, Unit, as_array, as_list, call, check_numeric, close, compare_results, layer_contract,
                   numeric_gradient)

TITLE = "Linear"
IN, OUT = 5, 3
LABELS = {
    "weight_shape": "форма weight у Linear(5, 3)", "bias_shape": "форма bias у Linear(5, 3)",
    "bias_init": "начальное значение bias (должны быть нули)",
    "grad_init": "начальные grad_weight и grad_bias (должны быть нули)",
    "forward": "forward(x) при заданных weight и bias",
    "grad_input": "backward: градиент по входу",
    "grad_weight": "grad_weight после одного backward",
    "grad_bias": "grad_bias после одного backward",
    "grad_weight_acc": "grad_weight после двух backward (градиенты должны накапливаться, +=)",
    "grad_bias_acc": "grad_bias после двух backward (градиенты должны накапливаться, +=)",
    "zero_grad_values": "zero_grad() должен обнулить grad_weight и grad_bias",
    "zero_grad_in_place": "zero_grad() должен обнулять градиенты на месте (grad.fill(0)), а не создавать "
                          "новые массивы: оптимизатор хранит ссылки на старые",
    "parameters": "parameters() должен вернуть [weight, bias] — сами массивы, не копии",
    "gradients": "gradients() должен вернуть [grad_weight, grad_bias] в том же порядке, что parameters()",
    "held_grads_acc": "массивы из gradients(), полученные ДО backward, после двух backward: оптимизатор держит именно "
                      "их — прибавляйте на месте (grad += ...), а не создавайте новый массив (grad = grad + ...)",
    "single_forward": "forward на батче из одного примера",
    "single_grad_input": "backward на батче из одного примера",
    "nobias_is_none": "Linear(..., bias=False): bias должен быть None",
    "nobias_forward": "forward без bias",
    "nobias_grad_weight": "grad_weight без bias",
    "nobias_parameters": "parameters() без bias должен вернуть [weight]",
    "nobias_gradients": "gradients() без bias должен вернуть [grad_weight]",
}
INIT_IN, INIT_OUT = 400, 300


def make_inputs(rng):
    return {
        "weight": rng.normal(size=(IN, OUT)), "bias": rng.normal(size=OUT),
        "x": rng.normal(size=(7, IN)), "grad": rng.normal(size=(7, OUT)),
        "x2": rng.normal(size=(4, IN)), "grad2": rng.normal(size=(4, OUT)),
        "x1": rng.normal(size=(1, IN)), "grad1": rng.normal(size=(1, OUT)),
    }


def _set(layer, name, value):
    array = getattr(layer, name, None)
    if not isinstance(array, np.ndarray) or array.shape != value.shape:
        raise CheckFailure(f"{TITLE}: атрибут {name} должен быть массивом формы {value.shape}, "
                           f"а он {type(array).__name__} {getattr(array, 'shape', '')}")
    array[...] = value  # in place, so references the student keeps stay valid


def _same_arrays(listed, expected):
    return len(listed) == len(expected) and all(a is b for a, b in zip(listed, expected))


def run(cls, inputs):
    out = {}
    layer = call(f"{TITLE}({IN}, {OUT})", cls, IN, OUT)
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    out["weight_shape"] = str(np.shape(weight))
    out["bias_shape"] = str(np.shape(bias))
    out["bias_init"] = as_array(f"{TITLE}.bias", bias, (OUT,))
    out["grad_init"] = np.concatenate([
        as_array(f"{TITLE}.grad_weight", getattr(layer, "grad_weight", None), (IN, OUT)).ravel(),
        as_array(f"{TITLE}.grad_bias", getattr(layer, "grad_bias", None), (OUT,))])
    _set(layer, "weight", inputs["weight"])
    _set(layer, "bias", inputs["bias"])
    # Taken before any backward, as an optimizer takes them once: backward must add into these very arrays.
    held_early = as_list(f"{TITLE}.gradients()", call(f"{TITLE}.gradients", layer.gradients))

    out["forward"] = as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", layer.forward, inputs["x"].copy()), (7, OUT))
    out["grad_input"] = as_array(f"{TITLE}.backward",
                                 call(f"{TITLE}.backward", layer.backward, inputs["grad"].copy()), (7, IN))
    out["grad_weight"] = as_array(f"{TITLE}.grad_weight", layer.grad_weight, (IN, OUT))
    out["grad_bias"] = as_array(f"{TITLE}.grad_bias", layer.grad_bias, (OUT,))
    call(f"{TITLE}.forward", layer.forward, inputs["x2"].copy())
    call(f"{TITLE}.backward", layer.backward, inputs["grad2"].copy())
    out["grad_weight_acc"] = as_array(f"{TITLE}.grad_weight", layer.grad_weight, (IN, OUT))
    out["grad_bias_acc"] = as_array(f"{TITLE}.grad_bias", layer.grad_bias, (OUT,))

    params = as_list(f"{TITLE}.parameters()", call(f"{TITLE}.parameters", layer.parameters))
    grads = as_list(f"{TITLE}.gradients()", call(f"{TITLE}.gradients", layer.gradients))
    out["parameters"] = _same_arrays(params, [layer.weight, layer.bias])
    out["gradients"] = _same_arrays(grads, [layer.grad_weight, layer.grad_bias])
    out["held_grads_acc"] = np.concatenate([as_array(f"{TITLE}.gradients()", g).ravel() for g in held_early])
    held = [layer.grad_weight, layer.grad_bias]
    call(f"{TITLE}.zero_grad", layer.zero_grad)
    out["zero_grad_in_place"] = held[0] is layer.grad_weight and held[1] is layer.grad_bias
    out["zero_grad_values"] = np.concatenate([np.ravel(held[0]), np.ravel(held[1])]).astype(float)

    out["single_forward"] = as_array(f"{TITLE}.forward",
                                     call(f"{TITLE}.forward", layer.forward, inputs["x1"].copy()), (1, OUT))
    out["single_grad_input"] = as_array(f"{TITLE}.backward",
                                        call(f"{TITLE}.backward", layer.backward, inputs["grad1"].copy()), (1, IN))

    # Second oracle, on the weight as well as the input.
    layer.zero_grad()
    x, g = inputs["x2"].copy(), inputs["grad2"]
    loss = lambda: float(np.sum(g * as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", layer.forward, x))))  # noqa: E731
    call(f"{TITLE}.forward", layer.forward, x)
    out["analytic_x"] = as_array(f"{TITLE}.backward", call(f"{TITLE}.backward", layer.backward, g.copy()))
    out["analytic_w"] = as_array(f"{TITLE}.grad_weight", layer.grad_weight)
    out["numeric_x"] = numeric_gradient(loss, x)
    out["numeric_w"] = numeric_gradient(loss, layer.weight)

    plain = call(f"{TITLE}({IN}, {OUT}, bias=False)", cls, IN, OUT, bias=False)
    out["nobias_is_none"] = getattr(plain, "bias", "нет атрибута") is None
    _set(plain, "weight", inputs["weight"])
    out["nobias_forward"] = as_array(f"{TITLE}.forward без bias",
                                     call(f"{TITLE}.forward", plain.forward, inputs["x"].copy()), (7, OUT))
    call(f"{TITLE}.backward без bias", plain.backward, inputs["grad"].copy())
    out["nobias_grad_weight"] = as_array(f"{TITLE}.grad_weight", plain.grad_weight, (IN, OUT))
    out["nobias_parameters"] = _same_arrays(
        as_list(f"{TITLE}.parameters()", call(f"{TITLE}.parameters", plain.parameters)), [plain.weight])
    out["nobias_gradients"] = _same_arrays(
        as_list(f"{TITLE}.gradients()", call(f"{TITLE}.gradients", plain.gradients)), [plain.grad_weight])

    out.update(layer_contract(TITLE, lambda: call(f"{TITLE}({IN}, {OUT})", cls, IN, OUT), inputs["x"], inputs["grad"]))

    # He-normal initialisation, judged by its statistics: the draws themselves are random.
    big = call(f"{TITLE}({INIT_IN}, {INIT_OUT})", cls, INIT_IN, INIT_OUT)
    w = as_array(f"{TITLE}.weight", big.weight, (INIT_IN, INIT_OUT))
    out["init_std"], out["init_mean"] = float(w.std()), float(w.mean())
    return out


def compare(inputs, got, want):
    close(f"{TITLE}: стандартное отклонение начальных весов Linear({INIT_IN}, {INIT_OUT}) "
          f"(инициализация He: sqrt(2 / input_size))", got["init_std"], np.sqrt(2 / INIT_IN), rtol=0.03)
    std_of_mean = np.sqrt(2 / INIT_IN / (INIT_IN * INIT_OUT))
    close(f"{TITLE}: среднее начальных весов (должно быть ≈ 0)", got["init_mean"], 0.0, atol=6 * std_of_mean)
    compare_results(LABELS, got, want, title=TITLE,
                    skip=("init_std", "init_mean", "analytic_x", "analytic_w", "numeric_x", "numeric_w"))
    check_numeric(f"{TITLE}: backward по входу", got["analytic_x"], got["numeric_x"])
    check_numeric(f"{TITLE}: grad_weight", got["analytic_w"], got["numeric_w"])


LINEAR = Unit(TITLE, "linear.Linear", make_inputs, run, compare, LABELS)

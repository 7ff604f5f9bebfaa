"""Checks for softmax, one_hot_encode, CrossEntropyLoss and MSELoss."""
import numpy as np

from .core import (BAD, CheckFailure, Unit, as_array, as_float, call, check_numeric, compare_errors, compare_results,
                   numeric_gradient, raised)

SOFTMAX_LABELS = {
    "random": "softmax на случайных логитах 6×5",
    "hard": "softmax на логитах до ±10000 (вычтите максимум строки перед exp)",
    "single": "softmax на одной строке (батч 1×4)",
    "row_sums": "суммы вероятностей по строкам (должны быть равны 1)",
    "x_untouched": "softmax изменил входной массив x: вычитайте максимум в новом массиве, данные вызывающего кода "
                   "не меняются",
}


def softmax_inputs(rng):
    hard = np.array([[1e4, -1e4, 0.0, 5e3], [-1e3, -1e3 + 1, -1e3 - 2, -1e4],
                     [7.0, 7.0, 7.0, 7.0], [1e3, 999.0, -1e3, 0.5]])
    return {"x": rng.normal(0, 3, size=(6, 5)), "hard": hard, "single": rng.normal(size=(1, 4))}


def softmax_run(fn, inputs):
    out = {}
    for key in ("x", "hard", "single"):
        x, given = inputs[key], inputs[key].copy()
        out["random" if key == "x" else key] = as_array("softmax", call("softmax(x)", fn, given), x.shape)
        out["x_untouched"] = out.get("x_untouched", True) and bool(np.array_equal(given, x))
    out["row_sums"] = out["random"].sum(axis=1)
    return out


ONE_HOT_LABELS = {
    "values": "one_hot_encode([0, 2, 1, 0, 4], 6)",
    "int32": "one_hot_encode для меток типа int32",
    "single": "one_hot_encode для одной метки, num_classes=3",
    "dtype": "тип результата (нужен float: единицы и нули как числа с плавающей точкой)",
}
BAD_LABELS = {  # name -> (labels, num_classes): each must raise ValueError
    "метка -1": ([0, -1, 2], 3),
    "метка 3 при num_classes=3": ([0, 3, 1], 3),
    "метка 5 при num_classes=3": ([0, 5, 1], 3),
    "дробные метки": ([0.0, 1.0, 2.0], 3),
    "двумерный массив меток": ([[0, 1], [2, 0]], 3),
    "нульмерный массив (одно число)": (2, 3),
}


def one_hot_inputs(rng):
    return {"labels": np.array([0, 2, 1, 0, 4]), "single": np.array([2])}


def one_hot_run(fn, inputs):
    labels = inputs["labels"]
    encoded = call("one_hot_encode(labels, 6)", fn, labels.copy(), 6)
    kind = np.asarray(encoded).dtype
    return {
        "dtype": "float" if np.issubdtype(kind, np.floating) else str(kind),
        "values": as_array("one_hot_encode", encoded, (5, 6)),
        "int32": as_array("one_hot_encode", call("one_hot_encode(labels, 6)", fn, labels.astype(np.int32), 6), (5, 6)),
        "single": as_array("one_hot_encode", call("one_hot_encode([2], 3)", fn, inputs["single"].copy(), 3), (1, 3)),
        **{BAD + name: raised(fn, np.array(bad), classes) for name, (bad, classes) in BAD_LABELS.items()},
    }


def _one_hot_compare(inputs, got, want):
    compare_errors("one_hot_encode", got, where="на неверных метках")
    compare_results(ONE_HOT_LABELS, got, want, title="one_hot_encode")


CE_LABELS = {
    "loss": "значение потерь на логитах 7×4 (среднее по батчу)",
    "grad": "backward(): градиент по логитам, (softmax - one_hot) / N",
    "call": "loss_fn(logits, target) должен давать то же, что forward",
    "hard_loss": "потери на логитах до ±1000 при уверенно неверных ответах (используйте log-sum-exp, "
                 "без log(p + 1e-15): такая «защита» обрезает потери)",
    "hard_grad": "градиент на логитах до ±1000",
    "single_loss": "потери для батча из одного примера",
    "single_grad": "градиент для батча из одного примера",
}


def ce_inputs(rng):
    hard = rng.normal(size=(5, 4))
    hard[np.arange(5), [0, 1, 2, 3, 0]] += np.array([1e3, 500, 800, 1e3, 300])
    return {"logits": rng.normal(0, 2, size=(7, 4)), "target": rng.integers(0, 4, size=7),
            "hard": hard, "hard_target": np.array([1, 1, 2, 0, 3]),  # mostly confidently wrong
            "single": rng.normal(size=(1, 4)), "single_target": np.array([3])}


def _loss_contract(title, cls, prediction, target, bad):
    """Side effects and the result's type: forward leaves its inputs alone and returns a float, backward can
    run twice with the same result; ``bad``: {what: (prediction, target)} that must raise ValueError."""
    loss_fn, given, given_target = call(f"{title}()", cls), prediction.copy(), target.copy()
    loss = call(f"{title}.forward", loss_fn.forward, given, given_target)
    first = as_array(f"{title}.backward", call(f"{title}.backward", loss_fn.backward), prediction.shape)
    second = as_array(f"{title}.backward", call(f"{title}.backward", loss_fn.backward), prediction.shape)
    return {"prediction_untouched": bool(np.array_equal(given, prediction)),
            "target_untouched": bool(np.array_equal(given_target, target)),
            "loss_type": "float" if isinstance(loss, float) else type(loss).__name__,
            "backward_repeatable": bool(np.allclose(second, first, rtol=1e-12, atol=0)),
            **{BAD + what: raised(call(f"{title}()", cls).forward, *args) for what, args in bad.items()}}


def _loss_case(title, cls, logits, target):
    loss_fn = call(f"{title}()", cls)
    loss = as_float(f"{title}.forward", call(f"{title}.forward", loss_fn.forward, logits.copy(), target.copy()))
    grad = as_array(f"{title}.backward", call(f"{title}.backward", loss_fn.backward), logits.shape)
    return loss, grad, loss_fn


def ce_run(cls, inputs):
    out = {}
    out["loss"], out["grad"], loss_fn = _loss_case("CrossEntropyLoss", cls, inputs["logits"], inputs["target"])
    out["call"] = as_float("CrossEntropyLoss(...)", call("CrossEntropyLoss(...)", loss_fn,
                                                         inputs["logits"].copy(), inputs["target"].copy()))
    out["hard_loss"], out["hard_grad"], _ = _loss_case("CrossEntropyLoss", cls, inputs["hard"], inputs["hard_target"])
    out["single_loss"], out["single_grad"], _ = _loss_case("CrossEntropyLoss", cls, inputs["single"],
                                                           inputs["single_target"])
    out["analytic"], out["numeric"] = _numeric_case("CrossEntropyLoss", cls, inputs["logits"][:3], inputs["target"][:3])
    logits, target = inputs["logits"], inputs["target"]
    out.update(_loss_contract("CrossEntropyLoss", cls, logits, target, {
        "target формы (N, C), one-hot, а нужны номера классов (N,)": (logits, np.eye(4, dtype=np.int64)[target]),
        "target короче батча logits": (logits, target[:-1]),
        "одномерные logits": (logits[:, 0], target),
        "трёхмерные logits": (logits[:, :, None] * np.ones(2), target)}))
    return out


def _numeric_case(title, cls, prediction, target):
    loss_fn, x = call(f"{title}()", cls), prediction.copy()
    call(f"{title}.forward", loss_fn.forward, x, target)
    analytic = as_array(f"{title}.backward", call(f"{title}.backward", loss_fn.backward), x.shape)
    numeric = numeric_gradient(lambda: as_float(title, call(f"{title}.forward", loss_fn.forward, x, target)), x)
    return analytic, numeric


MSE_LABELS = {
    "loss": "значение MSE на массиве 5×3 (среднее по ВСЕМ элементам)",
    "grad": "backward(): 2·(pred - target) / (число всех элементов)",
    "call": "loss_fn(pred, target) должен давать то же, что forward",
    "flat_loss": "MSE на векторе из 7 элементов",
    "flat_grad": "градиент MSE на векторе из 7 элементов",
}


def mse_inputs(rng):
    return {"pred": rng.normal(size=(5, 3)), "target": rng.normal(size=(5, 3)),
            "flat_pred": rng.normal(size=7), "flat_target": rng.normal(size=7)}


def mse_run(cls, inputs):
    out = {}
    out["loss"], out["grad"], loss_fn = _loss_case("MSELoss", cls, inputs["pred"], inputs["target"])
    out["call"] = as_float("MSELoss(...)", call("MSELoss(...)", loss_fn, inputs["pred"].copy(), inputs["target"].copy()))
    out["flat_loss"], out["flat_grad"], _ = _loss_case("MSELoss", cls, inputs["flat_pred"], inputs["flat_target"])
    out["analytic"], out["numeric"] = _numeric_case("MSELoss", cls, inputs["pred"], inputs["target"])
    column = inputs["pred"][:, :1]
    out.update(_loss_contract("MSELoss", cls, inputs["pred"], inputs["target"], {
        "prediction (5, 1) и target (5,): broadcasting молча сделал бы матрицу 5×5": (column, column[:, 0]),
        "prediction (5,) и target (5, 1)": (column[:, 0], column)}))
    return out


def _with_numeric(title, labels):
    def compare(inputs, got, want):
        compare_errors(title, got, where="forward на входах несовместимой формы")
        compare_results(labels, got, want, title=title, skip=("analytic", "numeric"))
        check_numeric(f"{title}: backward", got["analytic"], got["numeric"])
    return compare


def _softmax_compare(inputs, got, want):
    compare_results(SOFTMAX_LABELS, got, want, title="softmax")
    if (got["hard"] < 0).any():
        raise CheckFailure("softmax: вероятности не могут быть отрицательными")


SOFTMAX = Unit("softmax", "losses.softmax", softmax_inputs, softmax_run, _softmax_compare, SOFTMAX_LABELS)
ONE_HOT = Unit("one_hot_encode", "losses.one_hot_encode", one_hot_inputs, one_hot_run, _one_hot_compare,
               ONE_HOT_LABELS)
CROSS_ENTROPY = Unit("CrossEntropyLoss", "losses.CrossEntropyLoss", ce_inputs, ce_run,
                     _with_numeric("CrossEntropyLoss", CE_LABELS), CE_LABELS)
MSE = Unit("MSELoss", "losses.MSELoss", mse_inputs, mse_run, _with_numeric("MSELoss", MSE_LABELS), MSE_LABELS)

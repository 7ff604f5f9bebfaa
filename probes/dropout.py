"""Check for Dropout.  Masks are random, so the check is structural:
it recovers the mask from the student's own output and tests its properties."""
import numpy as np

from .core import CheckFailure, Unit, as_array, call, close, compare_rules, layer_contract

TITLE = "Dropout"
SHAPE = (200, 50)
RATES = (0.3, 0.75)


def make_inputs(rng):
    x = rng.normal(size=SHAPE)
    x[np.abs(x) < 0.1] = 0.5  # a zero input would hide whether it was dropped
    return {"x": x, "grad": rng.normal(size=SHAPE), "grad_b": rng.normal(size=SHAPE)}


def run(cls, inputs):
    out, x = {}, inputs["x"]
    for p in RATES:
        layer = call(f"{TITLE}({p})", cls, p)
        call(f"{TITLE}.train", layer.train)
        out[f"y_{p}"] = as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", layer.forward, x.copy()), SHAPE)
        out[f"dx_{p}"] = as_array(f"{TITLE}.backward", call(f"{TITLE}.backward", layer.backward,
                                                            inputs["grad"].copy()), SHAPE)
        out[f"y2_{p}"] = as_array(f"{TITLE}.forward", call(f"{TITLE}.forward", layer.forward, x.copy()), SHAPE)
        out[f"dx2_{p}"] = as_array(f"{TITLE}.backward", call(f"{TITLE}.backward", layer.backward,
                                                             inputs["grad_b"].copy()), SHAPE)
        call(f"{TITLE}.eval", layer.eval)
        out[f"eval_y_{p}"] = as_array(f"{TITLE}.forward в режиме eval",
                                      call(f"{TITLE}.forward", layer.forward, x.copy()), SHAPE)
        out[f"eval_dx_{p}"] = as_array(f"{TITLE}.backward в режиме eval",
                                       call(f"{TITLE}.backward", layer.backward, inputs["grad"].copy()), SHAPE)
    out.update(layer_contract(TITLE, lambda: call(f"{TITLE}({RATES[0]})", cls, RATES[0]), x[:20], inputs["grad"][:20]))
    default = call(f"{TITLE}()", cls)
    out["default_y"] = as_array(f"{TITLE}().forward", call(f"{TITLE}().forward", default.forward, x.copy()), SHAPE)
    zero = call(f"{TITLE}(0.0)", cls, 0.0)
    out["zero_y"] = as_array(f"{TITLE}(0.0).forward", call(f"{TITLE}.forward", zero.forward, x.copy()), SHAPE)
    out["zero_dx"] = as_array(f"{TITLE}(0.0).backward",
                              call(f"{TITLE}.backward", zero.backward, inputs["grad"].copy()), SHAPE)
    return out


def _mask(what, y, x, p):
    """y / x; every entry must be 0 (dropped) or 1 / (1 - p) (kept and rescaled)."""
    ratio = y / x
    kept = np.abs(ratio) > 0.5 / (1 - p) if p < 1 else np.zeros_like(ratio, bool)
    close(f"{TITLE}({p}): {what} — каждый выход должен быть либо 0, либо x / (1 - p) = x·{1 / (1 - p):.4g} "
          f"(обратный dropout: выжившие нейроны масштабируются при обучении)", ratio, kept / (1 - p))
    return kept


def _drop_rate(what, kept, p):
    rate = 1 - kept.mean()
    tolerance = 6 * np.sqrt(p * (1 - p) / kept.size)
    if abs(rate - p) > tolerance:
        raise CheckFailure(f"{TITLE}({p}): {what}: обнулено {rate:.1%} элементов, а ожидалось ≈{p:.0%} "
                           f"(p — вероятность ВЫКЛЮЧИТЬ нейрон)")


def compare(inputs, got, want):
    compare_rules({}, got, want, TITLE)
    x = inputs["x"]
    for p in RATES:
        kept = _mask("forward", got[f"y_{p}"], x, p)
        _drop_rate("forward", kept, p)
        if len({row.tobytes() for row in kept}) < 2 or len({col.tobytes() for col in kept.T}) < 2:
            raise CheckFailure(f"{TITLE}({p}): маска одинакова для всех строк или столбцов — "
                               f"она должна выбираться независимо для каждого элемента")
        close(f"{TITLE}({p}): backward должен умножать градиент на ту же маску, что и forward",
              got[f"dx_{p}"], inputs["grad"] * kept / (1 - p))
        kept2 = _mask("повторный forward", got[f"y2_{p}"], x, p)
        if np.array_equal(kept, kept2):
            raise CheckFailure(f"{TITLE}({p}): два вызова forward дали одну и ту же маску — "
                               f"маска должна генерироваться заново при каждом forward")
        close(f"{TITLE}({p}): backward после второго forward должен использовать маску второго forward",
              got[f"dx2_{p}"], inputs["grad_b"] * kept2 / (1 - p))
        close(f"{TITLE}({p}): в режиме eval forward должен возвращать вход без изменений",
              got[f"eval_y_{p}"], x, rtol=0, atol=0)
        close(f"{TITLE}({p}): в режиме eval backward должен возвращать градиент без изменений",
              got[f"eval_dx_{p}"], inputs["grad"], rtol=0, atol=0)
    _drop_rate("Dropout() по умолчанию", _mask("Dropout() по умолчанию", got["default_y"], x, 0.5), 0.5)
    close(f"{TITLE}(0.0): при p = 0 forward должен быть тождественным", got["zero_y"], x, rtol=0, atol=0)
    close(f"{TITLE}(0.0): при p = 0 backward должен быть тождественным", got["zero_dx"], inputs["grad"],
          rtol=0, atol=0)


DROPOUT = Unit(TITLE, "dropout.Dropout", make_inputs, run, compare)

"""The machinery every check shares; answer-free (no reference code here).

A check is a ``Unit`` split in three, so the same definition grades in the
notebook kernel (``solutions.checks``) and out of it (the audit, whose jail
holds this package but never the reference):

* ``make_inputs(rng)`` -> dict of arrays: seeded, independent of any student;
* ``run(impl, inputs)`` -> dict of plain data (arrays, floats, bools, strings):
  drives one implementation, the student's or the reference (a tuple of
  objects when the check takes several, e.g. train_epoch and evaluate);
* ``compare(inputs, got, want)`` raises ``CheckFailure`` with a short Russian
  message naming what is wrong and by how much.
"""
import contextlib
import os
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

SEED = 20241127
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class CheckFailure(AssertionError):
    """A check found the student's code wrong; the message is for the student."""


@dataclass(frozen=True)
class Unit:
    title: str                      # how messages name the student's object
    reference: object               # the reference; in probes only its name in solutions, e.g. "activations.ReLU",
                                    # or a tuple of names when the check takes several objects
    make_inputs: Callable
    run: Callable
    compare: Callable
    labels: dict = field(default_factory=dict)  # result key -> what it is, in Russian

    @property
    def arity(self):
        """How many objects the check takes: ``check_<unit>(A)`` or ``check_<unit>(A, B)``."""
        return len(self.reference) if isinstance(self.reference, tuple) else 1


def run_probe(unit, impl, inputs, seed=SEED):
    """``unit.run`` on one implementation: global RNG seeded, numeric trouble raising,
    any exception turned into a CheckFailure that points at the student's line."""
    with sandboxed_numpy(seed):
        try:
            return unit.run(impl, inputs)
        except CheckFailure:
            raise
        except Exception as exc:  # e.g. a missing attribute the probe reads directly
            raise CheckFailure(f"{unit.title}: проверка прервалась — {type(exc).__name__}: {exc}"
                               f"{_student_location(exc)}") from None


@contextlib.contextmanager
def sandboxed_numpy(seed):
    """Same global RNG for student and reference; numeric trouble raises.

    NumPy overflow, division by zero and NaN raise; a RuntimeWarning is a
    numeric defect too.  Other warnings are silenced, not failed: a correct
    answer must not lose points to a stray warnings.warn.
    """
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", RuntimeWarning)
            yield
    finally:
        np.random.set_state(state)


def _student_location(exc):
    """The innermost traceback frame outside this package, as ' (строка N в ...)'."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    if not frames:
        return ""
    frame = frames[-1]
    where = "вашей ячейке" if frame.filename.startswith("<") or "ipykernel" in frame.filename \
        else os.path.basename(frame.filename)
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" (строка {frame.lineno} в {where}{code})"


def call(what, fn, *args, **kwargs):
    """Call student code; turn any exception into a readable CheckFailure."""
    try:
        return fn(*args, **kwargs)
    except CheckFailure:
        raise
    except NotImplementedError:
        raise CheckFailure(f"{what}: ещё не реализовано (NotImplementedError)") from None
    except FloatingPointError as exc:
        raise CheckFailure(f"{what}: численная ошибка — {exc}: переполнение, деление на ноль "
                           f"или NaN{_student_location(exc)}") from None
    except Warning as exc:
        raise CheckFailure(f"{what}: выдано предупреждение {type(exc).__name__}: {exc}"
                           f"{_student_location(exc)}") from None
    except Exception as exc:  # student code may raise anything
        raise CheckFailure(f"{what}: исключение {type(exc).__name__}: {exc}"
                           f"{_student_location(exc)}") from None


def raised(fn, *args, **kwargs):
    """Name of the exception ``fn`` raises, or '' if it returns normally.  A subclass of ValueError or TypeError
    (NumPy's AxisError, say) is named by the base class: that is the error the contract asks for."""
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        return "ValueError" if isinstance(exc, ValueError) else "TypeError"
    except Exception as exc:
        return type(exc).__name__
    return ""


BAD = "bad: "  # result keys of bad inputs: the name of the exception raised on each


def compare_errors(title, got, accepted=("ValueError",), where="на неверном входе"):
    """Every bad input (a result key starting with BAD) must have raised one of ``accepted``."""
    for key, found in got.items():
        if key.startswith(BAD) and found not in accepted:
            raise CheckFailure(f"{title}: {where} ({key[len(BAD):]}) нужна {' или '.join(accepted)}, "
                               f"а получено: {found or 'ничего'}")


def as_array(what, value, shape=None):
    """A float64 copy of a student's result, with its shape checked."""
    if value is None:
        raise CheckFailure(f"{what}: вернулось None — забыли return?")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CheckFailure(f"{what}: результат не приводится к массиву чисел ({exc})") from None
    if shape is not None and array.shape != tuple(shape):
        raise CheckFailure(f"{what}: форма {array.shape}, ожидалась {tuple(shape)}")
    return array


def as_float(what, value):
    if value is None:
        raise CheckFailure(f"{what}: вернулось None — забыли return?")
    try:
        number = float(np.asarray(value).item())
    except (TypeError, ValueError) as exc:
        raise CheckFailure(f"{what}: ожидалось одно число, получено {type(value).__name__} ({exc})") from None
    return number


def close(what, got, want, rtol=1e-5, atol=1e-6):
    """|got - want| <= atol * max(1, max|want|) + rtol * |want|, elementwise.

    The absolute part is relative to the array's scale, so float32 round-off
    passes while a wrong constant such as a clip at 0.999999 does not
    (probes make such errors visible with large upstream gradients).
    """
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise CheckFailure(f"{what}: форма {got.shape}, ожидалась {want.shape}")
    if want.size == 0:
        return
    bad = ~np.isfinite(got) & np.isfinite(want)
    if bad.any():
        index = np.unravel_index(np.argmax(bad), got.shape)
        raise CheckFailure(f"{what}: получено {got[index]} (NaN или бесконечность) в элементе {_fmt_index(index)}")
    scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))
    with np.errstate(invalid="ignore"):
        error = np.where(np.isfinite(want), np.abs(got - want), 0.0)
    excess = error - (atol * scale + rtol * np.abs(np.where(np.isfinite(want), want, 0.0)))
    if (excess > 0).any():
        index = np.unravel_index(np.argmax(excess), got.shape)
        if got.ndim == 0:
            raise CheckFailure(f"{what}: получено {float(got):.7g}, а должно быть {float(want):.7g}")
        raise CheckFailure(f"{what}: расхождение до {np.max(error):.3g}; например, в элементе "
                           f"{_fmt_index(index)} получено {got[index]:.7g}, а должно быть {want[index]:.7g}")


def _fmt_index(index):
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def as_list(what, value):
    """parameters() and gradients() must return a list (a generator is used up by one pass)."""
    if not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{what} должен возвращать список массивов, а вернул {type(value).__name__}")
    return list(value)


# The API contract's rules (a result key -> what breaking it means), checked before any value, so the
# message names the rule; a unit's own labels may word a rule for its object (softmax has no "forward").
RULES = {
    "x_untouched": "forward изменил входной массив x: слой не должен менять данные вызывающего кода",
    "grad_untouched": "backward изменил входной массив grad_output: градиент сверху принадлежит вызывающему коду, "
                      "считайте результат в новом массиве",
    "output_kept": "backward изменил массив, который вернул forward: выход слоя уже принадлежит вызывающему коду, "
                   "не меняйте кэш на месте",
    "backward_repeatable": "второй backward с тем же кэшем дал другой градиент: backward не должен портить кэш forward",
    "dtype_forward": "forward на входе float32 вернул {got}: тип входа сохраняется (float32 на входе — float32 на выходе)",
    "dtype_backward": "backward на grad_output типа float32 вернул {got}: градиент сохраняет тип grad_output",
    "dtype64": "на входе float64 forward и backward вернули {got}: считайте в типе входа, без перехода к float32 "
               "(иначе теряется точность)",
    "prediction_untouched": "forward изменил входной массив предсказаний: функция потерь не должна менять данные "
                            "вызывающего кода",
    "target_untouched": "forward изменил массив target: функция потерь не должна менять данные вызывающего кода",
    "loss_type": "forward вернул {got}, а должен вернуть число float (например, float(...))",
}


def compare_rules(labels, got, want, title=""):
    """The contract's rules first: each broken one is named in its own words."""
    for key, expected in want.items():
        if key in RULES and got.get(key, "нет результата") != expected:
            message = labels.get(key, RULES[key]).format(got=got.get(key, "нет результата"))
            raise CheckFailure(f"{title}: {message}" if title else message)


def dtype_name(value):
    """The dtype of a returned array, or the type of whatever else came back."""
    return str(value.dtype) if isinstance(value, np.ndarray) else type(value).__name__


def layer_contract(title, make, x, grad):
    """Side effects and dtypes of one layer made by ``make()``, as flags and dtype names (``RULES``).

    PyTorch never mutates its inputs or its saved tensors: forward leaves x alone, backward leaves
    grad_output and the returned output alone and can run twice on the same cache with the same
    result; float32 and float64 inputs give results of their own type."""
    layer, x_given, grad_given = make(), x.copy(), grad.copy()
    returned = call(f"{title}.forward", layer.forward, x_given)
    output = as_array(f"{title}.forward", returned)  # a copy: what the caller got, as it was
    first = as_array(f"{title}.backward", call(f"{title}.backward", layer.backward, grad_given), x.shape)
    out = {"x_untouched": bool(np.array_equal(x_given, x)), "grad_untouched": bool(np.array_equal(grad_given, grad)),
           "output_kept": bool(np.array_equal(np.asarray(returned, dtype=np.float64), output))}
    second = as_array(f"{title}.backward", call(f"{title}.backward", layer.backward, grad.copy()), x.shape)
    out["backward_repeatable"] = bool(np.allclose(second, first, rtol=1e-12, atol=0))
    out["dtype64"] = f"{dtype_name(returned)} и {dtype_name(call(f'{title}.backward', layer.backward, grad.copy()))}"
    layer = make()
    out["dtype_forward"] = dtype_name(call(f"{title}.forward", layer.forward, x.astype(np.float32)))
    out["dtype_backward"] = dtype_name(call(f"{title}.backward", layer.backward, grad.astype(np.float32)))
    return out


def compare_results(labels, got, want, rtol=1e-5, atol=1e-6, title="", skip=()):
    """Compare every key of ``want``: the contract's rules first, then arrays and floats numerically,
    the rest exactly."""
    compare_rules(labels, got, want, title)
    for key, expected in want.items():
        if key in skip or key in RULES or key.startswith(BAD):
            continue
        what = f"{title}: {labels.get(key, key)}" if title else labels.get(key, key)
        if key not in got:
            raise CheckFailure(f"{what}: нет результата")
        actual = got[key]
        if isinstance(expected, (np.ndarray, float)) and not isinstance(expected, bool):
            close(what, actual, expected, rtol=rtol, atol=atol)
        elif actual != expected:
            raise CheckFailure(f"{what}: получено {actual!r}, ожидалось {expected!r}")


def numeric_gradient(f, x, eps=1e-3):
    """Central differences of the scalar f() with respect to the array x, in place."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        saved = x[index]
        x[index] = saved + eps
        plus = f()
        x[index] = saved - eps
        minus = f()
        x[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_numeric(what, analytic, numeric):
    """Second oracle; loose enough for float32 students, tight enough for dropped terms."""
    close(f"{what} (сверка с численным градиентом)", analytic, numeric, rtol=1e-3, atol=2e-3)

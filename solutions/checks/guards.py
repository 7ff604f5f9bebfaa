"""Guards the hidden tests run before trusting the kernel they share with student code.

They catch the plain attacks: handing in the reference (or an alias or a
subclass of it), importing the reference before the tests do, patching the
comparison functions or IPython's traceback display.  Code in the same
process can always defeat in-process guards; the real boundary is the
out-of-kernel audit (``course/trust/audit.py``), and the cheat scan flags the rest.
"""
import os
import sys
import types

import numpy as np

from probes.core import CheckFailure

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


def in_kernel():
    """True inside an IPython kernel, i.e. when grading a notebook (not in pytest)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _code_files(obj):
    """Files holding the code of a function, or of every method a class and its bases define."""
    objects = obj.__mro__ if isinstance(obj, type) else (obj,)
    for owner in objects:
        members = vars(owner).values() if isinstance(owner, type) else (owner,)
        for member in members:
            function = getattr(member, "__func__", member)
            code = getattr(function, "__code__", None)
            if code is not None:
                yield os.path.abspath(code.co_filename)


def _in_package(path):
    """Reference code: the package, minus its checks."""
    return path.startswith(PACKAGE_DIR + os.sep) and os.sep + "checks" + os.sep not in path


def verify_origin(title, student, reference):
    """The graded object is the student's own: not the reference, an alias or a subclass of it."""
    if student is reference:
        raise CheckFailure(f"{title}: передан эталон, а не ваша реализация")
    if isinstance(student, type) and isinstance(reference, type) and issubclass(student, reference):
        raise CheckFailure(f"{title}: класс унаследован от эталонного — нужна своя реализация")
    borrowed = sorted({os.path.basename(f) for f in _code_files(student) if _in_package(f)})
    if borrowed:
        raise CheckFailure(f"{title}: код взят из эталонного решения ({', '.join(borrowed)}) — "
                           f"нужна своя реализация")
    if in_kernel():
        module = getattr(student, "__module__", None)
        if module != "__main__":
            raise CheckFailure(f"{title}: объект должен быть определён в этом ноутбуке, "
                               f"а он взят из модуля {module!r}")


def _is_numpy_function(function):
    """A NumPy function or ufunc as shipped, not a replacement defined elsewhere."""
    if isinstance(function, np.ufunc):
        return True
    code = getattr(getattr(function, "__wrapped__", function), "__code__", None)
    if code is not None:
        return os.path.abspath(code.co_filename).startswith(NUMPY_DIR)
    return type(function).__module__ in ("numpy", "numpy._core._multiarray_umath", "builtins") \
        and getattr(function, "__module__", "numpy") == "numpy"


def verify_comparisons():
    """The functions the checks compare with must be NumPy's own and must still tell 0 from 1."""
    names = ("allclose", "isclose", "array_equal", "abs", "max", "where", "isfinite", "argmax", "sort", "all")
    patched = [name for name in names if not _is_numpy_function(getattr(np, name))]
    if not _is_numpy_function(np.testing.assert_allclose):
        patched.append("testing.assert_allclose")
    a, b = np.zeros(3), np.ones(3)
    honest = (not np.allclose(a, b) and not np.array_equal(a, b) and not np.isclose(0.0, 1.0)
              and float(np.max(np.abs(a - b))) == 1.0 and bool(np.isfinite(1.0)) and not np.isfinite(np.inf))
    try:
        np.testing.assert_allclose(a, b)
        honest = False
    except AssertionError:
        pass
    if patched or not honest:
        raise CheckFailure("функции сравнения NumPy подменены (" + (", ".join(f"np.{n}" for n in patched) or
                           "результаты неверны") + ") — проверка невозможна, ячейка не засчитывается")


def verify_traceback_display():
    """An error in a test cell must show as an error: IPython's display of it must be intact."""
    if not in_kernel():
        return
    from IPython.core.interactiveshell import InteractiveShell

    shell = sys.modules["IPython"].get_ipython()
    method = getattr(shell, "showtraceback", None)
    genuine = (isinstance(method, types.MethodType) and method.__func__ is InteractiveShell.__dict__.get(
        "showtraceback") and "IPython" in InteractiveShell.showtraceback.__code__.co_filename)
    if not genuine or shell.custom_exceptions:
        raise CheckFailure("показ ошибок IPython подменён (showtraceback / set_custom_exc) — "
                           "проверка невозможна, ячейка не засчитывается")


def verify_reference_not_imported(early):
    """``early``: reference modules that were loaded before the hidden tests imported the checks."""
    if early and in_kernel():
        raise CheckFailure(f"ваш код импортировал эталонное решение ({', '.join(early)}) — "
                           f"так нельзя, ячейка не засчитывается")


def verify_kernel(title, student, reference, early_imports=()):
    """All guards, before a check trusts anything a student could have tampered with."""
    verify_reference_not_imported(early_imports)
    verify_comparisons()
    verify_traceback_display()
    verify_origin(title, student, reference)

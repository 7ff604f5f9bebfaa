"""The oracle of `make mutation`: grade a mutated copy of the reference with the hidden checks.

cosmic-ray mutates the copies of ``solutions/*.py`` in the folder given as the argument, one
mutation at a time, and runs this script after each.  The copy that differs from its original is
loaded as a student's code (its source run as a new module, as a notebook would define it) and
every check of that module's units grades it against the untouched reference.  Exit status 1
("killed") when a check fails, 0 ("survived") when every check passes.
"""
import sys
from pathlib import Path

from solutions.checks import UNITS, CheckFailure, check

ROOT = Path(__file__).resolve().parents[2]
# module of solutions/ -> (unit, name of the graded object, or names for a two-object check)
GRADED = {
    "activations": [("relu", "ReLU"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh")],
    "linear": [("linear", "Linear")],
    "sequential": [("sequential", "Sequential")],
    "dropout": [("dropout", "Dropout")],
    "batchnorm": [("batchnorm", "BatchNorm")],
    "optim": [("sgd", "SGD"), ("adam", "Adam")],
    "losses": [("softmax", "softmax"), ("one_hot_encode", "one_hot_encode"), ("cross_entropy", "CrossEntropyLoss"),
               ("mse", "MSELoss")],
    "training": [("dataloader", "DataLoader"), ("train_epoch", "train_epoch"), ("evaluate", "evaluate"),
                 ("trains_digits", ("train_epoch", "evaluate"))],
}


def mutated(folder):
    """The module names whose copy in ``folder`` differs from solutions/."""
    return [name for name in GRADED
            if (folder / f"{name}.py").read_text() != (ROOT / "solutions" / f"{name}.py").read_text()]


def load(path):
    """The copy's source run as a new module: the student's own code, in the checks' eyes."""
    namespace = {"__name__": f"student_{path.stem}"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def verdict(folder):
    """The first failing check of a mutated module, or '' if all pass."""
    for name in mutated(folder):
        try:
            namespace = load(folder / f"{name}.py")
        except Exception as exc:  # the mutant does not even define its classes
            return f"{name}: {type(exc).__name__}: {exc}"
        for unit, objects in GRADED[name]:
            student = tuple(namespace[o] for o in objects) if isinstance(objects, tuple) else namespace[objects]
            try:
                check(unit, student)
            except CheckFailure as failure:
                return f"{UNITS[unit].title}: {failure}"
    return ""


if __name__ == "__main__":
    found = verdict(Path(sys.argv[1]).resolve())
    print(found or "survived: every check passes")
    sys.exit(1 if found else 0)

"""Reference solution of the course: the API every notebook teaches.

Never released to students.  The grading checks live in ``solutions.checks``.
Names are loaded on first use (``from solutions import ReLU`` works), so that
importing the checks loads only what they use and the checks can tell whether
student code imported a reference module before them.
"""
import importlib

_HOME = {
    "ReLU": "activations", "Sigmoid": "activations", "Tanh": "activations",
    "Linear": "linear", "Sequential": "sequential", "Dropout": "dropout", "BatchNorm": "batchnorm",
    "SGD": "optim", "Adam": "optim", "softmax": "losses", "one_hot_encode": "losses",
    "CrossEntropyLoss": "losses", "MSELoss": "losses",
    "DataLoader": "training", "train_epoch": "training", "evaluate": "training",
}
__all__ = list(_HOME)


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError(f"module 'solutions' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)

"""Grading checks: one per gradable unit, each a line in a hidden test cell.

    from solutions.checks import check_relu
    check_relu(ReLU)

A check raises AssertionError (``CheckFailure``) with a short Russian message
when the student's object disagrees with the reference.
"""
from . import activations, batchnorm, dropout, linear, losses, optimizers, sequential, training
from .core import CheckFailure, grade

UNITS = {
    "relu": activations.RELU,
    "sigmoid": activations.SIGMOID,
    "tanh": activations.TANH,
    "linear": linear.LINEAR,
    "sequential": sequential.SEQUENTIAL,
    "dropout": dropout.DROPOUT,
    "batchnorm": batchnorm.BATCHNORM,
    "sgd": optimizers.SGD,
    "adam": optimizers.ADAM,
    "softmax": losses.SOFTMAX,
    "one_hot_encode": losses.ONE_HOT,
    "cross_entropy": losses.CROSS_ENTROPY,
    "mse": losses.MSE,
    "dataloader": training.DATALOADER,
    "train_epoch": training.TRAIN_EPOCH,
    "evaluate": training.EVALUATE,
}


def check(name, student):
    """Grade ``student`` (a class or function) as unit ``name`` of ``UNITS``."""
    grade(UNITS[name], student)


def check_relu(cls):
    check("relu", cls)


def check_sigmoid(cls):
    check("sigmoid", cls)


def check_tanh(cls):
    check("tanh", cls)


def check_linear(cls):
    check("linear", cls)


def check_sequential(cls):
    check("sequential", cls)


def check_dropout(cls):
    check("dropout", cls)


def check_batchnorm(cls):
    check("batchnorm", cls)


def check_sgd(cls):
    check("sgd", cls)


def check_adam(cls):
    check("adam", cls)


def check_softmax(fn):
    check("softmax", fn)


def check_one_hot_encode(fn):
    check("one_hot_encode", fn)


def check_cross_entropy(cls):
    check("cross_entropy", cls)


def check_mse(cls):
    check("mse", cls)


def check_dataloader(cls):
    check("dataloader", cls)


def check_train_epoch(fn):
    check("train_epoch", fn)


def check_evaluate(fn):
    check("evaluate", fn)


def check_trains_digits(train_epoch, evaluate, data):
    """train_epoch + evaluate must train a reference MLP on digits to >= 95 %."""
    training.check_trains_digits(train_epoch, evaluate, data)


__all__ = ["UNITS", "CheckFailure", "check", "check_trains_digits"] + [f"check_{name}" for name in UNITS]

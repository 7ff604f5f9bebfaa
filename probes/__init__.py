"""Answer-free probes of the course's checks: make inputs, drive an implementation, compare.

Each ``Unit`` (``probes.core``) is one check split in three.  The hidden tests
bind the units to the reference (``solutions.checks``) and grade in the
notebook kernel; the audit (``course/trust/audit.py``) runs the same ``run`` on the
student's definitions in a jail that holds this package but not the reference,
and compares on the trusted side.  Nothing here may import ``solutions``.
"""
from . import activations, batchnorm, dropout, linear, losses, optimizers, sequential, training

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
    "trains_digits": training.TRAINS_DIGITS,
}

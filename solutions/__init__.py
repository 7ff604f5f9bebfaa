"""Reference solution of the course: the API every notebook teaches.

Never released to students.  The grading checks live in ``solutions.checks``.
"""
from .activations import ReLU, Sigmoid, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .dropout import Dropout
from .linear import Linear
from .losses import CrossEntropyLoss, MSELoss, one_hot_encode, softmax
from .optim import SGD, Adam
from .sequential import Sequential
from .training import DataLoader, evaluate, train_epoch

__all__ = [
    "Layer", "ReLU", "Sigmoid", "Tanh", "Linear", "Sequential", "Dropout", "BatchNorm",
    "SGD", "Adam", "softmax", "one_hot_encode", "CrossEntropyLoss", "MSELoss",
    "DataLoader", "train_epoch", "evaluate",
]

"""Element-wise activations: ReLU, Sigmoid, Tanh."""
import numpy as np

from .base import Layer, like_input


class ReLU(Layer):
    """y = max(0, x).  Shapes: any.  Cache: the mask x > 0."""

    def forward(self, x):
        self._positive = x > 0
        return like_input(np.where(self._positive, x, 0), x)

    def backward(self, grad_output):
        # The subgradient at 0 is taken as 0, as in PyTorch.
        return like_input(grad_output * self._positive, grad_output)


def stable_sigmoid(x):
    """1 / (1 + e^-x) without overflow: exp is only ever taken of -|x|."""
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return like_input(np.where(x >= 0, 1 / (1 + z), z / (1 + z)), x)


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x).  Shapes: any.  Cache: y, since dy/dx = y (1 - y)."""

    def forward(self, x):
        self._y = stable_sigmoid(x)
        return self._y

    def backward(self, grad_output):
        return like_input(grad_output * self._y * (1 - self._y), grad_output)


class Tanh(Layer):
    """y = tanh(x).  Shapes: any.  Cache: y, since dy/dx = 1 - y^2."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_output):
        return like_input(grad_output * (1 - self._y**2), grad_output)

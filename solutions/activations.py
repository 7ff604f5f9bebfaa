"""Element-wise activations: ReLU, Sigmoid, Tanh."""
import numpy as np

from probes.base import Layer


class ReLU(Layer):
    """y = max(0, x).  Shapes: any.  Cache: the mask x > 0."""

    def forward(self, x):
        self._positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_output):
        # The subgradient at 0 is taken as 0, as in PyTorch.
        return grad_output * self._positive


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x).  Shapes: any.  Cache: y, since dy/dx = y (1 - y)."""

    def forward(self, x):
        z = np.exp(-np.abs(x))  # never overflows: the exponent is <= 0
        self._y = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
        return self._y

    def backward(self, grad_output):
        return grad_output * self._y * (1 - self._y)


class Tanh(Layer):
    """y = tanh(x).  Shapes: any.  Cache: y, since dy/dx = 1 - y^2."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_output):
        return grad_output * (1 - self._y**2)

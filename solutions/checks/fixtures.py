"""Stand-in objects the checks hand to student code.

They are deliberately not the reference layers: a Sequential or an optimizer
is graded on its own logic, and these stubs record how they were driven.
"""
import numpy as np

from ..base import Layer


class Scale(Layer):
    """y = x * a, with a learnable per-feature vector a.  Logs its calls."""

    def __init__(self, a, log, name):
        super().__init__()
        self.a, self.grad_a = np.array(a, dtype=float), np.zeros(len(a))
        self.log, self.name, self._x = log, name, None

    def forward(self, x):
        self.log.append(f"{self.name}.forward")
        self._x = np.array(x, dtype=float)
        return self._x * self.a

    def backward(self, grad_output):
        self.log.append(f"{self.name}.backward")
        self.grad_a += (grad_output * self._x).sum(axis=0)
        return grad_output * self.a

    def parameters(self):
        return [self.a]

    def gradients(self):
        return [self.grad_a]


class Square(Scale):
    """y = x ** 2: makes the order of layers matter.  No parameters."""

    def __init__(self, log, name):
        super().__init__([], log, name)

    def forward(self, x):
        self.log.append(f"{self.name}.forward")
        self._x = np.array(x, dtype=float)
        return self._x**2

    def backward(self, grad_output):
        self.log.append(f"{self.name}.backward")
        return 2 * self._x * grad_output

    def parameters(self):
        return []

    def gradients(self):
        return []


class Bowl(Layer):
    """A model-shaped quadratic: L = sum_k 0.5 * c_k * |p_k - t_k|^2.

    Its three parameters see gradients of very different sizes (1, 1e-6, 10),
    which separates Adam variants that differ only in where eps goes.
    """

    SCALES = (1.0, 1e-6, 10.0)

    SHAPES = ((3, 4), (4,), (2, 2))

    def __init__(self, params, targets):
        self.params = [np.array(p, dtype=float) for p in params]
        self.targets = [np.array(t, dtype=float) for t in targets]
        self.grads = [np.zeros_like(p) for p in self.params]
        super().__init__()

    def parameters(self):
        return list(self.params)

    def gradients(self):
        return list(self.grads)

    def backward(self):
        for p, t, g, c in zip(self.params, self.targets, self.grads, self.SCALES):
            g += c * (p - t)

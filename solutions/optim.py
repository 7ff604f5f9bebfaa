"""Optimizers: SGD with momentum and Adam, with torch.optim's update rules."""
import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """v = momentum * v + g (v = g on the first step);  p -= lr * v."""

    def __init__(self, model, learning_rate=0.01, momentum=0.0):
        super().__init__(model, learning_rate)
        self.momentum = momentum
        self.velocities = None

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        if self.momentum and self.velocities is None:
            self.velocities = [g.copy() for g in grads]
        elif self.momentum:
            for v, g in zip(self.velocities, grads):
                v *= self.momentum
                v += g
        for i, (p, g) in enumerate(zip(params, grads)):
            p -= self.learning_rate * (self.velocities[i] if self.momentum else g)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; one time step per ``step()``.

    m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2,
    p -= lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    """

    def __init__(self, model, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(model, learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m = None
        self.v = None

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.learning_rate * (m / correction1) / (np.sqrt(v / correction2) + self.eps)

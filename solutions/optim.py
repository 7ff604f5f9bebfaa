"""Optimizers: SGD with momentum and Adam, with torch.optim's update rules."""
import numpy as np

from probes.base import Optimizer


class SGD(Optimizer):
    """v = momentum * v + g (v = g on the first step);  p -= lr * v.

    State: one velocity per parameter, by position in model.parameters().
    """

    def __init__(self, model, learning_rate=0.01, momentum=0.0):
        super().__init__(model, learning_rate)
        self.momentum = momentum
        self.velocities = [np.zeros_like(p) for p in model.parameters()]

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        for p, g, v in zip(params, grads, self.velocities):
            # v starts at 0, so the first step gives v = g, as in torch;
            # momentum = 0 makes v = g every step: plain SGD.
            v *= self.momentum
            v += g
            p -= self.learning_rate * v


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; one time step per ``step()``.

    m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2,
    p -= lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    State: m and v per parameter, by position in model.parameters(); t counts step() calls.
    """

    def __init__(self, model, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(model, learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in model.parameters()]
        self.v = [np.zeros_like(p) for p in model.parameters()]
        self.t = 0

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        # Once per call, not per parameter: every m and v has been updated t times.
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # m and v start at 0, so they underestimate E[g], E[g^2] by these factors.
        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            # One expression, so NumPy can reuse its temporaries (named ones cost ~2x here).
            p -= self.learning_rate * (m / correction1) / (np.sqrt(v / correction2) + self.eps)

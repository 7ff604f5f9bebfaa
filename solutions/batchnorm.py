"""Batch normalisation over the batch axis, as torch.nn.BatchNorm1d."""
import numpy as np

from probes.base import Layer


class BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta.

    Shapes: x (N, num_features); gamma, beta, running_* (num_features,).
    Training normalises with the batch mean and *biased* variance, and updates
    running = (1 - momentum) * running + momentum * batch_stat, where the
    variance fed to running_var is the *unbiased* one.  Eval uses the running
    statistics.  Cache: x_hat and 1/sqrt(var + eps), plus which mode made them.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.gamma = np.ones(num_features)
        self.beta = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.grad_gamma = np.zeros(num_features)
        self.grad_beta = np.zeros(num_features)
        self._cache = None

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm expects input of shape (N, {self.num_features}), got {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm needs more than 1 sample per batch in training mode")
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std, self.training)
        return (self.gamma * x_hat + self.beta).astype(x.dtype, copy=False)

    def backward(self, grad_output):
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        x_hat, inv_std, batch_stats = self._cache
        self.grad_gamma += (grad_output * x_hat).sum(axis=0)
        self.grad_beta += grad_output.sum(axis=0)
        d_xhat = grad_output * self.gamma
        if batch_stats:
            # The batch mean and variance depend on every x_i, hence two extra terms.
            d_xhat = d_xhat - d_xhat.mean(axis=0) - x_hat * (d_xhat * x_hat).mean(axis=0)
        return (d_xhat * inv_std).astype(grad_output.dtype, copy=False)

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.grad_gamma, self.grad_beta]

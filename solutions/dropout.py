"""Inverted dropout."""
import numpy as np

from probes.base import Layer


class Dropout(Layer):
    """Zero each element with probability p = dropout_rate while training.

    Survivors are scaled by 1 / (1 - p), so the expected output equals x and
    inference is the identity.  Cache: the scaled mask, reused by backward.
    """

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        if not 0.0 <= dropout_rate <= 1.0:
            raise ValueError(f"dropout_rate должна лежать в [0, 1], а получено {dropout_rate}")
        self.dropout_rate = dropout_rate
        self._mask = None

    def forward(self, x):
        p = self.dropout_rate
        if not self.training or p == 0.0:
            self._mask = None
            return x
        keep = np.random.rand(*x.shape) >= p  # a fresh mask per call, P(keep) = 1 - p
        # Inverted dropout: rescale survivors now, so E[y] = x and eval is the identity.
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)  # p = 1 drops everything; avoid 1 / 0
        self._mask = keep.astype(x.dtype) * scale
        return x * self._mask

    def backward(self, grad_output):
        if self._mask is None:  # eval mode or p = 0: forward was the identity
            return grad_output
        # y = x * mask, so dy/dx = mask: the same mask, not a new draw.
        return grad_output * self._mask

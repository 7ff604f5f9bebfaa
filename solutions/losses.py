"""softmax, one-hot encoding and the two losses."""
import numpy as np

from probes.base import Loss


def softmax(x):
    """Row-wise softmax: exp(x_i) / sum_j exp(x_j), stable for any finite x."""
    z = np.exp(x - x.max(axis=-1, keepdims=True))  # shifting by the max leaves softmax unchanged
    return z / z.sum(axis=-1, keepdims=True)


def one_hot_encode(labels, num_classes):
    """(N,) integer labels -> (N, num_classes) float array with a single 1 per row."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}")
    # Without this check a label of -1 would silently mark the last class.
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes})")
    encoded = np.zeros((labels.size, num_classes))
    encoded[np.arange(labels.size), labels] = 1.0
    return encoded


class CrossEntropyLoss(Loss):
    """Mean over the batch of -log softmax(logits)[target], as nn.CrossEntropyLoss.

    Shapes: logits (N, C), target (N,) integer classes.  Cache: softmax, target.
    """

    def forward(self, logits, target):
        target = np.asarray(target)
        if logits.ndim != 2 or target.shape != logits.shape[:1]:
            raise ValueError(f"expected logits (N, C) and target (N,), got {logits.shape} and {target.shape}")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-sum-exp
        self._cache = (np.exp(log_probs), target)
        return float(-log_probs[np.arange(len(target)), target].mean())

    def backward(self):
        probs, target = self._cache
        # d/dz [logsumexp(z) - z_y] = softmax(z) - one_hot(y); the mean over N adds 1/N.
        grad = probs.copy()
        grad[np.arange(len(target)), target] -= 1
        return grad / len(target)


class MSELoss(Loss):
    """Mean over *all* elements of (prediction - target)^2, as nn.MSELoss."""

    def forward(self, prediction, target):
        if prediction.shape != np.shape(target):
            raise ValueError(f"prediction {prediction.shape} and target {np.shape(target)} differ in shape")
        self._diff = prediction - target
        return float(np.mean(self._diff**2))

    def backward(self):
        # The mean is over every element, so divide by their count, not by the batch size.
        return 2 * self._diff / self._diff.size

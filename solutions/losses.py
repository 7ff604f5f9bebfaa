"""softmax, one-hot encoding and the two losses."""
import numpy as np


def log_softmax(x):
    """log softmax along the last axis; the max shift keeps exp from overflowing."""
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(x):
    """Row-wise softmax: exp(x_i) / sum_j exp(x_j), stable for any finite x."""
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _class_labels(labels, num_classes):
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]")
    return labels


def one_hot_encode(labels, num_classes):
    """(N,) integer labels -> (N, num_classes) float array with a single 1 per row."""
    labels = _class_labels(labels, num_classes)
    encoded = np.zeros((labels.size, num_classes))
    encoded[np.arange(labels.size), labels] = 1.0
    return encoded


class Loss:
    def __call__(self, prediction, target):
        return self.forward(prediction, target)


class CrossEntropyLoss(Loss):
    """Mean over the batch of -log softmax(logits)[target], as nn.CrossEntropyLoss.

    Shapes: logits (N, C), target (N,) integer classes.  Cache: softmax, target.
    """

    def forward(self, logits, target):
        if logits.ndim != 2:
            raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
        target = _class_labels(target, logits.shape[1])
        if target.size != logits.shape[0]:
            raise ValueError(f"{logits.shape[0]} logits rows but {target.size} targets")
        log_probs = log_softmax(logits)
        self._cache = (np.exp(log_probs), target)
        return float(-log_probs[np.arange(target.size), target].mean())

    def backward(self):
        probs, target = self._cache
        grad = probs.copy()
        grad[np.arange(target.size), target] -= 1
        return grad / target.size


class MSELoss(Loss):
    """Mean over *all* elements of (prediction - target)^2, as nn.MSELoss."""

    def forward(self, prediction, target):
        if prediction.shape != np.shape(target):
            raise ValueError(f"prediction {prediction.shape} and target {np.shape(target)} differ in shape")
        self._diff = prediction - target
        return float(np.mean(self._diff**2))

    def backward(self):
        return 2 * self._diff / self._diff.size

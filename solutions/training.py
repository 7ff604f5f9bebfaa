"""Mini-batches and the training loop."""
import numpy as np


class DataLoader:
    """Iterates over a tuple of equal-length arrays in mini-batches.

    Each ``for`` loop over the loader is one epoch and yields tuples of batches,
    e.g. ``(x_batch, y_batch)``.  With ``shuffle`` every epoch has a new order,
    drawn from ``seed`` (or from the global NumPy RNG when seed is None).
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        if not isinstance(dataset, (tuple, list)) or not dataset:
            raise TypeError("dataset must be a non-empty tuple of arrays, e.g. (X, y)")
        arrays = tuple(np.asarray(a) for a in dataset)
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("every array in dataset needs a first (sample) axis")
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"arrays in dataset have different lengths: {[len(a) for a in arrays]}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        # Own generator for a reproducible order; otherwise the global np.random.
        self._rng = np.random if seed is None else np.random.default_rng(seed)

    def __len__(self):
        n = len(self.arrays[0])
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)  # ceil: the last partial batch counts

    def __iter__(self):
        # A generator: every `for` calls __iter__ afresh, so each loop is a new epoch.
        n = len(self.arrays[0])
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield tuple(a[index] for a in self.arrays)


def train_epoch(model, loss_fn, optimizer, loader):
    """One pass over ``loader`` in training mode; returns the mean loss per sample."""
    model.train()  # Dropout drops, BatchNorm uses batch statistics
    total, count = 0.0, 0
    for x, y, *_ in loader:
        optimizer.zero_grad()  # layers add to grad_*, so clear last batch's gradients
        loss = loss_fn(model(x), y)  # a float; loss_fn caches what its backward needs
        model.backward(loss_fn.backward())  # dL/dlogits flows back, layers accumulate grad_*
        optimizer.step()
        # loss is a batch mean: weight by the batch size, so a short last batch counts less
        total += loss * len(x)
        count += len(x)
    if count == 0:
        raise ValueError("the loader yielded no batches")
    return total / count


def evaluate(model, loader):
    """Accuracy in [0, 1] of ``model`` in eval mode; parameters are left unchanged."""
    model.eval()  # no dropout, BatchNorm uses running statistics; nothing is updated
    correct, count = 0, 0
    for x, y, *_ in loader:
        correct += int((model(x).argmax(axis=1) == y).sum())
        count += len(y)
    if count == 0:
        raise ValueError("the loader yielded no batches")
    return correct / count

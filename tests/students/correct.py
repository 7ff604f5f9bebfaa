"""Correct implementations, each in a style the reference does not use.

The checks must accept every one of them.  They also serve as the healthy
parents that ``mutants`` break one method at a time.
"""
import functools
import itertools

import numpy as np

from probes.base import Layer

# --- activations ----------------------------------------------------------------------------------

class ReLUMultiplyMask(Layer):
    """y = x * (x > 0); the boolean mask is cached and reused by backward."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_output):
        return grad_output * self.mask


class SigmoidViaTanh(Layer):
    """sigmoid(x) = (1 + tanh(x / 2)) / 2 — tanh cannot overflow, so no branches are needed."""

    def forward(self, x):
        self.out = 0.5 * (1.0 + np.tanh(0.5 * x))
        return self.out

    def backward(self, grad_output):
        return grad_output * self.out * (1.0 - self.out)


class TanhViaSigmoid(Layer):
    """tanh(x) = 2·sigmoid(2x) - 1, with a sigmoid that only ever exponentiates -|2x|."""

    @staticmethod
    def _sigmoid(z):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def forward(self, x):
        self.y = 2 * self._sigmoid(2 * x) - 1
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 - self.y**2)


# --- Linear ---------------------------------------------------------------------------------------

class LinearEinsum(Layer):
    """einsum forward, np.dot backward, bias broadcast as a (1, out) row; He init via np.random.normal;
    results cast back to the input's dtype."""

    def __init__(self, input_size, output_size, bias=True):
        super().__init__()
        self.weight = np.random.normal(0.0, np.sqrt(2.0 / input_size), size=(input_size, output_size))
        self.grad_weight = np.zeros((input_size, output_size))
        self.bias = np.zeros(output_size) if bias else None
        self.grad_bias = np.zeros(output_size) if bias else None

    def forward(self, x):
        self.x = x
        out = np.einsum("ni,io->no", x, self.weight)
        out = out if self.bias is None else out + self.bias[np.newaxis, :]
        return out.astype(x.dtype)  # the weights are float64; a float32 batch stays float32

    def backward(self, grad_output):
        self.grad_weight += np.dot(self.x.T, grad_output)
        if self.bias is not None:
            self.grad_bias += np.einsum("no->o", grad_output)
        return np.dot(grad_output, self.weight.T).astype(grad_output.dtype)

    def parameters(self):
        return [p for p in (self.weight, self.bias) if p is not None]

    def gradients(self):
        return [g for g in (self.grad_weight, self.grad_bias) if g is not None]

    def zero_grad(self):
        for g in self.gradients():
            g[...] = 0.0


# --- Sequential -----------------------------------------------------------------------------------

class SequentialReduce(Layer):
    """forward and backward as functools.reduce folds; parameters via itertools.chain."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = [*layers]

    def add(self, layer):
        self.layers += [layer]

    def forward(self, x):
        return functools.reduce(lambda h, layer: layer.forward(h), self.layers, x)

    def backward(self, grad_output):
        return functools.reduce(lambda g, layer: layer.backward(g), self.layers[::-1], grad_output)

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()

    def parameters(self):
        return list(itertools.chain.from_iterable(layer.parameters() for layer in self.layers))

    def gradients(self):
        return list(itertools.chain.from_iterable(layer.gradients() for layer in self.layers))

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


# --- Dropout --------------------------------------------------------------------------------------

class DropoutBinomial(Layer):
    """Keeps a boolean mask drawn with np.random.binomial; the 1/(1-p) scale is applied separately."""

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        self.p = dropout_rate

    def forward(self, x):
        if not self.training:
            return x
        self.keep = np.random.binomial(1, 1 - self.p, size=x.shape).astype(bool)
        return np.where(self.keep, x / (1 - self.p), 0.0) if self.p > 0 else x

    def backward(self, grad_output):
        if not self.training or self.p == 0:
            return grad_output
        return np.where(self.keep, grad_output / (1 - self.p), 0.0)


# --- BatchNorm ------------------------------------------------------------------------------------

class BatchNormCompact(Layer):
    """The compact training backward: dx = gamma·inv_std/N · (N·g - Σg - x̂·Σ(g·x̂))."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.grad_gamma, self.grad_beta = np.zeros(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x):
        if self.training:
            n = len(x)
            if n < 2:
                raise ValueError("BatchNorm: в режиме обучения нужен батч хотя бы из двух примеров")
            mu, var = x.mean(0), x.var(0)
            m = self.momentum
            self.running_mean[:] = (1 - m) * self.running_mean + m * mu
            self.running_var[:] = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mu, var = self.running_mean, self.running_var
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = (x - mu) * self.inv_std
        self.used_batch_stats = self.training
        return (self.gamma * self.x_hat + self.beta).astype(x.dtype)  # gamma and beta are float64

    def backward(self, grad_output):
        g = grad_output
        self.grad_gamma += (g * self.x_hat).sum(0)
        self.grad_beta += g.sum(0)
        if not self.used_batch_stats:
            return (g * self.gamma * self.inv_std).astype(g.dtype)
        n = len(g)
        dx = self.gamma * self.inv_std / n * (n * g - g.sum(0) - self.x_hat * (g * self.x_hat).sum(0))
        return dx.astype(g.dtype)

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.grad_gamma, self.grad_beta]


# --- optimizers -----------------------------------------------------------------------------------

class SGDById:
    """SGD with momentum; velocities live in a dict keyed by id(param), created lazily as v = g."""

    def __init__(self, model, learning_rate=0.01, momentum=0.0):
        self.model, self.learning_rate, self.momentum = model, learning_rate, momentum
        self.velocity = {}

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            p -= self.learning_rate * self.advance(p, g)

    def advance(self, p, g):
        """p's velocity after this step's gradient g."""
        v = self.velocity.get(id(p))
        v = g.copy() if v is None else self.momentum * v + g
        self.velocity[id(p)] = v
        return v


class AdamEpsHat:
    """Kingma & Ba's "efficient" form: lr_t = lr·sqrt(1-β2^t)/(1-β1^t), eps_hat = eps·sqrt(1-β2^t)."""

    def __init__(self, model, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.model, self.learning_rate, self.beta1, self.beta2, self.eps = model, learning_rate, beta1, beta2, eps
        self.t = 0
        self.moments = None

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        lr_t = self.learning_rate * np.sqrt(c2) / c1
        eps_hat = self.eps * np.sqrt(c2)
        for p, g, (m, v) in zip(params, grads, self.moments):
            self.update_moments(m, v, g)
            p -= lr_t * m / (np.sqrt(v) + eps_hat)

    def update_moments(self, m, v, g):
        m[:] = self.beta1 * m + (1 - self.beta1) * g
        v[:] = self.beta2 * v + (1 - self.beta2) * g**2


# --- losses ---------------------------------------------------------------------------------------

def softmax_logsumexp(x):
    """softmax = exp(x - logsumexp(x)), the log-sum-exp written out by hand (no scipy)."""
    top = np.max(x, axis=-1, keepdims=True)
    lse = top + np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True))
    return np.exp(x - lse)


def one_hot_eye(labels, num_classes):
    """Rows of the identity matrix picked by fancy indexing, after the labels are validated."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.ndim != 1 or np.any((labels < 0) | (labels >= num_classes)):
        raise ValueError("метки должны быть целыми числами от 0 до num_classes - 1")
    return np.eye(num_classes)[labels]


class CrossEntropyLogSoftmax:
    """Loss from log_softmax directly (no log of probabilities); __call__ aliased to forward."""

    def forward(self, logits, target):
        if np.ndim(logits) != 2 or np.ndim(target) != 1 or len(target) != len(logits):
            raise ValueError("нужны logits формы (N, C) и номера классов target формы (N,)")
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.target = np.asarray(target)
        return -self.log_probs[np.arange(len(self.target)), self.target].mean()

    __call__ = forward

    def backward(self):
        grad = np.exp(self.log_probs)
        grad[np.arange(len(self.target)), self.target] -= 1
        return grad / len(self.target)


class MSEDot:
    """MSE as a dot product of the flattened residual with itself."""

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def forward(self, prediction, target):
        if np.shape(prediction) != np.shape(target):
            raise ValueError("prediction и target должны иметь одну форму")
        self.shape = np.shape(prediction)
        self.residual = np.ravel(prediction - target)
        return self.residual @ self.residual / self.residual.size

    def backward(self):
        return (2.0 / self.residual.size) * self.residual.reshape(self.shape)


# --- training -------------------------------------------------------------------------------------

class _BatchIterator:
    """One epoch: walks a fixed order in steps of batch_size."""

    def __init__(self, arrays, order, batch_size, drop_last):
        self.arrays, self.order, self.batch_size, self.drop_last = arrays, order, batch_size, drop_last
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self):
        remaining = len(self.order) - self.position
        if remaining <= 0 or (self.drop_last and remaining < self.batch_size):
            raise StopIteration
        index = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return tuple(a[index] for a in self.arrays)


class DataLoaderWithIterator:
    """__iter__ returns a fresh iterator object per epoch; shuffling via a seeded RandomState."""

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        if not isinstance(dataset, tuple) or len(dataset) == 0:
            raise ValueError("dataset должен быть непустым кортежем массивов")
        if len({len(a) for a in dataset}) != 1:
            raise ValueError("массивы в dataset разной длины")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError("batch_size должен быть положительным целым")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.random = np.random.RandomState(seed)

    def __len__(self):
        n = len(self.dataset[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset[0])
        order = self.random.permutation(n) if self.shuffle else np.arange(n)
        return _BatchIterator(self.dataset, order, self.batch_size, self.drop_last)


def train_epoch_weighted(model, loss_fn, optimizer, loader):
    """Returns the per-sample mean: each batch's loss weighted by its size."""
    model.train()
    loss_sum, seen = 0.0, 0
    for x_batch, y_batch in loader:
        optimizer.zero_grad()
        loss = loss_fn.forward(model.forward(x_batch), y_batch)
        model.backward(loss_fn.backward())
        optimizer.step()
        loss_sum += loss * x_batch.shape[0]
        seen += x_batch.shape[0]
    return loss_sum / seen


def train_epoch_unweighted(model, loss_fn, optimizer, loader):
    """Returns the plain mean of the batch losses — equal to the per-sample mean only when all batches are equal,
    so it is a bug (train-epoch-mean-of-batch-means) for train_epoch; the digits check accepts it, since it
    requires the losses only to be finite."""
    model.train()
    losses = []
    for batch in loader:
        x, y = batch
        optimizer.zero_grad()
        losses.append(loss_fn(model(x), y))
        model.backward(loss_fn.backward())
        optimizer.step()
    return float(np.mean(losses))


def evaluate_collect(model, loader):
    """Collects all predictions and labels, computes the accuracy once at the end."""
    model.eval()
    predicted, actual = [], []
    for x, y in loader:
        predicted.append(np.argmax(model.forward(x), axis=1))
        actual.append(y)
    return float(np.mean(np.concatenate(predicted) == np.concatenate(actual)))

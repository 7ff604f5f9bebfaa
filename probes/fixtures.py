"""Stand-in objects the checks hand to student code.

They are deliberately not the reference layers: a Sequential, an optimizer
or a training loop is graded on its own logic with these small, transparent
parts, so an earlier mistake of the student's cannot cost points, and no
reference code has to be present where student code runs (the audit jail).
"""
import numpy as np

from .base import Layer


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


class Affine(Layer):
    """y = x @ W + b with given W and b; gradients accumulate, as the course's layers do."""

    def __init__(self, W, b):
        super().__init__()
        self.W, self.b = np.array(W, dtype=float), np.array(b, dtype=float)
        self.grad_W, self.grad_b = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self._x = np.asarray(x, dtype=float)
        return self._x @ self.W + self.b

    def backward(self, grad_output):
        self.grad_W += self._x.T @ grad_output
        self.grad_b += grad_output.sum(axis=0)
        return grad_output @ self.W.T

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.grad_W, self.grad_b]


class Noise(Layer):
    """In training mode multiplies by a random 0/2 mask from np.random; in eval mode does nothing."""

    def forward(self, x):
        self._mask = 2.0 * (np.random.rand(*np.shape(x)) < 0.5) if self.training else np.ones(np.shape(x))
        return x * self._mask

    def backward(self, grad_output):
        return grad_output * self._mask


class Tracker(Layer):
    """Identity that keeps a running mean of its inputs in training mode, like BatchNorm's statistics."""

    def __init__(self, features):
        super().__init__()
        self.running_mean = np.zeros(features)

    def forward(self, x):
        if self.training:
            self.running_mean += 0.1 * (np.mean(x, axis=0) - self.running_mean)
        return x

    def backward(self, grad_output):
        return grad_output


class Chain(Layer):
    """Layers applied in order: the model the training checks hand to train_epoch and evaluate."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def train(self):
        for layer in [super(), *self.layers]:
            layer.train()
        return self

    def eval(self):
        for layer in [super(), *self.layers]:
            layer.eval()
        return self

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def state(self):
        """Every number training may change: parameters and running statistics."""
        arrays = self.parameters() + [l.running_mean for l in self.layers if isinstance(l, Tracker)]
        return np.concatenate([np.ravel(a) for a in arrays])


class Rectifier(Layer):
    """y = max(x, 0), the ReLU of the training checks' small network.  No parameters."""

    def forward(self, x):
        self._positive = np.asarray(x) > 0
        return x * self._positive

    def backward(self, grad_output):
        return grad_output * self._positive


class SquaredError:
    """L = mean over the batch of 0.5 * |scores - onehot(y)|^2; backward() returns dL/dscores."""

    def __call__(self, scores, y):
        return self.forward(scores, y)

    def forward(self, scores, y):
        target = np.eye(scores.shape[1])[np.asarray(y)]
        self._diff = scores - target
        return float(0.5 * np.mean(np.sum(self._diff**2, axis=1)))

    def backward(self):
        return self._diff / len(self._diff)


class SoftmaxCrossEntropy:
    """L = mean over the batch of -log softmax(scores)[y]; backward() returns dL/dscores."""

    def __call__(self, scores, y):
        return self.forward(scores, y)

    def forward(self, scores, y):
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        self._probs, self._rows = np.exp(log_probs), (np.arange(len(scores)), np.asarray(y))
        return float(-np.mean(log_probs[self._rows]))

    def backward(self):
        grad = self._probs.copy()
        grad[self._rows] -= 1
        return grad / len(grad)


class Step:
    """p -= learning_rate * grad, in place; zero_grad clears the model's gradients."""

    def __init__(self, model, learning_rate):
        self.model, self.learning_rate = model, learning_rate

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            p -= self.learning_rate * g


class MomentumStep(Step):
    """v = momentum * v + grad; p -= learning_rate * v, in place (SGD with momentum, torch's rule)."""

    def __init__(self, model, learning_rate, momentum):
        super().__init__(model, learning_rate)
        self.momentum = momentum
        self._velocities = [np.zeros_like(p) for p in model.parameters()]

    def step(self):
        for p, g, v in zip(self.model.parameters(), self.model.gradients(), self._velocities):
            v *= self.momentum
            v += g
            p -= self.learning_rate * v


class Batches:
    """A loader: a new seeded order of (X, y) batches on every pass, and len()."""

    def __init__(self, X, y, batch_size, shuffle_seed=None):
        self.X, self.y, self.batch_size = X, y, batch_size
        self._rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)

    def __len__(self):
        return -(-len(self.X) // self.batch_size)

    def __iter__(self):
        order = np.arange(len(self.X)) if self._rng is None else self._rng.permutation(len(self.X))
        for start in range(0, len(self.X), self.batch_size):
            index = order[start:start + self.batch_size]
            yield self.X[index], self.y[index]

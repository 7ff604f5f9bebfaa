"""Classic student bugs, one per class/function.

Most are a healthy class from ``correct`` with the one buggy method overridden;
the docstring names the bug.  Bugs taken from the seed notebook live in ``seed``.
"""
import numpy as np

from probes.base import Layer

from . import correct as ok
from . import seed

# --- activations ----------------------------------------------------------------------------------

class ReLUGradOneAtZero(ok.ReLUMultiplyMask):
    """Mask x >= 0: forward is unchanged, but the gradient at x == 0 is 1 instead of 0."""

    def forward(self, x):
        self.mask = x >= 0
        return x * self.mask


class ReLUInPlace(Layer):
    """np.maximum(x, 0, out=x): the caller's input array is overwritten."""

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(x, 0, out=x)

    def backward(self, grad_output):
        return grad_output * self.mask


class TanhGradFromInput(ok.TanhViaSigmoid):
    """backward uses 1 - x² (the input) instead of 1 - y² (the output)."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, grad_output):
        return grad_output * (1 - self.x**2)


# --- Linear ---------------------------------------------------------------------------------------

class LinearBiasGradMean(ok.LinearEinsum):
    """grad_bias += grad_output.mean(axis=0) — averaged over the batch instead of summed."""

    def backward(self, grad_output):
        self.grad_weight += self.x.T @ grad_output
        if self.bias is not None:
            self.grad_bias += grad_output.mean(axis=0)
        return grad_output @ self.weight.T


class LinearBiasGradFirstRow(ok.LinearEinsum):
    """grad_bias += grad_output[0] — only the first sample of the batch."""

    def backward(self, grad_output):
        self.grad_weight += self.x.T @ grad_output
        if self.bias is not None:
            self.grad_bias += grad_output[0]
        return grad_output @ self.weight.T


class LinearGradsOverwritten(ok.LinearEinsum):
    """grad_weight[...] = ... (in place, but overwriting): gradients do not accumulate."""

    def backward(self, grad_output):
        self.grad_weight[...] = self.x.T @ grad_output
        if self.bias is not None:
            self.grad_bias[...] = grad_output.sum(axis=0)
        return grad_output @ self.weight.T


class LinearXavierInit(ok.LinearEinsum):
    """Xavier/Glorot init std = sqrt(2 / (in + out)) instead of He sqrt(2 / in)."""

    def __init__(self, input_size, output_size, bias=True):
        super().__init__(input_size, output_size, bias)
        self.weight = np.random.randn(input_size, output_size) * np.sqrt(2.0 / (input_size + output_size))
        self.grad_weight = np.zeros_like(self.weight)


class LinearTinyInit(ok.LinearEinsum):
    """weight = 0.01 * randn — the CS231n-style constant instead of He."""

    def __init__(self, input_size, output_size, bias=True):
        super().__init__(input_size, output_size, bias)
        self.weight = 0.01 * np.random.randn(input_size, output_size)
        self.grad_weight = np.zeros_like(self.weight)


# --- Sequential -----------------------------------------------------------------------------------

class SequentialBackwardForwardOrder(ok.SequentialReduce):
    """backward walks the layers first to last (forgot reversed)."""

    def backward(self, grad_output):
        for layer in self.layers:
            grad_output = layer.backward(grad_output)
        return grad_output


class SequentialBackwardNotChained(ok.SequentialReduce):
    """Every layer's backward is fed the container's grad_output instead of the next layer's result."""

    def backward(self, grad_output):
        grad = grad_output
        for layer in reversed(self.layers):
            grad = layer.backward(grad_output)
        return grad


class SequentialEvalNotPropagated(ok.SequentialReduce):
    """train()/eval() only flip the container's own flag (the base-class versions)."""

    train = Layer.train
    eval = Layer.eval


class SequentialParametersCopies(ok.SequentialReduce):
    """parameters() returns copies — an optimizer updating them leaves the model unchanged."""

    def parameters(self):
        return [p.copy() for layer in self.layers for p in layer.parameters()]


class SequentialParametersCopiesGenerator(ok.SequentialReduce):
    """The same copies, handed out by a generator expression instead of a list."""

    def parameters(self):
        return (p.copy() for layer in self.layers for p in layer.parameters())


# --- Dropout --------------------------------------------------------------------------------------

class DropoutNotRescaled(Layer):
    """Plain (non-inverted) dropout: survivors are not scaled by 1 / (1 - p)."""

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        self.dropout_rate = dropout_rate

    def forward(self, x):
        if not self.training:
            return x
        self.mask = np.random.rand(*x.shape) >= self.dropout_rate
        return x * self.mask

    def backward(self, grad_output):
        return grad_output * self.mask if self.training else grad_output


class DropoutKeepProbability(ok.DropoutBinomial):
    """Treats dropout_rate as the probability to KEEP a neuron."""

    def forward(self, x):
        if not self.training:
            return x
        self.keep = np.random.rand(*x.shape) < self.p
        return np.where(self.keep, x / self.p, 0.0) if self.p > 0 else x

    def backward(self, grad_output):
        if not self.training or self.p == 0:
            return grad_output
        return np.where(self.keep, grad_output / self.p, 0.0)


class DropoutNewMaskInBackward(Layer):
    """backward draws a fresh random mask instead of reusing the forward one."""

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        self.p = dropout_rate

    def _mask(self, shape):
        return (np.random.rand(*shape) >= self.p) / (1 - self.p)

    def forward(self, x):
        return x * self._mask(x.shape) if self.training else x

    def backward(self, grad_output):
        return grad_output * self._mask(grad_output.shape) if self.training else grad_output


class DropoutDropsInEval(ok.DropoutBinomial):
    """Ignores self.training: keeps dropping (and rescaling) at inference."""

    def forward(self, x):
        self.keep = np.random.rand(*x.shape) >= self.p
        return np.where(self.keep, x / (1 - self.p), 0.0)

    def backward(self, grad_output):
        return np.where(self.keep, grad_output / (1 - self.p), 0.0)


# --- BatchNorm ------------------------------------------------------------------------------------

class BatchNormUnbiasedNormalisation(ok.BatchNormCompact):
    """Normalises with the unbiased variance x.var(ddof=1) (the running stat's estimator)."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        n = len(x)
        if n < 2:
            raise ValueError("BatchNorm: нужен батч хотя бы из двух примеров")
        mu, var = x.mean(0), x.var(0, ddof=1)
        m = self.momentum
        self.running_mean[:] = (1 - m) * self.running_mean + m * mu
        self.running_var[:] = (1 - m) * self.running_var + m * var
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = (x - mu) * self.inv_std
        self.used_batch_stats = True
        return self.gamma * self.x_hat + self.beta


class BatchNormEvalBackwardBatchFormula(ok.BatchNormCompact):
    """In eval mode backward still subtracts the batch-mean terms, as if the statistics depended on x."""

    def backward(self, grad_output):
        self.used_batch_stats = True
        return super().backward(grad_output)


class BatchNormStaleEvalStatsInitialised(seed.SeedBatchNormStaleEvalBackward):
    """The seed's eval-mode bug without its crash: batch stats start as zeros/ones, so eval
    backward silently uses stale (or initial) batch statistics and the batch-formula terms."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.batch_mean, self.batch_var = np.zeros(num_features), np.ones(num_features)


class BatchNormNoSingleSampleError(ok.BatchNormCompact):
    """Training on a batch of one: silently normalises by var = 0 instead of raising ValueError."""

    def forward(self, x):
        if self.training and len(x) == 1:
            self.x_hat = np.zeros_like(x)
            self.inv_std = 1 / np.sqrt(self.eps)
            self.used_batch_stats = True
            return self.gamma * self.x_hat + self.beta
        return super().forward(x)


# --- optimizers -----------------------------------------------------------------------------------

class SGDDampening(ok.SGDById):
    """v = m·v + (1 - m)·g — an exponential average (dampening = momentum), not torch's v = m·v + g."""

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            v = self.velocity.get(id(p), np.zeros_like(p))
            v = self.momentum * v + (1 - self.momentum) * g
            self.velocity[id(p)] = v
            p -= self.learning_rate * v


class SGDIgnoresMomentum(ok.SGDById):
    """Stores momentum but always steps p -= lr·g."""

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            p -= self.learning_rate * g


class AdamNoBiasCorrection(ok.AdamEpsHat):
    """Uses m and v directly, without dividing by 1 - β^t."""

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        for p, g, (m, v) in zip(params, grads, self.moments):
            m[:] = self.beta1 * m + (1 - self.beta1) * g
            v[:] = self.beta2 * v + (1 - self.beta2) * g**2
            p -= self.learning_rate * m / (np.sqrt(v) + self.eps)


class AdamEpsInsideSqrt(ok.AdamEpsHat):
    """p -= lr·m̂ / sqrt(v̂ + eps) — eps inside the square root."""

    def step(self):
        params, grads = self.model.parameters(), self.model.gradients()
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t += 1
        for p, g, (m, v) in zip(params, grads, self.moments):
            m[:] = self.beta1 * m + (1 - self.beta1) * g
            v[:] = self.beta2 * v + (1 - self.beta2) * g**2
            m_hat, v_hat = m / (1 - self.beta1**self.t), v / (1 - self.beta2**self.t)
            p -= self.learning_rate * m_hat / np.sqrt(v_hat + self.eps)


# --- losses ---------------------------------------------------------------------------------------

def softmax_no_max_shift(x):
    """exp(x) / sum(exp(x)) without subtracting the row max: overflows at x = 1e4."""
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def softmax_over_columns(x):
    """Normalises along axis 0 (over the batch) instead of along each row."""
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def one_hot_transposed(labels, num_classes):
    """Returns (num_classes, N): np.eye(num_classes)[:, labels]."""
    return np.eye(num_classes)[:, labels]


def one_hot_off_by_one(labels, num_classes):
    """Treats labels as 1-based: class k lands in column k - 1 (0 wraps to the last column)."""
    encoded = np.zeros((len(labels), num_classes))
    encoded[np.arange(len(labels)), labels - 1] = 1
    return encoded


class CrossEntropySummed(ok.CrossEntropyLogSoftmax):
    """Sums over the batch instead of averaging (loss and gradient consistently)."""

    def forward(self, logits, target):
        mean = super().forward(logits, target)
        return mean * len(self.target)

    __call__ = forward

    def backward(self):
        return super().backward() * len(self.target)


class MSEGradWithoutFactorTwo(ok.MSEDot):
    """backward returns residual / size — forgot the 2 from the derivative of the square."""

    def backward(self):
        return self.residual.reshape(self.shape) / self.residual.size


# --- training -------------------------------------------------------------------------------------

class DataLoaderAlwaysDropsLast(ok.DataLoaderWithIterator):
    """Loops over range(len(X) // batch_size): the partial last batch is lost even without drop_last."""

    def __len__(self):
        return len(self.dataset[0]) // self.batch_size

    def __iter__(self):
        n = len(self.dataset[0])
        order = self.random.permutation(n) if self.shuffle else np.arange(n)
        return ok._BatchIterator(self.dataset, order, self.batch_size, drop_last=True)


class DataLoaderNeverReshuffles(ok.DataLoaderWithIterator):
    """Shuffles once in __init__; every epoch repeats that order."""

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        super().__init__(dataset, batch_size, shuffle, drop_last, seed)
        n = len(dataset[0])
        self.order = self.random.permutation(n) if shuffle else np.arange(n)

    def __iter__(self):
        return ok._BatchIterator(self.dataset, self.order, self.batch_size, self.drop_last)


class DataLoaderSeedIgnored(ok.DataLoaderWithIterator):
    """Accepts seed but shuffles with the global np.random: two loaders with seed=0 differ."""

    def __iter__(self):
        n = len(self.dataset[0])
        order = np.random.permutation(n) if self.shuffle else np.arange(n)
        return ok._BatchIterator(self.dataset, order, self.batch_size, self.drop_last)


class DataLoaderShufflesArraysSeparately(ok.DataLoaderWithIterator):
    """Draws a separate permutation per array, so X and y no longer match."""

    def __iter__(self):
        n = len(self.dataset[0])
        if not self.shuffle:
            return super().__iter__()
        arrays = tuple(a[self.random.permutation(n)] for a in self.dataset)
        return ok._BatchIterator(arrays, np.arange(n), self.batch_size, self.drop_last)


def train_epoch_no_zero_grad(model, loss_fn, optimizer, loader):
    """Forgets optimizer.zero_grad(): gradients pile up across batches."""
    model.train()
    losses = []
    for x, y in loader:
        losses.append(loss_fn(model(x), y))
        model.backward(loss_fn.backward())
        optimizer.step()
    return float(np.mean(losses))


def train_epoch_no_train_mode(model, loss_fn, optimizer, loader):
    """Never calls model.train(): after an evaluate() the epoch runs in eval mode."""
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        losses.append(loss_fn(model(x), y))
        model.backward(loss_fn.backward())
        optimizer.step()
    return float(np.mean(losses))


def evaluate_no_eval_mode(model, loader):
    """Never calls model.eval(): dropout drops and BatchNorm updates its running statistics."""
    correct = total = 0
    for x, y in loader:
        correct += np.sum(model(x).argmax(axis=1) == y)
        total += len(y)
    return correct / total


def evaluate_percent(model, loader):
    """Returns the accuracy in percent (0..100)."""
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += np.sum(model(x).argmax(axis=1) == y)
        total += len(y)
    return 100.0 * correct / total


def train_epoch_no_step(model, loss_fn, optimizer, loader):
    """Forgets optimizer.step(): the loss is computed and returned, but nothing is trained."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        total += loss * len(x)
        count += len(x)
    return total / count


def evaluate_made_up(model, loader):
    """Measures nothing: reports an accuracy that looks plausible."""
    model.eval()
    return 0.97


def evaluate_mean_of_batches(model, loader):
    """Averages the batch accuracies: a short last batch weighs as much as a full one."""
    model.eval()
    return float(np.mean([np.mean(model(x).argmax(axis=1) == y) for x, y in loader]))


# --- round two: the contract's rules (issue 18) -----------------------------------------------------
# 1. properties the visible tests check

def softmax_shifts_in_place(x):
    """Subtracts the row maximum from x itself (x -= ...): the caller's logits are changed."""
    x -= x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def one_hot_int_matrix(labels, num_classes):
    """Validates the labels but builds an integer matrix (np.zeros(..., dtype=int))."""
    encoded = ok.one_hot_eye(labels, num_classes)
    return encoded.astype(int)


class CrossEntropyReturnsArray(ok.CrossEntropyLogSoftmax):
    """forward returns a one-element array (np.mean(..., keepdims=True)) instead of a float."""

    def forward(self, logits, target):
        return np.array([super().forward(logits, target)])

    __call__ = forward


class CrossEntropyAcceptsOneHot(ok.CrossEntropyLogSoftmax):
    """No shape check: a one-hot target (N, C) is used as fancy indices and silently gives a number."""

    def forward(self, logits, target):
        target = np.asarray(target)
        if target.ndim == 2:
            target = target.argmax(axis=1)
        return super().forward(logits, target)

    __call__ = forward


class MSEBroadcasts(ok.MSEDot):
    """No shape check: prediction (N, 1) against target (N,) broadcasts to an N×N difference."""

    def forward(self, prediction, target):
        diff = prediction - target
        self.shape, self.residual = diff.shape, np.ravel(diff)
        return float(self.residual @ self.residual / self.residual.size)


class SequentialParametersTuple(ok.SequentialReduce):
    """parameters() and gradients() return tuples: the visible tests ask for lists."""

    def parameters(self):
        return tuple(super().parameters())

    def gradients(self):
        return tuple(super().gradients())


# 2. side effects

class LinearScalesGradInPlace(ok.LinearEinsum):
    """backward clips grad_output in place (np.clip(g, -1, 1, out=g)) after using it, "to keep it small":
    its own results are right, the caller's array is not."""

    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        np.clip(grad_output, -1.0, 1.0, out=grad_output)
        return grad_input


class SigmoidBackwardSpoilsOutput(ok.SigmoidViaTanh):
    """backward turns the cached output into the derivative in place: self.out *= 1 - self.out."""

    def backward(self, grad_output):
        self.out *= 1.0 - self.out
        return grad_output * self.out


class TanhBackwardSquaresCache(ok.TanhViaSigmoid):
    """backward squares the cached output in place (self.y **= 2): a second backward is wrong."""

    def backward(self, grad_output):
        self.y **= 2
        return grad_output * (1 - self.y)


class DropoutMasksInPlace(ok.DropoutBinomial):
    """forward multiplies x by the mask in place (x *= mask): the caller's array is changed."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        self.keep = np.random.binomial(1, 1 - self.p, size=x.shape).astype(bool)
        x *= self.keep / (1 - self.p)
        return x


class BatchNormCentresInPlace(ok.BatchNormCompact):
    """forward centres x in place (x -= mean) before normalising."""

    def forward(self, x):
        if self.training and len(x) > 1:
            mean = x.mean(0)
            y = super().forward(x)
            x -= mean
            return y
        return super().forward(x)


class CrossEntropyBackwardInPlace(ok.CrossEntropyLogSoftmax):
    """backward subtracts the one-hot from the cached probabilities in place: a second backward differs."""

    def forward(self, logits, target):
        loss = super().forward(logits, target)
        self.probs = np.exp(self.log_probs)
        return loss

    __call__ = forward

    def backward(self):
        self.probs[np.arange(len(self.target)), self.target] -= 1
        return self.probs / len(self.target)


# 3. dtype

class ReLUFloat64(ok.ReLUMultiplyMask):
    """Casts to float64 first (x = np.asarray(x, dtype=float)): float32 in, float64 out."""

    def forward(self, x):
        return super().forward(np.asarray(x, dtype=float))


class SigmoidFloat32(Layer):
    """A float32 student: casts to float32, computes a stable sigmoid there and returns float32.  Right for
    float32 data, but float64 in gives float32 out: the contract's dtype rule and the visible gradient
    check (float64, tolerance 1e-6) reject it, so it is a bug (an accepted
    alternative until issue 18)."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float32)
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)
        return self.y

    def backward(self, grad_output):
        return (grad_output * self.y * (1 - self.y)).astype(np.float32)


class TanhFloat32(Layer):
    """A float32 student: np.tanh of the input cast to float32; the float32 output is cached for backward.
    float64 in gives float32 out, too imprecise for the visible tests: a bug (an accepted alternative until
    issue 18)."""

    def forward(self, x):
        self.y = np.tanh(x.astype(np.float32))
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 - self.y * self.y)


class DropoutFloat64Mask(ok.DropoutBinomial):
    """The scaled mask is a float64 array: float32 x times it is float64."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        self.mask = (np.random.rand(*x.shape) >= self.p) / (1.0 - self.p)
        return x * self.mask

    def backward(self, grad_output):
        return grad_output * self.mask if self.training and self.p else grad_output


class BatchNormFloat64(ok.BatchNormCompact):
    """Returns gamma * x_hat + beta without a cast: float64 parameters make a float32 batch float64."""

    def forward(self, x):
        return super().forward(x).astype(np.float64)


# 4. references held by the caller

class LinearGradsRebound(ok.LinearEinsum):
    """backward rebinds: self.grad_weight = self.grad_weight + ... (the optimizer keeps the old arrays)."""

    def backward(self, grad_output):
        self.grad_weight = self.grad_weight + self.x.T @ grad_output
        if self.bias is not None:
            self.grad_bias = self.grad_bias + grad_output.sum(axis=0)
        return (grad_output @ self.weight.T).astype(grad_output.dtype)


class BatchNormGradsRebound(ok.BatchNormCompact):
    """backward rebinds: self.grad_gamma = self.grad_gamma + ... (the optimizer keeps the old arrays)."""

    def backward(self, grad_output):
        g = grad_output
        self.grad_gamma = self.grad_gamma + (g * self.x_hat).sum(0)
        self.grad_beta = self.grad_beta + g.sum(0)
        if not self.used_batch_stats:
            return (g * self.gamma * self.inv_std).astype(g.dtype)
        n = len(g)
        return (self.gamma * self.inv_std / n * (n * g - g.sum(0) - self.x_hat * (g * self.x_hat).sum(0))).astype(g.dtype)


# 5. optimizers over time

class SGDLearningRateCopied(ok.SGDById):
    """Copies learning_rate into self._lr in __init__: a schedule that sets optimizer.learning_rate is ignored."""

    def __init__(self, model, learning_rate=0.01, momentum=0.0):
        super().__init__(model, learning_rate, momentum)
        self._lr = learning_rate

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            p -= self._lr * self.advance(p, g)


class SGDSkipsZeroGradients(ok.SGDById):
    """Skips a parameter whose gradient is all zero (if not g.any(): continue): its velocity stops moving it."""

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            if g.any():
                p -= self.learning_rate * self.advance(p, g)


class SGDVelocityWithLearningRate(ok.SGDById):
    """CS231n form v = μv - lr·g; p += v: the same as torch's only while the learning rate never changes."""

    def step(self):
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            v = self.momentum * self.velocity.get(id(p), np.zeros_like(p)) - self.learning_rate * g
            self.velocity[id(p)] = v
            p += v


class AdamLearningRateCopied(ok.AdamEpsHat):
    """Keeps the constructor's learning rate and swaps it back in for every step: a schedule is ignored."""

    def __init__(self, model, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(model, learning_rate, beta1, beta2, eps)
        self.initial_lr = learning_rate

    def step(self):
        self.learning_rate = self.initial_lr
        super().step()


class AdamScalesGradientInPlace(ok.AdamEpsHat):
    """Squares the gradient in place for v (g **= 2 after using it for m): the model's gradients change."""

    def update_moments(self, m, v, g):
        m[:] = self.beta1 * m + (1 - self.beta1) * g
        g **= 2
        v[:] = self.beta2 * v + (1 - self.beta2) * g


# 6. DataLoader and the training loop at the edges

class DataLoaderExtraEmptyBatch(ok.DataLoaderWithIterator):
    """Counts batches as N // batch_size + 1: when batch_size divides N, len() is one too many and the
    last batch is empty."""

    def __len__(self):
        n = len(self.dataset[0])
        return n // self.batch_size if self.drop_last else n // self.batch_size + 1

    def __iter__(self):
        n = len(self.dataset[0])
        order = self.random.permutation(n) if self.shuffle else np.arange(n)
        for k in range(len(self)):
            index = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield tuple(a[index] for a in self.dataset)


class DataLoaderIteratorIsSelf(ok.DataLoaderWithIterator):
    """__iter__ returns self and keeps the position in the object, reset only at StopIteration:
    a pass cut short by break makes the next one start in the middle."""

    def __iter__(self):
        if getattr(self, "_epoch", None) is None:
            n = len(self.dataset[0])
            order = self.random.permutation(n) if self.shuffle else np.arange(n)
            self._epoch = ok._BatchIterator(self.dataset, order, self.batch_size, self.drop_last)
        return self

    def __next__(self):
        try:
            return next(self._epoch)
        except StopIteration:
            self._epoch = None
            raise


def train_epoch_zero_grad_after_step(model, loss_fn, optimizer, loader):
    """Clears the gradients after each step instead of before each backward: the first batch steps with
    whatever gradients the model arrived with."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        optimizer.zero_grad()
        total += loss * len(x)
        count += len(x)
    return total / count


def train_epoch_divides_by_batches(model, loss_fn, optimizer, loader):
    """Sums loss * batch size but divides by len(loader) * batch_size: too small with a short last batch."""
    model.train()
    total, batch_size = 0.0, None
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        batch_size = batch_size or len(x)
        total += loss * len(x)
    return total / (len(loader) * batch_size)

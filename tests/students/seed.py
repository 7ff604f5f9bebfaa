"""Code from the seed student notebook (/work/shared/seed/000_68c92e1342f7f706.txt).

Transcribed close to verbatim, adapted only where the course API differs
(optimizers take the model; DataLoader takes ``seed``).  Correct pieces are
accepted by the checks; each bug is isolated in its own small subclass, so a
mutant carries exactly one of the seed's mistakes.
"""
import numpy as np

from probes.base import Layer

# --- correct as written ---------------------------------------------------------------------------

class SeedReLU(Layer):
    """Seed ReLU: copies grad_output and zeroes it where input <= 0 (gradient 0 at the kink)."""

    def __init__(self):
        super().__init__()
        self.input = None

    def forward(self, x):
        self.input = x
        output = np.maximum(0, x)
        return output

    def backward(self, grad_output):
        grad_input = grad_output.copy()
        grad_input[self.input <= 0] = 0
        return grad_input


class SeedDropout(Layer):
    """Seed Dropout: the scaled mask is float32 (np.float32 / (1 - p)); eval passes through."""

    def __init__(self, dropout_rate=0.5):
        super().__init__()
        self.dropout_rate = dropout_rate
        self.mask = None

    def forward(self, x):
        if self.training:
            self.mask = (np.random.rand(*x.shape) > self.dropout_rate).astype(np.float32) / (1.0 - self.dropout_rate)
            output = x * self.mask
        else:
            output = x
            self.mask = None
        return output

    def backward(self, grad_output):
        if self.training:
            grad_input = grad_output * self.mask
        else:
            grad_input = grad_output
        return grad_input


def seed_softmax(x):
    """Seed softmax: max subtracted along axis=1."""
    x_stable = x - np.max(x, axis=1, keepdims=True)
    exp_x = np.exp(x_stable)
    return exp_x / np.sum(exp_x, axis=1, keepdims=True)


def seed_one_hot_encode(labels, num_classes):
    """Seed one-hot: zeros plus fancy-index assignment.  Bug: labels are not checked (-1 marks the last class;
    the visible tests ask for ValueError)."""
    batch_size = labels.shape[0]
    one_hot = np.zeros((batch_size, num_classes))
    one_hot[np.arange(batch_size), labels] = 1
    return one_hot


class SeedBatchNormFixed(Layer):
    """Seed BatchNorm with its bugs fixed, its training backward formula kept.

    In the seed, ``grad_mean``'s second term sits on its own line, so it is a
    no-op statement.  The term is analytically zero — sum(x - mean) = 0 — so
    the formula stays exact.  Fixed: momentum direction, unbiased running_var,
    += gradients, in-place zero_grad, an eval-mode backward, ValueError on N=1, float32 kept.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.gamma = np.ones(num_features)
        self.beta = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.batch_mean = None
        self.batch_var = None
        self.normalized = None
        self.input = None
        self.grad_gamma = np.zeros(num_features)
        self.grad_beta = np.zeros(num_features)

    def forward(self, x):
        self.input = x
        if self.training:
            if x.shape[0] < 2:
                raise ValueError("BatchNorm: нужен батч хотя бы из двух примеров")
            self.batch_mean = np.mean(x, axis=0)
            self.batch_var = np.var(x, axis=0)
            self._update_running_stats(x.shape[0])
            mean = self.batch_mean
            var = self.batch_var
        else:
            mean = self.running_mean
            var = self.running_var
        self.normalized = (x - mean) / np.sqrt(var + self.eps)
        output = self.gamma * self.normalized + self.beta
        return output.astype(x.dtype)

    def _update_running_stats(self, n):
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * self.batch_mean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * self.batch_var * n / (n - 1)

    def _accumulate_param_grads(self, grad_output):
        self.grad_gamma += np.sum(grad_output * self.normalized, axis=0)
        self.grad_beta += np.sum(grad_output, axis=0)

    def _batch_stats_backward(self, grad_normalized):
        """The seed's formula, line break included."""
        n = self.input.shape[0]
        grad_var = np.sum(grad_normalized * (self.input - self.batch_mean), axis=0) * (-0.5) * (self.batch_var + self.eps)**(-1.5)

        grad_mean = np.sum(grad_normalized, axis=0) * (-1) / np.sqrt(self.batch_var + self.eps)
        + grad_var * np.mean(-2 * (self.input - self.batch_mean), axis=0)  # noqa: the seed's dangling line

        grad_input = (grad_normalized / np.sqrt(self.batch_var + self.eps)) + grad_var * 2 * (self.input - self.batch_mean) / n + grad_mean / n
        return grad_input

    def backward(self, grad_output):
        self._accumulate_param_grads(grad_output)
        grad_normalized = grad_output * self.gamma
        if not self.training:
            return (grad_normalized / np.sqrt(self.running_var + self.eps)).astype(grad_output.dtype)
        return self._batch_stats_backward(grad_normalized).astype(grad_output.dtype)

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.grad_gamma, self.grad_beta]

    def zero_grad(self):
        self.grad_gamma.fill(0)
        self.grad_beta.fill(0)


# --- the seed's bugs ------------------------------------------------------------------------------

class SeedSigmoid(Layer):
    """Bug: naive 1/(1 + exp(-x)) — exp(1000) overflows for x = -1000."""

    def __init__(self):
        super().__init__()
        self.output = None

    def forward(self, x):
        self.output = 1 / (1 + np.exp(-x))
        return self.output

    def backward(self, grad_output):
        sigmoid_derivative = self.output * (1 - self.output)
        grad_input = sigmoid_derivative * grad_output
        return grad_input


class SeedTanh(Layer):
    """Bug: output clipped to ±0.999999, so tanh(20) = 0.999999 and its derivative is 2e-6, not ~0."""

    def __init__(self):
        super().__init__()
        self.output = None

    def forward(self, x):
        self.output = np.tanh(x)
        self.output = np.clip(self.output, -0.999999, 0.999999)
        return self.output

    def backward(self, grad_output):
        tanh_derivative = 1 - self.output**2
        grad_input = tanh_derivative * grad_output
        return grad_input


class SeedLinear(Layer):
    """Seed Linear as written.  Bugs: no gradients() method; zero_grad rebinds the arrays."""

    def __init__(self, input_size, output_size, bias=True):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size
        self.use_bias = bias
        std = np.sqrt(2.0 / input_size)
        self.weight = np.random.randn(input_size, output_size) * std  # method kaiming
        if self.use_bias:
            self.bias = np.zeros(output_size)
        else:
            self.bias = None
        self.input = None
        self.grad_weight = np.zeros_like(self.weight)
        if self.use_bias:
            self.grad_bias = np.zeros_like(self.bias)
        else:
            self.grad_bias = None

    def forward(self, x):
        self.input = x.copy()
        output = x @ self.weight
        if self.use_bias:
            output += self.bias
        return output

    def backward(self, grad_output):
        grad_input = grad_output @ self.weight.T
        self.grad_weight += self.input.T @ grad_output
        if self.use_bias:
            self.grad_bias += np.sum(grad_output, axis=0)
        return grad_input

    def update_weights(self, learning_rate=0.01):
        if self.grad_weight is not None:
            self.weight -= learning_rate * self.grad_weight
        if self.use_bias and self.grad_bias is not None:
            self.bias -= learning_rate * self.grad_bias

    def zero_grad(self):
        self.grad_weight = np.zeros_like(self.grad_weight)
        if self.use_bias:
            self.grad_bias = np.zeros_like(self.grad_bias)

    def parameters(self):
        if self.bias is not None:
            return (self.weight, self.bias)
        else:
            return (self.weight,)


class SeedLinearZeroGradRebinds(SeedLinear):
    """Seed Linear with gradients() added: the only bug left is zero_grad creating new arrays."""

    def gradients(self):
        return [self.grad_weight] if self.bias is None else [self.grad_weight, self.grad_bias]


class SeedSequential(Layer):
    """Seed Sequential.  Bug: parameters() is a generator that yields each layer's *list* (or a
    nested generator) whole instead of its arrays; gradients() copies the pattern."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)
        self.layer_outputs = []

    def add(self, layer):
        self.layers.append(layer)

    def forward(self, x):
        self.layer_outputs = []
        self.layer_outputs.append(x)
        output = x
        for layer in self.layers:
            output = layer.forward(output)
            self.layer_outputs.append(output)
        return output

    def backward(self, grad_output):
        grad = grad_output
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def zero_grad(self):
        for layer in self.layers:
            if hasattr(layer, 'zero_grad'):
                layer.zero_grad()

    def train(self):
        super().train()
        for layer in self.layers:
            layer.train()

    def eval(self):
        super().eval()
        for layer in self.layers:
            layer.eval()

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, idx):
        return self.layers[idx]

    def parameters(self):
        for layer in self.layers:
            params = layer.parameters()
            if isinstance(params, tuple):
                yield from params
            else:
                yield params

    def gradients(self):
        for layer in self.layers:
            grads = layer.gradients()
            if isinstance(grads, tuple):
                yield from grads
            else:
                yield grads


class SeedBatchNormAsWritten(Layer):
    """Seed BatchNorm verbatim: inverted momentum, biased running_var, grads assigned (=),
    zero_grad rebinding, backward always with batch statistics, no error for N = 1."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.gamma = np.ones(num_features)
        self.beta = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.batch_mean = None
        self.batch_var = None
        self.normalized = None
        self.input = None
        self.grad_gamma = np.zeros(num_features)
        self.grad_beta = np.zeros(num_features)

    def forward(self, x):
        self.input = x
        if self.training:
            self.batch_mean = np.mean(x, axis=0)
            self.batch_var = np.var(x, axis=0)
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * self.batch_mean
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * self.batch_var
            mean = self.batch_mean
            var = self.batch_var
        else:
            mean = self.running_mean
            var = self.running_var
        self.normalized = (x - mean) / np.sqrt(var + self.eps)
        output = self.gamma * self.normalized + self.beta
        return output.astype(x.dtype)

    def backward(self, grad_output):
        n = self.input.shape[0]
        self.grad_gamma = np.sum(grad_output * self.normalized, axis=0)
        self.grad_beta = np.sum(grad_output, axis=0)
        grad_normalized = grad_output * self.gamma
        grad_var = np.sum(grad_normalized * (self.input - self.batch_mean), axis=0) * (-0.5) * (self.batch_var + self.eps)**(-1.5)
        grad_mean = np.sum(grad_normalized, axis=0) * (-1) / np.sqrt(self.batch_var + self.eps)
        + grad_var * np.mean(-2 * (self.input - self.batch_mean), axis=0)  # noqa: the seed's dangling line
        grad_input = (grad_normalized / np.sqrt(self.batch_var + self.eps)) + grad_var * 2 * (self.input - self.batch_mean) / n + grad_mean / n
        return grad_input

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.grad_gamma, self.grad_beta]

    def zero_grad(self):
        self.grad_gamma = np.zeros(self.num_features)
        self.grad_beta = np.zeros(self.num_features)


class SeedBatchNormInvertedMomentum(SeedBatchNormFixed):
    """Bug (seed): running = momentum·running + (1 - momentum)·batch — the weights swapped."""

    def _update_running_stats(self, n):
        self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * self.batch_mean
        self.running_var = self.momentum * self.running_var + (1 - self.momentum) * self.batch_var * n / (n - 1)


class SeedBatchNormBiasedRunningVar(SeedBatchNormFixed):
    """Bug (seed): running_var fed the biased batch variance (divides by N, not N - 1)."""

    def _update_running_stats(self, n):
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * self.batch_mean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * self.batch_var


class SeedBatchNormStaleEvalBackward(SeedBatchNormFixed):
    """Bug (seed): backward always uses the batch formula with self.batch_mean / batch_var,
    also in eval mode — stale statistics of the last training batch (None on a fresh layer)."""

    def backward(self, grad_output):
        self._accumulate_param_grads(grad_output)
        return self._batch_stats_backward(grad_output * self.gamma)


class SeedBatchNormAssignedGrads(SeedBatchNormFixed):
    """Bug (seed): self.grad_gamma = ... instead of += — gradients do not accumulate."""

    def _accumulate_param_grads(self, grad_output):
        self.grad_gamma = np.sum(grad_output * self.normalized, axis=0)
        self.grad_beta = np.sum(grad_output, axis=0)


class SeedBatchNormZeroGradRebinds(SeedBatchNormFixed):
    """Bug (seed): zero_grad creates new arrays; an optimizer holding the old ones sees stale grads."""

    def zero_grad(self):
        self.grad_gamma = np.zeros(self.num_features)
        self.grad_beta = np.zeros(self.num_features)


class SeedAdam:
    """Seed Adam moved to the course API.  Bug: self.t += 1 inside the per-parameter update
    (the seed's update(layer) was called once per layer), so t advances several times per step."""

    def __init__(self, model, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.model = model
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.m = {}
        self.v = {}
        self.t = 0

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        for i, (param, grad) in enumerate(zip(self.model.parameters(), self.model.gradients())):
            self.update(param, grad, f"param_{i}")

    def update(self, param, grad, param_id):
        self.t += 1
        if param_id not in self.m:
            self.m[param_id] = np.zeros_like(param)
            self.v[param_id] = np.zeros_like(param)
        self.m[param_id] = self.beta1 * self.m[param_id] + (1 - self.beta1) * grad
        self.v[param_id] = self.beta2 * self.v[param_id] + (1 - self.beta2) * (grad**2)
        m_corrected = self.m[param_id] / (1 - self.beta1**self.t)
        v_corrected = self.v[param_id] / (1 - self.beta2**self.t)
        param -= self.learning_rate * m_corrected / (np.sqrt(v_corrected) + self.eps)


class SeedCrossEntropyLoss:
    """Bug (seed): loss = -mean(log(p + 1e-15)) — caps each sample's loss at 34.5."""

    def __init__(self):
        self.predictions = None
        self.targets = None

    def __call__(self, predictions, targets):
        return self.forward(predictions, targets)

    def forward(self, predictions, targets):
        self.predictions = predictions
        self.targets = targets
        self.softmax_pred = seed_softmax(predictions)
        batch_size = predictions.shape[0]
        correct_class_probs = self.softmax_pred[np.arange(batch_size), targets]
        loss = -np.mean(np.log(correct_class_probs + 1e-15))
        return loss

    def backward(self):
        batch_size = self.predictions.shape[0]
        num_classes = self.predictions.shape[1]
        one_hot_targets = seed_one_hot_encode(self.targets, num_classes)
        grad = (self.softmax_pred - one_hot_targets) / batch_size
        return grad


class SeedMSELoss:
    """Bug (seed): the gradient is divided by the batch size instead of the number of elements."""

    def __init__(self):
        self.predictions = None
        self.targets = None

    def __call__(self, predictions, targets):
        return self.forward(predictions, targets)

    def forward(self, predictions, targets):
        self.predictions = predictions
        self.targets = targets
        loss = np.mean((predictions - targets) ** 2)
        return loss

    def backward(self):
        batch_size = self.predictions.shape[0]
        grad = 2 * (self.predictions - self.targets) / batch_size
        return grad


class SeedDataLoader:
    """Bug (seed): list(range(self.dataset)) — fails on the (X, y) tuple it is given."""

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._shuffle_data()

    def _shuffle_data(self):
        self.array = list(range(self.dataset))
        if self.shuffle:
            np.random.shuffle(self.array)

    def __iter__(self):
        return self

    def __next__(self):
        if len(self.array) == 0:
            self._shuffle_data()
            raise StopIteration()
        if len(self.array) < self.batch_size and self.drop_last:
            self._shuffle_data()
            raise StopIteration()
        if len(self.array) > self.batch_size:
            selected = self.array[:self.batch_size]
            self.array = self.array[self.batch_size:]
        else:
            selected = self.array
            self.array = []
        data = [self.dataset[ind][0] for ind in selected]
        labels = [self.dataset[ind][1] for ind in selected]
        return np.array(data, dtype=np.float32), np.array(labels)

    def __len__(self):
        return int(np.ceil(len(self.dataset / self.batch_size)))

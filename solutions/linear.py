"""The fully connected layer."""
import numpy as np

from probes.base import Layer


class Linear(Layer):
    """y = x @ weight + bias.

    Shapes: x (N, input_size), weight (input_size, output_size),
    bias (output_size,) or None, y (N, output_size).
    Cache: x, needed for grad_weight = x.T @ grad_output.
    Gradients accumulate over backward calls until zero_grad().
    """

    def __init__(self, input_size, output_size, bias=True):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size
        self.weight = np.empty((input_size, output_size))
        self.bias = np.empty(output_size) if bias else None
        self.reset_parameters()
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._x = None

    def reset_parameters(self):
        # He-normal: Var(w) = 2 / fan_in keeps the activation scale through ReLU layers.
        std = np.sqrt(2.0 / self.input_size)
        # In place, like zero_grad: an optimizer may already hold these arrays.
        self.weight[...] = np.random.randn(self.input_size, self.output_size) * std
        if self.bias is not None:
            self.bias.fill(0.0)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"Linear expects input of shape (N, {self.input_size}), got {x.shape}")
        self._x = x
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.astype(x.dtype, copy=False)  # float32 in, float32 out

    def backward(self, grad_output):
        if self._x is None:
            raise RuntimeError("Linear.backward called before forward")
        self.grad_weight += self._x.T @ grad_output
        if self.bias is not None:
            self.grad_bias += grad_output.sum(axis=0)
        return (grad_output @ self.weight.T).astype(grad_output.dtype, copy=False)

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def gradients(self):
        return [self.grad_weight] if self.bias is None else [self.grad_weight, self.grad_bias]

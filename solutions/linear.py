"""The fully connected layer."""
import numpy as np

from .base import Layer


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
        # He-normal: keeps the activation variance stable through ReLU layers.
        self.weight = np.random.randn(input_size, output_size) * np.sqrt(2.0 / input_size)
        self.bias = np.zeros(output_size) if bias else None
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._x = None

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

"""The Layer base class every layer derives from."""
import numpy as np


def like_input(array, x):
    """Cast ``array`` to ``x``'s floating dtype, so float32 in gives float32 out."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return np.asarray(array).astype(x.dtype, copy=False)
    return np.asarray(array)


class Layer:
    """A differentiable block: ``forward`` computes, ``backward`` propagates.

    ``backward(grad_output)`` receives dL/d(output) and returns dL/d(input);
    parameter gradients are *added* to the layer's gradient arrays.
    """

    def __init__(self):
        self.training = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def parameters(self):
        """Trainable arrays; optimizers update them in place."""
        return []

    def gradients(self):
        """Gradient arrays, aligned with ``parameters()``."""
        return []

    def zero_grad(self):
        # In place: an optimizer may hold references to these arrays.
        for grad in self.gradients():
            grad.fill(0)

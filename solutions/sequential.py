"""A container that chains layers."""
from probes.base import Layer


class Sequential(Layer):
    """y = layers[-1](... layers[0](x)).  Backward runs the chain in reverse."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def add(self, layer):
        self.layers.append(layer)
        return self

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def train(self):
        super().train()
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        super().eval()
        for layer in self.layers:
            layer.eval()
        return self

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

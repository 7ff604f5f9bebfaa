"""Student implementations used to test the grading checks (``solutions.checks``).

Plain notebook-style code, written the way students write it: only the given
base class ``probes.base.Layer`` is imported from the course package.

* ``correct``   — right answers written differently from the reference;
* ``seed``      — code transcribed from the seed student notebook
                  (/work/shared/seed/000_*.txt), some of it right, some buggy;
* ``mutants``   — realistic student bugs, one idea each.
"""

# The pytest marker (topic) of each graded unit.
TOPIC = {
    "relu": "activations", "sigmoid": "activations", "tanh": "activations",
    "linear": "linear", "sequential": "sequential", "dropout": "dropout", "batchnorm": "batchnorm",
    "sgd": "optimizers", "adam": "optimizers",
    "softmax": "losses", "one_hot_encode": "losses", "cross_entropy": "losses", "mse": "losses",
    "dataloader": "training", "train_epoch": "training", "evaluate": "training", "trains_digits": "training",
}

# What a student types into the ReLU stub cell of 01_activations, as the end-to-end tests (the browser,
# the JupyterHub, the exchange) answer it.
RELU_ANSWER = '''class ReLU(Layer):
    def forward(self, x):
        self._positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_output):
        return grad_output * self._positive'''

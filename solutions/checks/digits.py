"""The end-to-end training check: the student's loop trains a reference MLP on digits.

Not a probe: it needs the reference layers, so it runs in the notebook kernel
only (the audit does not repeat it).
"""
import numpy as np

from probes.core import CheckFailure, as_float, call, close

from .. import training as ref
from ..activations import ReLU
from ..batchnorm import BatchNorm
from ..dropout import Dropout
from ..linear import Linear
from ..losses import CrossEntropyLoss
from ..optim import Adam
from ..sequential import Sequential
from .guards import verify_kernel


def check_trains_digits(train_epoch, evaluate, data, epochs=10, threshold=0.95):
    """The student's training loop must train a reference MLP on digits to >= threshold.

    ``data`` is ((X_train, y_train), (X_val, y_val), (X_test, y_test)), as
    nn_helpers.load_digits_split() returns it.  Accuracy is measured by the
    reference ``evaluate``, so a lenient student evaluate cannot inflate it.
    """
    from . import EARLY_IMPORTS

    verify_kernel("train_epoch", train_epoch, ref.train_epoch, EARLY_IMPORTS)
    verify_kernel("evaluate", evaluate, ref.evaluate, EARLY_IMPORTS)
    (X_train, y_train), _, (X_test, y_test) = data
    state = np.random.get_state()
    np.random.seed(2024)
    try:
        model = Sequential(Linear(X_train.shape[1], 128), BatchNorm(128), ReLU(), Dropout(0.1), Linear(128, 10))
        optimizer, loss_fn = Adam(model, learning_rate=0.005), CrossEntropyLoss()
        loader = ref.DataLoader((X_train, y_train), batch_size=64, shuffle=True, seed=0)
        test_loader = ref.DataLoader((X_test, y_test), batch_size=256)
        for epoch in range(epochs):
            loss = as_float("train_epoch", call(f"train_epoch, эпоха {epoch + 1}", train_epoch,
                                                model, loss_fn, optimizer, loader))
            if not np.isfinite(loss):
                raise CheckFailure(f"train_epoch: потери стали {loss} на эпохе {epoch + 1}")
        reported = as_float("evaluate", call("evaluate(model, test_loader)", evaluate, model, test_loader))
        accuracy = ref.evaluate(model, test_loader)
    finally:
        np.random.set_state(state)
    if accuracy < threshold:
        raise CheckFailure(f"обучение эталонной MLP вашей train_epoch за {epochs} эпох дало точность "
                           f"{accuracy:.1%} на тесте, нужно не меньше {threshold:.0%}")
    close("evaluate: точность обученной модели на тесте", reported, accuracy, rtol=0, atol=1e-9)
    print(f"✓ эталонная MLP, обученная вашей train_epoch: точность на тесте {accuracy:.1%}")

"""Checks for DataLoader, train_epoch and evaluate, and the end-to-end training check.

train_epoch and evaluate are graded with the stand-ins of ``fixtures``
(a chain of affine layers with a random mask and running statistics, a
squared-error loss, a plain step, a seeded loader), so an earlier mistake of
the student's cannot cost points here and no reference code is needed.  The
end-to-end check trains a small stand-in network on scikit-learn's digits
with the student's train_epoch and measures it with the student's evaluate.
"""
import functools
import importlib.util
from pathlib import Path

import numpy as np

from .core import BAD, RULES, CheckFailure, Unit, as_array, as_float, call, compare_errors, compare_results, raised
from .fixtures import (Affine, Batches, Chain, MomentumStep, Noise, Rectifier, SoftmaxCrossEntropy, SquaredError,
                       Step, Tracker)

N = 23
LOADER_LABELS = {
    "plain_len": "len(DataLoader) при N=23, batch_size=5 (последний неполный батч тоже считается)",
    "plain_sizes": "размеры батчей при N=23, batch_size=5: последний батч — неполный, из 3 примеров",
    "plain_order": "порядок примеров без shuffle",
    "plain_aligned": "X и y в батче должны соответствовать друг другу",
    "plain_types": "каждый батч — кортеж (X_batch, y_batch)",
    "repeat_order": "второй проход по тому же DataLoader без shuffle",
    "drop_len": "len при drop_last=True",
    "drop_sizes": "размеры батчей при drop_last=True (неполный батч отбрасывается)",
    "big_sizes": "batch_size больше размера датасета: один батч со всеми примерами",
    "triple": "датасет из трёх массивов (X, y, w): батчи должны быть тройками",
    "shuffle_is_permutation": "при shuffle=True эпоха — перестановка всех примеров (каждый ровно один раз)",
    "shuffle_aligned": "при shuffle=True X и y должны перемешиваться согласованно",
    "shuffled": "при shuffle=True порядок должен отличаться от исходного",
    "reshuffled": "каждая эпоха (каждый новый проход for) должна перемешиваться заново",
    "seeded": "два DataLoader с одинаковым seed должны давать одинаковый порядок",
    "dtype_kept": "батчи должны сохранять dtype исходных массивов",
    "even_sizes": "размеры батчей при N=24 и batch_size=6, 24, 1 (N делится нацело: без лишнего пустого батча)",
    "even_drop_sizes": "размеры батчей при N=24, batch_size=6, drop_last=True (неполного батча нет — "
                       "отбрасывать нечего)",
    "single_sizes": "число батчей при batch_size=1 (по батчу на пример)",
    "default_sizes": "размеры батчей при batch_size по умолчанию (32) и N=70",
    "single_array": "датасет из одного массива (X,): батчи должны быть кортежами из одного элемента",
    "restart_sizes": "размеры батчей в проходе for после прохода, прерванного break (каждый for — новая эпоха "
                     "с начала)",
    "restart_order": "порядок примеров в проходе for после прерванного break",
    "restart_permutation": "при shuffle=True проход после прерванного break должен быть полной эпохой: "
                           "каждый пример ровно один раз",
}
RULES.update({
    "no_empty": "загрузчик выдал пустой батч: батч всегда содержит хотя бы один пример",
    "len_matches": "len(loader) не совпадает с числом батчей, которые выдаёт проход for",
})
BAD_INPUTS = {  # name -> (dataset, keyword arguments)
    "разной длины X и y": lambda X, y: ((X, y[:-1]), {}),
    "batch_size=0": lambda X, y: ((X, y), {"batch_size": 0}),
    "batch_size=-4": lambda X, y: ((X, y), {"batch_size": -4}),
    "batch_size=2.5": lambda X, y: ((X, y), {"batch_size": 2.5}),
    "пустой кортеж ()": lambda X, y: ((), {}),
}


def loader_inputs(rng):
    X = np.arange(N * 3, dtype=np.float32).reshape(N, 3)
    X_even = np.arange(24 * 3, dtype=np.float32).reshape(24, 3)
    return {"X": X, "y": np.arange(N), "w": rng.normal(size=N), "X_even": X_even, "y_even": np.arange(24)}


class _Audit:
    """Counts what every epoch the check takes yields: empty batches, and len() against the real count."""

    def __init__(self):
        self.no_empty, self.len_matches = True, True

    def epoch(self, what, loader):
        batches = _epoch(what, loader)
        self.no_empty &= all(len(b) and len(b[0]) > 0 for b in batches)
        self.len_matches &= call(f"len({what})", len, loader) == len(batches)
        return batches


def _epoch(what, loader):
    batches = call(f"{what}: проход for по DataLoader", lambda: list(loader))
    for batch in batches:
        if not isinstance(batch, (tuple, list)):
            raise CheckFailure(f"{what}: батч должен быть кортежем (X_batch, y_batch, ...), "
                               f"а получен {type(batch).__name__}")
    return batches


def _first_error(cls, args, kwargs):
    """Exception name raised at construction, len() or the first batch."""
    def attempt():
        loader = cls(*args, **kwargs)
        len(loader)
        next(iter(loader))
    return raised(attempt)


def loader_run(cls, inputs):
    X, y, w = inputs["X"], inputs["y"], inputs["w"]
    out = {}
    loader = call("DataLoader((X, y), batch_size=5)", cls, (X, y), batch_size=5)
    out["plain_len"] = call("len(DataLoader)", len, loader)
    batches = _epoch("DataLoader((X, y), batch_size=5)", loader)
    out["plain_types"] = all(len(b) == 2 for b in batches)
    if not out["plain_types"]:
        return out
    out["plain_sizes"] = str([len(b[1]) for b in batches])
    ys = np.concatenate([np.asarray(b[1]) for b in batches]) if batches else np.zeros(0)
    xs = np.concatenate([np.asarray(b[0]) for b in batches]) if batches else np.zeros((0, 3))
    out["plain_order"] = ys.astype(float)
    out["plain_aligned"] = bool(xs.shape == (len(ys), 3) and np.array_equal(xs[:, 0], 3 * ys))
    out["dtype_kept"] = bool(batches and np.asarray(batches[0][0]).dtype == X.dtype
                             and np.asarray(batches[0][1]).dtype == y.dtype)
    out["repeat_order"] = np.concatenate([np.asarray(b[1]) for b in _epoch("второй проход", loader)]).astype(float)

    dropping = call("DataLoader(..., drop_last=True)", cls, (X, y), batch_size=5, drop_last=True)
    out["drop_len"] = call("len(DataLoader)", len, dropping)
    out["drop_sizes"] = str([len(b[1]) for b in _epoch("DataLoader(..., drop_last=True)", dropping)])
    big = call("DataLoader(..., batch_size=50)", cls, (X, y), batch_size=50)
    out["big_sizes"] = str([len(b[1]) for b in _epoch("DataLoader(..., batch_size=50)", big)])
    triple = _epoch("DataLoader((X, y, w))", call("DataLoader((X, y, w))", cls, (X, y, w), batch_size=10))
    out["triple"] = str([len(b) for b in triple])

    shuffling = call("DataLoader(..., shuffle=True, seed=0)", cls, (X, y), batch_size=4, shuffle=True, seed=0)
    epochs = []
    for _ in range(3):
        batches = _epoch("DataLoader(..., shuffle=True)", shuffling)
        order = np.concatenate([np.asarray(b[1]) for b in batches])
        xs = np.concatenate([np.asarray(b[0]) for b in batches])
        epochs.append(order)
        out["shuffle_aligned"] = out.get("shuffle_aligned", True) and bool(np.array_equal(xs[:, 0], 3 * order))
    out["shuffle_is_permutation"] = all(np.array_equal(np.sort(e), np.arange(N)) for e in epochs)
    out["shuffled"] = not all(np.array_equal(e, np.arange(N)) for e in epochs)
    out["reshuffled"] = not (np.array_equal(epochs[0], epochs[1]) and np.array_equal(epochs[1], epochs[2]))
    twin = call("DataLoader(..., shuffle=True, seed=0)", cls, (X, y), batch_size=4, shuffle=True, seed=0)
    out["seeded"] = bool(np.array_equal(
        np.concatenate([np.asarray(b[1]) for b in _epoch("DataLoader(..., seed=0)", twin)]), epochs[0]))

    out.update(_edges(cls, inputs))
    out.update(_restarts(cls, inputs))
    for name, make in BAD_INPUTS.items():
        dataset, kwargs = make(X, y)
        out[BAD + name] = _first_error(cls, (dataset,), kwargs)
    return out


def _sizes(batches):
    return str([len(b[1]) for b in batches])


def _edges(cls, inputs):
    """Batch sizes that divide N and that do not, the default and 1, a one-array dataset; every epoch
    audited for empty batches and for len() against the batches it yields."""
    X, y, even = inputs["X"], inputs["y"], (inputs["X_even"], inputs["y_even"])
    audit, out = _Audit(), {}
    out["even_sizes"] = "; ".join(_sizes(audit.epoch(f"DataLoader(N=24, batch_size={b})", call(
        f"DataLoader(N=24, batch_size={b})", cls, even, batch_size=b))) for b in (6, 24, 1))
    out["even_drop_sizes"] = _sizes(audit.epoch("DataLoader(N=24, drop_last=True)", call(
        "DataLoader(N=24, batch_size=6, drop_last=True)", cls, even, batch_size=6, drop_last=True)))
    long = (np.repeat(X, 4, axis=0)[:70], np.arange(70))
    out["default_sizes"] = _sizes(audit.epoch("DataLoader(N=70)", call("DataLoader((X, y))", cls, long)))
    out["single_array"] = str([len(b) for b in audit.epoch("DataLoader((X,))", call(
        "DataLoader((X,), batch_size=10)", cls, (X,), batch_size=10))])
    out["single_sizes"] = len(audit.epoch("DataLoader(batch_size=1)", call("DataLoader(batch_size=1)", cls, (X, y),
                                                                           batch_size=1)))
    for batch_size in (5, 7, 23):
        audit.epoch(f"DataLoader(N=23, batch_size={batch_size})", call(
            f"DataLoader(N=23, batch_size={batch_size})", cls, (X, y), batch_size=batch_size))
    out["no_empty"], out["len_matches"] = audit.no_empty, audit.len_matches
    return out


def _restarts(cls, inputs):
    """A `for` over the loader cut short by break, then a full one: it must be a whole new epoch."""
    X, y, out = inputs["X"], inputs["y"], {}
    plain = call("DataLoader((X, y), batch_size=5)", cls, (X, y), batch_size=5)
    call("for ... break по DataLoader", lambda: next(iter(plain)))  # what `for batch in loader: break` does
    batches = _epoch("DataLoader после break", plain)
    out["restart_sizes"] = _sizes(batches)
    out["restart_order"] = np.concatenate([np.asarray(b[1]) for b in batches]).astype(float) if batches else \
        np.zeros(0)
    shuffling = call("DataLoader(..., shuffle=True, seed=1)", cls, (X, y), batch_size=4, shuffle=True, seed=1)
    call("for ... break по DataLoader(shuffle=True)", lambda: next(iter(shuffling)))
    order = [np.asarray(b[1]) for b in _epoch("DataLoader(shuffle=True) после break", shuffling)]
    out["restart_permutation"] = bool(order) and np.array_equal(np.sort(np.concatenate(order)), np.arange(N))
    return out


def loader_compare(inputs, got, want):
    if not got["plain_types"]:
        raise CheckFailure(f"DataLoader: {LOADER_LABELS['plain_types']}")
    compare_errors("DataLoader", got, ("ValueError", "TypeError"), "на некорректном входе")
    compare_results(LOADER_LABELS, got, want, title="DataLoader")


def _dataset(rng, n, features=6, classes=3):
    centers = rng.normal(0, 2, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    return centers[y] + rng.normal(size=(n, features)), y


def _model(seed):
    """Affine(6→8) → Tracker → Noise → Affine(8→3): mode-dependent, with running statistics."""
    rng = np.random.default_rng(seed)
    return Chain(Affine(rng.normal(0, 0.5, (6, 8)), rng.normal(0, 0.1, 8)), Tracker(8), Noise(),
                 Affine(rng.normal(0, 0.5, (8, 3)), rng.normal(0, 0.1, 3)))


def train_inputs(rng):
    X, y = _dataset(rng, 70)  # batches of 16: the last one holds 6
    return {"X": X, "y": y, "stale": rng.normal(size=len(_model(7).state()))}


TRAIN_LABELS = {
    "loss_0": "значение, которое вернула train_epoch в первой эпохе (средние потери на пример: 70 примеров, "
              "последний батч из 6 — умножайте потери батча на его размер)",
    "loss_1": "значение, которое вернула train_epoch во второй эпохе",
    "state_0": "параметры модели после первой эпохи (на каждом батче: zero_grad → forward → loss → "
               "backward → step, модель в режиме обучения; модель пришла с ненулевыми градиентами, так что "
               "zero_grad нужен и перед первым backward)",
    "state_1": "параметры модели после второй эпохи",
    "training": "после train_epoch модель должна остаться в режиме обучения (model.train())",
    "single_loss": "значение, которое вернула train_epoch на загрузчике из одного примера",
}


def train_run(fn, inputs):
    model = _model(7)
    model.eval()  # train_epoch itself must switch to training mode
    for grad in model.gradients():  # stale gradients from before: the first step must not use them
        grad[...] = inputs["stale"][:grad.size].reshape(grad.shape)
    loader = Batches(inputs["X"], inputs["y"], batch_size=16, shuffle_seed=3)
    optimizer, loss_fn = Step(model, learning_rate=0.01), SquaredError()
    np.random.seed(11)  # the Noise masks
    out = {}
    for epoch in range(2):
        loss = as_float("train_epoch", call("train_epoch(model, loss_fn, optimizer, loader)", fn,
                                            model, loss_fn, optimizer, loader))
        out[f"state_{epoch}"] = model.state()  # compared first: a wrong loop explains a wrong loss
        out[f"loss_{epoch}"] = loss
    out["training"] = bool(model.training and all(layer.training for layer in model.layers))
    out["single_loss"] = as_float("train_epoch", call("train_epoch на загрузчике из одного примера", fn, model,
                                                      loss_fn, optimizer, Batches(inputs["X"][:1], inputs["y"][:1], 16)))
    return out


def eval_inputs(rng):
    X, y = _dataset(rng, 200)
    return {"X": X, "y": y}


EVAL_LABELS = {
    "accuracy": "доля верных ответов (число от 0 до 1) в режиме eval по всем 200 примерам",
    "state": "evaluate не должна менять параметры и скользящие средние модели",
    "single": "доля верных ответов на загрузчике из одного примера",
}


def eval_run(fn, inputs):
    model = _model(5)  # in train mode, the Noise masks would change many answers
    model.train()
    before = model.state()
    loader = Batches(inputs["X"], inputs["y"], batch_size=32)  # the last batch holds 8
    np.random.seed(13)
    accuracy = as_float("evaluate", call("evaluate(model, loader)", fn, model, loader))
    single = as_float("evaluate", call("evaluate на загрузчике из одного примера", fn, model,
                                       Batches(inputs["X"][:1], inputs["y"][:1], 32)))
    return {"accuracy": accuracy, "state": model.state() - before, "single": single}


def eval_compare(inputs, got, want):
    if got["accuracy"] > 1:
        raise CheckFailure(f"evaluate: вернула {got['accuracy']:.4g} — нужна доля от 0 до 1, а не проценты")
    compare_results(EVAL_LABELS, got, want, title="evaluate")


DATALOADER = Unit("DataLoader", "training.DataLoader", loader_inputs, loader_run, loader_compare, LOADER_LABELS)
TRAIN_EPOCH = Unit("train_epoch", "training.train_epoch", train_inputs, train_run,
                   lambda i, got, want: compare_results(TRAIN_LABELS, got, want, title="train_epoch"), TRAIN_LABELS)
EVALUATE = Unit("evaluate", "training.evaluate", eval_inputs, eval_run, eval_compare, EVAL_LABELS)


# --- the end-to-end check: the student's loop trains a small network on digits ---------------------------

DIGITS_HIDDEN, DIGITS_EPOCHS, DIGITS_BATCH, DIGITS_TEST_BATCH = 32, 6, 64, 256
DIGITS_LEARNING_RATE, DIGITS_MOMENTUM = 0.1, 0.9
DIGITS_THRESHOLD = 0.9
DIGITS_PARAMETERS = ("W1", "b1", "W2", "b2")
TITLE = "цикл обучения"
DIGITS_LABELS = {
    "losses": "потери, которые вернула train_epoch в каждой эпохе",
    "W1": "веса первого слоя после обучения", "b1": "сдвиги первого слоя после обучения",
    "W2": "веса второго слоя после обучения", "b2": "сдвиги второго слоя после обучения",
    "reported": "точность на тесте, которую вернула evaluate",
}


@functools.lru_cache(maxsize=1)
def digits():
    """scikit-learn's 1797 handwritten digits: X (1797, 64), pixels 0..16, and y, labels 0..9.

    Read from the file ``sklearn.datasets.load_digits`` reads, without importing
    scikit-learn, which would cost the grading kernel about a second."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")
        X, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def digits_inputs(rng):
    """A split stratified by digit (a fifth of each, 359 test images), scaled as nn_helpers.load_digits_split
    scales it, the network's initial weights and the loader's shuffle seed: everything random is the grader's."""
    X, y = digits()
    test = np.zeros(len(y), dtype=bool)
    for label in range(10):
        rows = np.flatnonzero(y == label)
        test[rng.choice(rows, size=round(len(rows) / 5), replace=False)] = True
    mean, std = X[~test].mean(axis=0), np.maximum(X[~test].std(axis=0), 1.0)
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return {"X_train": scale(X[~test]), "y_train": y[~test], "X_test": scale(X[test]), "y_test": y[test],
            "W1": rng.normal(0, np.sqrt(2 / 64), (64, DIGITS_HIDDEN)),
            "W2": rng.normal(0, np.sqrt(2 / DIGITS_HIDDEN), (DIGITS_HIDDEN, 10)),
            "shuffle_seed": np.array(rng.integers(2**31))}


def digits_network(W1, b1, W2, b2):
    """Affine(64→32) → Rectifier → Affine(32→10), and its two affine layers."""
    first, last = Affine(W1, b1), Affine(W2, b2)
    return Chain(first, Rectifier(), last), first, last


def digits_run(fns, inputs):
    train_epoch, evaluate = fns
    model, first, last = digits_network(inputs["W1"], np.zeros(DIGITS_HIDDEN), inputs["W2"], np.zeros(10))
    optimizer = MomentumStep(model, DIGITS_LEARNING_RATE, DIGITS_MOMENTUM)
    loss_fn = SoftmaxCrossEntropy()
    loader = Batches(inputs["X_train"], inputs["y_train"], DIGITS_BATCH, shuffle_seed=int(inputs["shuffle_seed"]))
    losses = []
    for epoch in range(DIGITS_EPOCHS):
        returned = call(f"{TITLE}: train_epoch(model, loss_fn, optimizer, loader), эпоха {epoch + 1}",
                        train_epoch, model, loss_fn, optimizer, loader)
        losses.append(as_float(f"{TITLE}: train_epoch, эпоха {epoch + 1}", returned))
    out = {"losses": np.array(losses)}
    out.update({name: np.array(p, dtype=np.float64) for name, p in
                zip(DIGITS_PARAMETERS, (first.W, first.b, last.W, last.b))})  # before evaluate can touch them
    test_loader = Batches(inputs["X_test"], inputs["y_test"], DIGITS_TEST_BATCH)  # 256 + 104: the last one short
    out["reported"] = as_float(f"{TITLE}: evaluate", call(f"{TITLE}: evaluate(model, test_loader)", evaluate,
                                                          model, test_loader))
    return out


def digits_accuracy(inputs, params):
    """The test accuracy of a network with these parameters, computed here, batch by batch as evaluate sees it."""
    model, _, _ = digits_network(*(params[name] for name in DIGITS_PARAMETERS))
    model.eval()
    with np.errstate(all="ignore"):
        correct = sum(int(np.sum(np.argmax(model(x), axis=1) == y))
                      for x, y in Batches(inputs["X_test"], inputs["y_test"], DIGITS_TEST_BATCH))
    return correct / len(inputs["y_test"])


def digits_compare(inputs, got, want):
    """Trusts none of the student's numbers: the accuracy is recomputed from the trained parameters on the
    grader's test images, and evaluate must have reported exactly that."""
    missing = [DIGITS_LABELS[key] for key in want if key not in got]
    if missing:
        raise CheckFailure(f"{TITLE}: нет результата ({', '.join(missing)})")
    losses = as_array(f"{TITLE}: {DIGITS_LABELS['losses']}", got["losses"], np.shape(want["losses"]))
    if not np.all(np.isfinite(losses)):
        epoch = int(np.argmin(np.isfinite(losses)))
        raise CheckFailure(f"{TITLE}: train_epoch вернула потери {losses[epoch]} на эпохе {epoch + 1} — "
                           f"обучение разошлось")
    params = {name: as_array(f"{TITLE}: {DIGITS_LABELS[name]}", got[name], np.shape(want[name]))
              for name in DIGITS_PARAMETERS}
    if not all(np.all(np.isfinite(p)) for p in params.values()):
        raise CheckFailure(f"{TITLE}: после обучения в параметрах сети есть NaN или бесконечность — "
                           f"обучение разошлось")
    accuracy, total = digits_accuracy(inputs, params), len(inputs["y_test"])
    if accuracy < DIGITS_THRESHOLD:
        raise CheckFailure(
            f"{TITLE}: тестовая сеть, обученная вашей train_epoch за {DIGITS_EPOCHS} эпох, верно распознаёт "
            f"{round(accuracy * total)} из {total} тестовых цифр ({accuracy:.1%}), нужно не меньше "
            f"{DIGITS_THRESHOLD:.0%}; правильный цикл обучения даёт на тех же данных "
            f"{digits_accuracy(inputs, want):.1%}")
    reported = as_float(f"{TITLE}: {DIGITS_LABELS['reported']}", got["reported"])
    if reported > 1:
        raise CheckFailure(f"{TITLE}: evaluate вернула {reported:.4g} — нужна доля от 0 до 1, а не проценты")
    if not abs(reported - accuracy) <= 1e-6:  # far below one image (1/359): the same count, float32 or not
        raise CheckFailure(f"{TITLE}: evaluate вернула {reported:.6g}, а обученная сеть верно распознаёт "
                           f"{round(accuracy * total)} из {total} тестовых цифр, то есть {accuracy:.6g}")


TRAINS_DIGITS = Unit(TITLE, ("training.train_epoch", "training.evaluate"), digits_inputs, digits_run,
                     digits_compare, DIGITS_LABELS)

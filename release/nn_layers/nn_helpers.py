# Общий модуль курса, выдан вместе с ноутбуками. Не меняйте его: при проверке используется выданная версия.
"""Общий код курса: базовые классы, проверка градиентов, графики и данные.

Этот модуль выдаётся вместе с ноутбуками; ответов в нём нет.
"""
import ast
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# --- базовые классы ---
class Layer:
    """Базовый класс слоя: forward считает выход, backward — градиент по входу.

    backward(grad_output) получает dL/d(выход) и возвращает dL/d(вход);
    градиенты по параметрам слой ПРИБАВЛЯЕТ к своим массивам grad_*.
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
        """Режим обучения (влияет на Dropout и BatchNorm)."""
        self.training = True
        return self

    def eval(self):
        """Режим инференса."""
        self.training = False
        return self

    def parameters(self):
        """Обучаемые массивы; оптимизатор меняет их на месте."""
        return []

    def gradients(self):
        """Массивы градиентов в том же порядке, что parameters()."""
        return []

    def zero_grad(self):
        # На месте: оптимизатор может хранить ссылки на эти массивы.
        for grad in self.gradients():
            grad.fill(0)


class Loss:
    """Функция потерь: forward(prediction, target) -> число, backward() -> градиент по prediction."""

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def forward(self, prediction, target):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError


class Optimizer:
    """Меняет model.parameters() на месте по model.gradients().

    Состояние (моменты, скорости) хранится по позиции параметра в списке,
    поэтому порядок parameters() должен быть постоянным.
    """

    def __init__(self, model, learning_rate):
        self.model = model
        self.learning_rate = learning_rate

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        raise NotImplementedError
# --- конец базовых классов ---


# --- Численная проверка градиентов ---------------------------------------------

def numeric_gradient(f, x, eps=1e-6):
    """Центральные разности: df/dx для скалярной функции f() от массива x.

    x меняется на месте и восстанавливается, поэтому f должна читать x заново.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """max |a - b| / max(|a| + |b|): около 1e-7 и меньше — градиент верен."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))


def gradient_check(layer, x, seed=0, tolerance=1e-6):
    """Сравнить layer.backward с численным градиентом на входе x (float64).

    Градиент сверху случайный, а не из единиц: с единицами ошибки BatchNorm
    и softmax не видны.  Возвращает относительную ошибку; бросает
    AssertionError, если она больше tolerance.
    """
    x = np.array(x, dtype=np.float64)
    upstream = np.random.default_rng(seed).normal(size=layer.forward(x.copy()).shape)
    layer.forward(x.copy())
    analytic = layer.backward(upstream.copy())
    numeric = numeric_gradient(lambda: float(np.sum(upstream * layer.forward(x))), x)
    error = relative_error(analytic, numeric)
    print(f"{type(layer).__name__}: относительная ошибка градиента {error:.2e}")
    assert error < tolerance, (f"{type(layer).__name__}.backward не совпадает с численным градиентом: "
                               f"относительная ошибка {error:.2e} > {tolerance:.0e}")
    return error


# --- Переиспользование своих классов из других ноутбуков ---------------------------

def load_from_notebook(path, *names):
    """Взять свои классы и функции из другого ноутбука без копирования.

    Выполняются только импорты и определения (class, def) из ячеек с кодом;
    тесты и эксперименты пропускаются.  Пример:
        Linear, ReLU = load_from_notebook("02_linear.ipynb", "Linear", "ReLU")
    """
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    namespace = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise SyntaxError(f"{path}: синтаксическая ошибка в ячейке: {exc}") from None
        keep = [node for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef))]
        exec(compile(ast.Module(body=keep, type_ignores=[]), path, "exec"), namespace)
    missing = [name for name in names if name not in namespace]
    if missing:
        raise NameError(f"в {path} не найдены определения: {', '.join(missing)}")
    found = tuple(namespace[name] for name in names)
    return found[0] if len(found) == 1 else found


# --- Данные -------------------------------------------------------------------------

def load_digits_split(seed=0, val_fraction=0.15, test_fraction=0.2, normalize=True):
    """Рукописные цифры 8×8 из scikit-learn (входят в пакет, скачивать не нужно).

    Возвращает ((X_train, y_train), (X_val, y_val), (X_test, y_test)): X — float32
    формы (N, 64), нормированный по статистикам обучающей части; y — int64 метки 0..9.
    Разбиение стратифицировано по классам и воспроизводимо при одном seed.
    normalize=False — то же разбиение, но пиксели как есть (0..16): так картинки нагляднее.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X, y = digits.data.astype(np.float32), digits.target.astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_fraction, stratify=y,
                                                      random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest, random_state=seed)
    # Пиксели у края почти всегда пустые: деление на их крошечное std превратило бы редкий штрих
    # в проверочной картинке в число порядка 1e6. Поэтому масштаб не меньше 1 (пиксели 0..16).
    mean, std = X_train.mean(axis=0), np.maximum(X_train.std(axis=0), 1.0)
    if not normalize:
        mean, std = np.zeros_like(mean), np.ones_like(std)
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return (scale(X_train), y_train), (scale(X_val), y_val), (scale(X_test), y_test)


# --- Графики ------------------------------------------------------------------------

def plot_history(history):
    """Кривые обучения: history — словарь списков, например {"train_loss": [...], "val_accuracy": [...]}."""
    losses = {k: v for k, v in history.items() if "loss" in k}
    scores = {k: v for k, v in history.items() if "loss" not in k}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, group, title in ((axes[0], losses, "Потери"), (axes[1], scores, "Точность")):
        for name, values in group.items():
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=name)
        ax.set_title(title)
        ax.set_xlabel("эпоха")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, num_classes=10):
    """Матрица ошибок: строка — истинный класс, столбец — предсказанный."""
    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, count, ha="center", va="center",
                    color="white" if count > matrix.max() / 2 else "black", fontsize=8)
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.set_xlabel("предсказанный класс")
    ax.set_ylabel("истинный класс")
    ax.set_title("Матрица ошибок")
    fig.tight_layout()
    return fig


def show_digits(images, true_labels, predicted_labels, max_images=12):
    """Показать цифры 8×8 с подписями «истина → предсказание»."""
    count = min(max_images, len(images))
    if count == 0:
        print("Нечего показывать: ошибок нет.")
        return None
    fig, axes = plt.subplots(1, count, figsize=(1.3 * count, 1.8), squeeze=False)
    for ax, image, t, p in zip(axes[0], images, true_labels, predicted_labels):
        ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{t} → {p}", fontsize=9, color="tab:red" if t != p else "black")
        ax.axis("off")
    fig.tight_layout()
    return fig

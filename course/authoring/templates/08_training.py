# reference: solutions.training
# %% [markdown]
# # 8. Цикл обучения: DataLoader, train_epoch, evaluate — и цифры
#
# Все детали готовы: слои, контейнер, оптимизаторы, функции потерь. Осталось связать их в цикл обучения:
# - `DataLoader` нарезает данные на перемешанные мини-батчи;
# - `train_epoch` делает один проход по обучающим данным и обновляет параметры;
# - `evaluate` считает точность модели, ничего в ней не меняя.
#
# В конце вы обучите многослойный перцептрон (MLP), собранный из **ваших** классов прошлых ноутбуков,
# распознавать рукописные цифры — и получите на отложенной выборке точность около 98 %.
#
# Правила те же: код — в ячейках с `# ВАШ КОД ЗДЕСЬ`, после каждого задания — открытые тесты, баллы — за
# скрытые. Скрытые тесты этого ноутбука обучают свои небольшие тестовые сети, а не ваши слои, так что
# ошибка в прошлом ноутбуке не отнимет баллы здесь.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

from nn_helpers import Layer, Loss, Optimizer, load_digits_split, load_from_notebook, plot_confusion_matrix, \
    plot_history, show_digits

np.random.seed(0)

# %% [markdown]
# ## 8.1. Мини-батчи и DataLoader
#
# Градиент по всей обучающей выборке точен, но дорог, а градиент по одному примеру дёшев, но очень шумный.
# Обычный компромисс — **мини-батч** из 32–256 примеров: numpy обрабатывает его одной матричной
# операцией, а шум градиента даже помогает не застревать в плохих точках. Один проход по всем данным
# называется **эпохой**.
#
# Что должен уметь загрузчик:
# - **Держать вместе признаки и ответы.** Датасет — кортеж массивов одинаковой длины, например `(X, y)`
#   или `(X, y, weights)`. Батч — кортеж кусков этих массивов **с одними и теми же индексами**:
#   одна перестановка индексов применяется ко всем массивам, иначе картинки разъедутся с метками.
# - **Перемешивать каждую эпоху заново** (`shuffle=True`). Без перемешивания сеть видит одну и ту же
#   последовательность батчей, а если данные отсортированы по классам, то и батчи из одного класса.
#   Для валидации и теста порядок не важен — там `shuffle=False`.
# - **Знать число батчей**: `len(loader)` $= \lceil N / B \rceil$ — последний неполный батч тоже считается.
#   С `drop_last=True` неполный батч отбрасывается, и батчей $\lfloor N / B \rfloor$. Зачем: `BatchNorm`
#   в режиме обучения не может нормировать батч из одного примера (его дисперсия — ноль). `len(loader)` всегда
#   равно числу батчей, которые выдаёт `for`, и **пустых батчей не бывает** — в том числе когда $B$ делит $N$
#   нацело (тогда неполного батча нет вовсе) и при `batch_size=1`.
# - **Быть воспроизводимым**: с `seed` загрузчик заводит свой генератор `np.random.default_rng(seed)`,
#   и порядок батчей одинаков при каждом запуске и не зависит от того, сколько случайных чисел
#   взял остальной код. При `seed=None` используется глобальный `np.random`.
# - **Сразу ругаться на ошибочный вход**: массивы разной длины, `batch_size` не целый или $\le 0$,
#   пустой кортеж. Понятная `ValueError` (неверное значение) или `TypeError` (не тот тип) в
#   конструкторе лучше, чем бесконечный цикл при `batch_size=0` или `IndexError` посреди эпохи.
#
# ### Как работает `for` и зачем `yield`
#
# `for batch in loader:` сначала вызывает `iter(loader)`, то есть `loader.__iter__()`, и получает
# **итератор**, а потом берёт из него элементы, пока тот не закончится. Проще всего написать
# `__iter__` как **генератор** — функцию с `yield`:
#
# ```python
# def countdown(n):
#     while n > 0:
#         yield n      # отдать значение и «заморозиться» до следующего запроса
#         n -= 1
#
# list(countdown(3))   # [3, 2, 1]; каждый вызов countdown(3) — новый, независимый проход
# ```
#
# Каждый вызов генераторной функции создаёт новый объект со своими локальными переменными. Для
# загрузчика это значит: каждый `for` — новая эпоха со своей перестановкой, а прерванный `break`
# проход ничего не портит.
#
# **Типичная ошибка — вернуть из `__iter__` сам `self`** и хранить текущую позицию в объекте, так что
# она «съедается» по ходу эпохи. Такой загрузчик ломается, если выйти из цикла досрочно (следующая
# эпоха начнётся с середины) или пройтись по нему двумя циклами сразу.
#
# Ещё одна типичная ошибка — `range(self.dataset)` вместо `range(N)`: на кортеже `(X, y)` это сразу
# `TypeError: 'tuple' object cannot be interpreted as an integer`, и обучение не запускается вовсе.

# %% solution id=dataloader
class DataLoader:
    """Мини-батчи из кортежа массивов одинаковой длины.

    DataLoader((X, y), batch_size=32, shuffle=True, seed=0): каждый проход for — одна эпоха,
    батчи — кортежи (X_batch, y_batch) с согласованными строками.
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        """dataset: непустой кортеж (или список) массивов с общей первой осью, например (X, y).

        TODO: проверьте вход и бросьте
          - TypeError, если dataset не кортеж/список или он пуст, и если batch_size не целое число;
          - ValueError, если массивы разной длины или batch_size <= 0.
        Сохраните массивы (np.asarray), batch_size, shuffle, drop_last и генератор случайных чисел:
        np.random.default_rng(seed), а при seed=None — сам модуль np.random (у обоих есть permutation).
        """
        # @solution DataLoader.__init__

    def __len__(self):
        """Число батчей за эпоху: ceil(N / batch_size), а при drop_last — floor(N / batch_size)."""
        # @solution DataLoader.__len__

    def __iter__(self):
        """Одна эпоха: выдаёт (yield) кортежи батчей, по одному куску каждого массива.

        TODO: порядок индексов — перестановка из своего генератора при shuffle, иначе 0..N-1;
        нарежьте его на куски по batch_size (с drop_last — без неполного хвоста) и выдавайте
        tuple(a[index] for a in массивы). Используйте yield, не храните позицию в self.
        """
        # @solution DataLoader.__iter__


# %% readonly id=dataloader_visible_tests
X = np.arange(30, dtype=np.float32).reshape(10, 3)  # строка i: [3i, 3i + 1, 3i + 2]
y = np.arange(10)

loader = DataLoader((X, y), batch_size=4)
assert len(loader) == 3, f"len(DataLoader) при N=10, batch_size=4: {len(loader)}, а должно быть 3 (неполный батч считается)"
batches = list(loader)
assert all(isinstance(b, tuple) and len(b) == 2 for b in batches), "каждый батч должен быть кортежем (X_batch, y_batch)"
sizes = [len(b[1]) for b in batches]
assert sizes == [4, 4, 2], f"размеры батчей {sizes}, а должны быть [4, 4, 2]"
order = np.concatenate([b[1] for b in batches])
assert np.array_equal(order, y), f"без shuffle порядок должен сохраняться: получено {order}"
assert np.array_equal(np.concatenate([b[0] for b in batches])[:, 0], 3 * order), "строки X_batch не соответствуют y_batch"
assert batches[0][0].dtype == np.float32, f"батч X должен сохранить dtype float32, а не {batches[0][0].dtype}"

for first in loader:
    break  # прерванная эпоха не должна портить следующую
again = [len(b[1]) for b in loader]
assert again == [4, 4, 2], f"после прерванного прохода следующий for дал батчи {again} — каждый for должен начинать эпоху заново"

dropping = DataLoader((X, y), batch_size=4, drop_last=True)
assert len(dropping) == 2, f"len при drop_last=True: {len(dropping)}, а должно быть 2"
assert [len(b[1]) for b in dropping] == [4, 4], "при drop_last=True неполный последний батч отбрасывается"
w = np.linspace(0, 1, 10)
assert all(len(b) == 3 for b in DataLoader((X, y, w), batch_size=5)), "для датасета (X, y, w) батчи должны быть тройками"

shuffling = DataLoader((X, y), batch_size=4, shuffle=True, seed=0)
epochs = []
for _ in range(2):
    batches = list(shuffling)
    order = np.concatenate([b[1] for b in batches])
    assert np.array_equal(np.sort(order), y), f"эпоха с shuffle должна содержать каждый пример ровно раз: {order}"
    assert np.array_equal(np.concatenate([b[0] for b in batches])[:, 0], 3 * order), "при shuffle X и y перемешаны по-разному"
    epochs.append(order)
assert not np.array_equal(epochs[0], y), "shuffle=True, а порядок не изменился"
assert not np.array_equal(epochs[0], epochs[1]), "каждая эпоха должна перемешиваться заново, а две эпохи совпали"
twin = np.concatenate([b[1] for b in DataLoader((X, y), batch_size=4, shuffle=True, seed=0)])
assert np.array_equal(twin, epochs[0]), "два загрузчика с одним seed должны давать одинаковый порядок"

for why, make in (("X и y разной длины", lambda: DataLoader((X, y[:-1]))),
                  ("batch_size=0", lambda: DataLoader((X, y), batch_size=0)),
                  ("batch_size=2.5", lambda: DataLoader((X, y), batch_size=2.5)),
                  ("пустой кортеж", lambda: DataLoader(()))):
    try:
        bad = make()
        len(bad)
        next(iter(bad))
    except (ValueError, TypeError):
        continue
    except Exception as error:
        raise AssertionError(f"{why}: нужна ValueError или TypeError, а получено {type(error).__name__}: {error}") from None
    raise AssertionError(f"{why}: загрузчик не заметил ошибку — бросьте ValueError или TypeError в __init__")
print("✓ открытые тесты DataLoader пройдены")

# %% hidden id=dataloader_hidden points=4
# Скрытые тесты DataLoader (4 балла): размеры и порядок батчей (и когда batch_size делит N), len() равен числу батчей, без пустых батчей, проход после break, drop_last, batch_size больше датасета, три массива, перемешивание по эпохам, seed, dtype, ошибки на неверном входе.
from solutions.checks import check_dataloader
check_dataloader(DataLoader)

# %% [markdown]
# ## 8.2. Одна эпоха обучения
#
# Обучение — это четыре объекта и две функции:
#
# ```python
# model = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))   # слои
# loss_fn = CrossEntropyLoss()                                   # ЭКЗЕМПЛЯР функции потерь
# optimizer = Adam(model, learning_rate=1e-3)                    # оптимизатору нужна модель целиком
# loader = DataLoader((X_train, y_train), batch_size=32, shuffle=True)
# ```
#
# На каждом батче `train_epoch` делает пять шагов, и порядок важен:
#
# 1. `optimizer.zero_grad()` — слои **прибавляют** градиенты к своим `grad_*`, поэтому остатки прошлого
#    батча надо стереть, иначе шаг пойдёт по сумме градиентов всех батчей;
# 2. `logits = model(x)` — прямой проход; слои кэшируют то, что понадобится для производных;
# 3. `loss = loss_fn(logits, y)` — число; функция потерь запоминает вероятности и метки;
# 4. `model.backward(loss_fn.backward())` — $\partial L / \partial \text{logits}$ идёт по слоям в
#    обратном порядке, и каждый слой накапливает градиенты своих параметров;
# 5. `optimizer.step()` — сдвиг параметров по накопленным градиентам.
#
# Ещё две детали:
# - В начале эпохи — `model.train()`: `evaluate` переключает модель в режим инференса, и без
#   обратного переключения следующая эпоха пойдёт без Dropout, а `BatchNorm` будет нормировать по
#   скользящим средним вместо статистик батча.
# - Возвращаем **средние потери на пример** за эпоху. `loss` — это среднее по батчу, поэтому
#   суммируем `loss * размер_батча` и делим на число примеров: иначе короткий последний батч
#   весил бы столько же, сколько полный.
# - `zero_grad()` стоит **перед** `backward` каждого батча, включая первый: модель может прийти в `train_epoch`
#   с градиентами, оставшимися от чего-то другого, и первый шаг не должен их использовать.
#
# ### Типичные ошибки в цикле обучения
#
# - `Adam(model.parameters())` — оптимизатору передан список массивов, а ему нужны и параметры, и их
#   градиенты. Наш `Optimizer` принимает **модель** и сам читает `parameters()` и `gradients()`.
# - `loss_fn = CrossEntropyLoss` — сохранён **класс**, а не экземпляр (нет скобок), и вызов `forward`
#   на нём падает.
# - `loss.backward()` — `loss` здесь просто число, автоматического дифференцирования у нас нет.
#   Градиент даёт объект функции потерь, `loss_fn.backward()`, и его нужно передать в `model.backward`.
# - Модель ни разу не переключается между `train()` и `eval()`.
# - Цикл проверяют на «датасете» из случайных меток. Его нельзя выучить в принципе: на нём любая сеть
#   угадывает около 10 % на новых данных, и по такому опыту не понять, работает ли обучение.
#
# Отдельные функции `train_epoch` и `evaluate` поверх четырёх объектов проще проверить и переиспользовать,
# чем один большой класс, который делает всё.

# %% [markdown]
# Для открытых тестов нужны «шпионы»: крошечная модель, функция потерь и оптимизатор, которые
# записывают в журнал каждый вызов. По журналу видно, в каком порядке ваша функция их вызывает.

# %%
class SpyModel(Layer):
    """Линейная модель y = x @ w (2 признака -> 3 класса), которая записывает свои вызовы в log."""

    def __init__(self, log):
        super().__init__()
        self.log = log
        self.w = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
        self.grad_w = np.zeros_like(self.w)
        self.modes = []  # режим (training) при каждом forward

    def forward(self, x):
        self.log.append("forward")
        self.modes.append(self.training)
        self._x = x
        return x @ self.w

    def backward(self, grad_output):
        self.log.append("backward")
        assert isinstance(grad_output, np.ndarray) and grad_output.shape == (len(self._x), 3), (
            f"model.backward должен получить массив loss_fn.backward() формы (N, 3), а получил {grad_output!r}")
        self.grad_w += self._x.T @ grad_output
        return grad_output @ self.w.T

    def parameters(self):
        return [self.w]

    def gradients(self):
        return [self.grad_w]

    def zero_grad(self):
        self.log.append("zero_grad")
        super().zero_grad()


class SpyLoss(Loss):
    """«Потеря» = среднее target по батчу (так легко проверить усреднение); градиент — 1 / N."""

    def __init__(self, log):
        self.log = log

    def forward(self, prediction, target):
        self.log.append("loss")
        self._shape = prediction.shape
        return float(np.mean(target))

    def backward(self):
        self.log.append("loss.backward")
        return np.full(self._shape, 1.0 / self._shape[0])


class SpyOptimizer(Optimizer):
    """SGD, который записывает шаги в журнал модели."""

    def step(self):
        self.model.log.append("step")
        for p, g in zip(self.model.parameters(), self.model.gradients()):
            p -= self.learning_rate * g


# %% [markdown]
# Напишите `train_epoch`. В батче может оказаться больше двух массивов (например, веса примеров
# в датасете `(X, y, w)`) — берите из батча первые два: `x, y, *_ = batch`.

# %% solution id=train_epoch
def train_epoch(model, loss_fn, optimizer, loader):
    """Одна эпоха обучения; возвращает средние потери на пример (float).

    model — Layer (например, Sequential), loss_fn — экземпляр Loss, optimizer — Optimizer для этой
    модели, loader — итерируемый объект с батчами (x, y, ...).

    TODO: model.train(); затем на каждом батче: zero_grad -> forward -> потери -> backward -> step.
    Копите сумму loss * размер батча и число примеров; если батчей не было — бросьте ValueError.
    """
    # @solution train_epoch


# %% readonly id=train_epoch_visible_tests
log = []
model = SpyModel(log)
model.eval()  # train_epoch сама должна включить режим обучения
w_before = model.w.copy()
X = np.arange(26, dtype=np.float64).reshape(13, 2) / 10
y = np.arange(13)  # батчи по 5: средние меток 2, 7 и 11
result = train_epoch(model, SpyLoss(log), SpyOptimizer(model, learning_rate=0.1), DataLoader((X, y), batch_size=5))

expected = ["zero_grad", "forward", "loss", "loss.backward", "backward", "step"]
assert "zero_grad" in log, "train_epoch не обнуляет градиенты: вызовите optimizer.zero_grad() в начале каждого батча"
assert log[:6] == expected, f"порядок вызовов на первом батче {log[:6]},\nа нужен {expected}"
assert log == expected * 3, f"на трёх батчах нужно три одинаковых цикла {expected}, а журнал такой:\n{log}"
assert all(model.modes), "во время train_epoch модель была в режиме eval — вызовите model.train() в начале"
assert not np.array_equal(model.w, w_before), "параметры модели не изменились — вызывается ли optimizer.step()?"
assert result is not None, "train_epoch вернула None — забыли return?"
assert not np.isclose(result, (2 + 7 + 11) / 3), (
    "train_epoch вернула среднее из средних по батчам (6.67); умножайте потери батча на его размер: "
    "последний батч из 3 примеров не должен весить как полный")
assert np.isclose(result, 6.0), f"train_epoch вернула {result}, а средние потери на пример равны 6.0"
print("✓ открытые тесты train_epoch пройдены")

# %% hidden id=train_epoch_hidden points=3
# Скрытые тесты train_epoch (3 балла): короткий последний батч, ненулевые градиенты на входе, две эпохи небольшой тестовой сети со случайной маской (как Dropout) и скользящими средними (как BatchNorm) — возвращаемые потери, параметры после каждой эпохи, режим обучения.
from solutions.checks import check_train_epoch
check_train_epoch(train_epoch)

# %% [markdown]
# ## 8.3. Оценка качества
#
# `evaluate(model, loader)` возвращает **долю** верных ответов (число от 0 до 1, не проценты):
# - сначала `model.eval()`: `Dropout` пропускает всё, `BatchNorm` использует скользящие средние —
#   ответ модели не должен зависеть от случайности и от соседей по батчу;
# - предсказанный класс — `argmax` логитов по оси классов; softmax не нужен: он не меняет порядок;
# - считаем число верных ответов и делим на число всех примеров, а не усредняем точности по батчам
#   (последний батч может быть короче);
# - параметры не трогаем: ни `backward`, ни `step`. В режиме `eval` и `BatchNorm` не обновляет свои
#   скользящие средние — поэтому оценка ничего в модели не меняет.

# %% solution id=evaluate
def evaluate(model, loader):
    """Точность model на всех примерах loader, число от 0 до 1.

    TODO: model.eval(); на каждом батче (x, y, ...) сравните argmax(model(x), axis=1) с y,
    накапливайте число верных и число всех примеров. Если батчей не было — бросьте ValueError.
    """
    # @solution evaluate


# %% readonly id=evaluate_visible_tests
class NoTraining(SpyModel):
    def backward(self, grad_output):
        raise AssertionError("evaluate не должна вызывать backward")


log = []
model = NoTraining(log)
model.train()
w_before = model.w.copy()
X = np.stack([np.linspace(-1, 1, 13), np.linspace(1, -0.5, 13)], axis=1)
y = (X @ model.w).argmax(axis=1)
y[10:] = (y[10:] + 1) % 3  # три ошибки, все в последнем батче из 3 примеров
accuracy = evaluate(model, DataLoader((X, y), batch_size=5))
assert accuracy is not None, "evaluate вернула None — забыли return?"
assert model.modes and not any(model.modes), "во время evaluate модель была в режиме обучения — вызовите model.eval()"
assert "step" not in log and np.array_equal(model.w, w_before), "evaluate не должна менять параметры модели"
assert accuracy <= 1, f"evaluate вернула {accuracy} — нужна доля от 0 до 1, а не проценты"
assert not np.isclose(accuracy, 2 / 3), (
    "evaluate вернула среднее точностей по батчам (2/3); считайте верные ответы по всем примерам сразу")
assert np.isclose(accuracy, 10 / 13), f"evaluate вернула {accuracy}, а верных ответов 10 из 13 ≈ 0.769"
print("✓ открытые тесты evaluate пройдены")

# %% hidden id=evaluate_hidden points=2
# Скрытые тесты evaluate (2 балла): точность тестовой сети со случайной маской и скользящими средними на 200 примерах (неполный последний батч), неизменность параметров и статистик.
from solutions.checks import check_evaluate
check_evaluate(evaluate)

# %% [markdown]
# Последняя проверка — ваш цикл целиком: небольшая тестовая сеть, обученная вашей `train_epoch`, должна
# научиться распознавать цифры из следующего раздела, а ваша `evaluate` — верно измерить её точность.

# %% hidden id=training_hidden points=3
# Скрытый тест цикла обучения (3 балла): тестовая сеть (два линейных слоя с ReLU, SGD с моментом), обученная вашей train_epoch 6 эпох на цифрах, должна верно распознавать не меньше 90 % тестовых картинок, и ваша evaluate должна сообщить ровно эту точность.
from solutions.checks import check_trains_digits
check_trains_digits(train_epoch, evaluate)

# %% [markdown]
# ## 8.4. Распознаём рукописные цифры
#
# Данные — 1797 картинок цифр 8×8 из scikit-learn (набор входит в пакет, скачивать ничего не надо).
# `load_digits_split()` делит их на три части с одинаковой долей каждой цифры:
# - **обучающая** (65 %) — по ней считаются градиенты;
# - **валидационная** (15 %) — по ней выбираем лучшую эпоху (и подбирали бы архитектуру и шаг обучения);
# - **тестовая** (20 %) — смотрим на неё **один раз**, в самом конце. Если выбирать что-то по тесту,
#   его оценка становится оптимистичной и перестаёт говорить, как модель поведёт себя на новых данных.
#
# Пиксели нормированы по статистикам обучающей части: из каждого признака вычтено его среднее, и он
# поделён на своё стандартное отклонение (но не меньше 1: почти всегда пустые пиксели у края иначе
# раздулись бы до огромных значений). Так все 64 входа получают один масштаб — порядка 1.

# %% demo id=demo_digits_data
(X_train, y_train), (X_val, y_val), (X_test, y_test) = load_digits_split()
print(f"обучение: {X_train.shape}, валидация: {X_val.shape}, тест: {X_test.shape}; классы 0..9")
print("примеров каждой цифры в обучении:", np.bincount(y_train))

# %% [markdown]
# Модель собирается из **ваших** классов прошлых ноутбуков — `load_from_notebook` берёт из ноутбука
# только определения классов и функций, без тестов. Если какой-то ноутбук ещё не готов, ячейка
# скажет, чего не хватает, а обучение ниже будет пропущено.

# %% demo id=demo_digits_layers
SOURCES = {"ReLU": "01_activations.ipynb", "Linear": "02_linear.ipynb", "Sequential": "03_sequential.ipynb",
           "Dropout": "04_dropout.ipynb", "BatchNorm": "05_batchnorm.ipynb", "Adam": "06_optimizers.ipynb",
           "CrossEntropyLoss": "07_losses.ipynb"}
parts = {}
for name, path in SOURCES.items():
    try:
        parts[name] = load_from_notebook(path, name)
    except Exception as error:  # нет файла, синтаксическая ошибка, класс не найден
        print(f"✗ {name} из {path}: {type(error).__name__}: {error}")
layers_ready = len(parts) == len(SOURCES)
if layers_ready:
    ReLU, Linear, Sequential, Dropout, BatchNorm, Adam, CrossEntropyLoss = parts.values()
    print("✓ все классы загружены из ваших ноутбуков:", ", ".join(parts))

# %% [markdown]
# ### Архитектура и обучение
#
# ```
# Dropout(0.1) → Linear(64, 256) → BatchNorm(256) → ReLU → Dropout(0.5) → Linear(256, 10)
# ```
#
# - `Dropout(0.1)` прямо на входе — простая аугментация шумом. Пиксели нормированы, поэтому обнулённый
#   пиксель становится не «пустым», а равным средней яркости этого места по обучающей выборке: часть
#   картинки на каждом шаге заменяется «средней цифрой». Сеть не может полагаться на отдельные пиксели
#   и учится опираться на много признаков сразу.
# - `BatchNorm` после `Linear` держит входы ReLU в удобном масштабе и позволяет брать шаг побольше;
#   `Dropout(0.5)` в скрытом слое борется с переобучением: обучающих примеров всего ~1200.
# - Softmax в модели нет — он внутри `CrossEntropyLoss`, модель выдаёт логиты.
# - Adam с шагом обучения 0.002, который плавно уменьшается к концу обучения по косинусу:
#   $\eta_t = \eta_0 \cdot \tfrac12\bigl(1 + \cos(\pi t / T)\bigr)$ для эпохи $t = 0, \dots, T-1$.
#   Большой шаг вначале быстро находит хорошую область, маленький в конце гасит шум мини-батчей,
#   и точность перестаёт прыгать от эпохи к эпохе.
# - После каждой эпохи меряем точность на валидации и запоминаем копию модели с лучшим результатом
#   (`copy.deepcopy`). При равенстве берём более позднюю эпоху: там шаг меньше и модель устойчивее.
#
# Всё случайное зафиксировано: разбиение данных (`load_digits_split`), начальные веса и маски Dropout
# (`np.random.seed`), порядок батчей (`seed` загрузчика) — повторный запуск даёт те же числа.
# Полоса прогресса `tqdm` показывает эпохи, текущие потери и точность на валидации.

# %% demo id=demo_digits_training
EPOCHS, BATCH_SIZE, LEARNING_RATE = 40, 32, 0.002


def describe(error):
    """Короткое объяснение исключения: тип, сообщение и метод, в котором оно случилось."""
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    code, owner = frame.tb_frame.f_code, frame.tb_frame.f_locals.get("self")
    where = f"{type(owner).__name__}.{code.co_name}" if owner is not None else code.co_name
    if code.co_filename.endswith(".ipynb"):  # код, загруженный load_from_notebook
        where += f" из {code.co_filename}"
    return f"{type(error).__name__} в {where}" + (f": {error}" if str(error) else "")


best_model = None
if not layers_ready:
    print("Обучение пропущено: не все классы прошлых ноутбуков загрузились (см. выше).")
else:
    try:
        np.random.seed(0)  # начальные веса Linear и маски Dropout берутся из глобального генератора
        model = Sequential(Dropout(0.1), Linear(64, 256), BatchNorm(256), ReLU(), Dropout(0.5), Linear(256, 10))
        loss_fn = CrossEntropyLoss()
        optimizer = Adam(model, learning_rate=LEARNING_RATE)
        train_loader = DataLoader((X_train, y_train), batch_size=BATCH_SIZE, shuffle=True, seed=0)
        train_eval_loader = DataLoader((X_train, y_train), batch_size=512)
        val_loader = DataLoader((X_val, y_val), batch_size=512)

        history = {"train_loss": [], "train_accuracy": [], "val_accuracy": []}
        best_accuracy, best_epoch = -1.0, 0
        progress = tqdm(range(EPOCHS), desc="обучение", unit="эпоха", leave=True)
        for epoch in progress:
            optimizer.learning_rate = LEARNING_RATE * 0.5 * (1 + np.cos(np.pi * epoch / EPOCHS))
            history["train_loss"].append(train_epoch(model, loss_fn, optimizer, train_loader))
            history["train_accuracy"].append(evaluate(model, train_eval_loader))
            history["val_accuracy"].append(evaluate(model, val_loader))
            if history["val_accuracy"][-1] >= best_accuracy:
                best_accuracy, best_epoch = history["val_accuracy"][-1], epoch + 1
                best_model = copy.deepcopy(model)
            progress.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_accuracy'][-1]:.3f}")
        progress.close()
    except Exception as error:
        best_model = None
        print(f"Обучение прервалось — {describe(error)}.\n"
              "Скорее всего, этот класс или функция ещё не готовы или работают неверно: "
              "вернитесь к ним и к их открытым тестам.")
    else:
        print(f"лучшая эпоха по валидации: {best_epoch}, точность на валидации {best_accuracy:.1%}")

# %% [markdown]
# ### Кривые обучения и итог на тесте
#
# Слева — средние потери на обучении, справа — точность на обучении и валидации. Точность на обучении
# считается в режиме `eval` (без Dropout), поэтому она честно сравнима с валидационной. Разрыв между
# ними — мера переобучения. Тест считаем один раз — на модели лучшей эпохи.

# %% demo id=demo_learning_curves
if best_model is None:
    print("Модели нет: обучение выше не состоялось.")
else:
    plot_history(history)
    plt.show()
    test_accuracy = evaluate(best_model, DataLoader((X_test, y_test), batch_size=512))
    print(f"точность на тесте: {test_accuracy:.2%} ({round(test_accuracy * len(y_test))} из {len(y_test)})")

# %% [markdown]
# ### Где модель ошибается
#
# Матрица ошибок: строка — истинная цифра, столбец — ответ модели; всё вне диагонали — ошибки.
# Ниже — сами неверно распознанные картинки тестовой выборки с подписью «истина → ответ» (показаны
# исходные пиксели, без нормировки). Часть ошибок простительна: такие цифры и человек прочтёт не сразу.

# %% demo id=demo_test_errors
if best_model is None:
    print("Модели нет: обучение выше не состоялось.")
else:
    best_model.eval()
    predicted = best_model(X_test).argmax(axis=1)
    plot_confusion_matrix(y_test, predicted)
    plt.show()
    wrong = np.flatnonzero(predicted != y_test)
    print(f"ошибок на тесте: {len(wrong)}")
    images = load_digits_split(normalize=False)[2][0]  # тот же тест, пиксели 0..16
    show_digits(images[wrong], y_test[wrong], predicted[wrong])
    plt.show()

# %% [markdown]
# ### Попробуйте сами
#
# Эти эксперименты не оцениваются, но многое объясняют (каждый занимает секунды):
# - уберите `BatchNorm` или оба `Dropout` и сравните кривые: где сильнее переобучение?
# - поставьте постоянный шаг обучения вместо косинусного — как ведёт себя точность на валидации в конце?
# - замените `Adam` на `SGD` из шестого ноутбука (загрузите его так же, через `load_from_notebook`),
#   с моментом 0.9 и без, и подберите для него шаг обучения;
# - поменяйте `np.random.seed` и `seed` загрузчика: на сколько процентов «гуляет» точность на тесте?
#   Тест — всего 360 картинок, одна ошибка — это 0.28 %.

# reference: solutions.losses
# %% [markdown]
# # 7. Функции потерь: softmax, кросс-энтропия и MSE
#
# Сеть выдаёт числа, а обучению нужна одна цель — **функция потерь** $L$: число, которое тем меньше,
# чем лучше предсказания. Именно с неё начинается обратный проход: производная $\partial L / \partial \hat y$
# по выходу сети уходит в `model.backward(...)`, а дальше её несут слои, которые вы уже написали.
#
# В этом ноутбуке:
# - `softmax` — превращает выходы сети (логиты) в вероятности классов;
# - `one_hot_encode` — метки классов в виде векторов из нулей и одной единицы;
# - `CrossEntropyLoss` — потери для классификации (как `torch.nn.CrossEntropyLoss`);
# - `MSELoss` — потери для регрессии (как `torch.nn.MSELoss`).
#
# Правила те же: код — в ячейках с `# ВАШ КОД ЗДЕСЬ`, после каждой функции — открытые тесты,
# баллы — за скрытые.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Loss, numeric_gradient, relative_error

np.random.seed(0)

# %% [markdown]
# ## 7.1. Softmax
#
# Последний `Linear` классификатора выдаёт для каждого примера вектор **логитов** $z \in \mathbb{R}^C$ —
# по числу на класс, любого знака и масштаба. Softmax превращает их в распределение вероятностей:
# $$p_i = \mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}}, \qquad p_i > 0, \quad \sum_i p_i = 1.$$
# Экспонента делает все числа положительными и сохраняет порядок: самый большой логит получает самую
# большую вероятность. Для батча $(N, C)$ softmax считается **по каждой строке отдельно** — суммы
# берутся по оси классов (`axis=1`), а не по всему массиву.
#
# **Переполнение.** `float64` вмещает числа до $\approx 1.8 \cdot 10^{308}$, а $e^{710}$ уже больше.
# Поэтому `np.exp(1000.0)` — это `inf`, и формула «в лоб» даёт $\infty / \infty = $ `nan`.
# При разумной инициализации (например, He из второго ноутбука) логиты необученной сети порядка единиц.
# Но у плохо инициализированной или расходящейся сети они легко доходят до сотен и тысяч — и функция
# потерь должна пережить это без `nan`.
#
# **Сдвиг не меняет ответ.** Умножим числитель и знаменатель на $e^{-m}$ для любого числа $m$:
# $$\frac{e^{z_i}}{\sum_j e^{z_j}} = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}}.$$
# Возьмём $m = \max_j z_j$ (свой для каждой строки). Тогда все показатели $\le 0$, экспоненты лежат
# в $[0, 1]$ и переполниться не могут, а в знаменателе есть слагаемое $e^0 = 1$, так что он не меньше
# единицы и деления на ноль не будет. Ноль в $[0, 1]$ не опечатка: логит, который меньше максимума
# примерно на 745 и больше, даёт в `float64` ровно $e^{z_i - m} = 0$. Это безопасно: его вероятность
# и так ничтожна. Ячейка ниже показывает и то, и другое на «наивной» формуле.

# %%
def naive_softmax(v):
    """Формула «в лоб» для одного вектора — только для демонстрации."""
    e = np.exp(v)
    return e / e.sum()


with np.errstate(over="ignore", invalid="ignore"):  # не печатаем предупреждения numpy
    print("exp(709) =", np.exp(709.0), "  exp(710) =", np.exp(710.0))
    print("наивный softmax([1000, 1001, 1002]) =", naive_softmax(np.array([1000.0, 1001.0, 1002.0])))
print("наивный softmax([1, 2, 3])          =", naive_softmax(np.array([1.0, 2.0, 3.0])).round(6))
print("наивный softmax([-2, -1, 0])        =", naive_softmax(np.array([-2.0, -1.0, 0.0])).round(6),
      " ← тот же ответ: сдвиг на константу не важен")

# %% solution id=softmax
def softmax(x):
    """Softmax по строкам: для каждой строки p = exp(x) / sum(exp(x)).

    x: np.ndarray (N, C) — логиты -> np.ndarray (N, C) — вероятности; каждая строка в сумме 1.
    Должна работать без переполнения и без предупреждений при |x| до 10^4.

    TODO: вычтите из каждой строки её максимум (keepdims=True, чтобы сработало вычитание
    по строкам), затем exp и деление на сумму по строке. Не меняйте x на месте.
    """
    # @solution softmax


# %% readonly id=softmax_visible_tests
x = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
x_before = x.copy()
p = softmax(x)
assert p is not None, "softmax вернул None — забыли return?"
assert np.shape(p) == x.shape, f"softmax: форма выхода {np.shape(p)}, а должна совпадать со входом {x.shape}"
assert np.allclose(p.sum(axis=1), 1.0), (
    f"softmax: суммы по строкам {p.sum(axis=1)}, а должны быть 1 — нормируйте каждую строку отдельно (axis=1)")
expected = np.array([[0.09003057317038046, 0.24472847105479764, 0.6652409557748218], [1 / 3, 1 / 3, 1 / 3]])
assert np.allclose(p, expected), f"softmax([[1, 2, 3], [1, 1, 1]]) =\n{p}\nа ожидалось\n{expected}"
assert np.array_equal(x, x_before), "softmax изменил входной массив x — вычитайте максимум в новом массиве"

with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
    warnings.simplefilter("error")
    try:
        p = softmax(np.array([[1000.0, 1001.0, 1002.0], [-1002.0, -1001.0, -1000.0], [-1000.0, 0.0, 1000.0]]))
    except FloatingPointError as error:
        raise AssertionError(f"softmax: численная ошибка на логитах порядка ±1000 ({error}). "
                             "Вычтите перед exp максимум КАЖДОЙ строки, а не всего массива") from None
assert np.allclose(p[0], expected[0]), (
    f"softmax([1000, 1001, 1002]) = {p[0]}, а должен совпадать с softmax([1, 2, 3]) = {expected[0]}")
assert np.allclose(p[1], expected[0]), (
    f"softmax([-1002, -1001, -1000]) = {p[1]}, а должен совпадать с softmax([1, 2, 3]) = {expected[0]}")
assert np.allclose(p[2], [0, 0, 1]), f"softmax([-1000, 0, 1000]) = {p[2]}, а должно быть ≈ [0, 0, 1]"
print("✓ открытые тесты softmax пройдены")

# %% hidden id=softmax_hidden points=2
# Скрытые тесты softmax (2 балла): случайные логиты, логиты до ±10000, одна строка, суммы по строкам, x не меняется.
from solutions.checks import check_softmax
check_softmax(softmax)

# %% [markdown]
# ## 7.2. One-hot кодирование
#
# Метка класса — целое число $y \in \{0, \dots, C-1\}$. Для формул удобнее вектор длины $C$, в котором
# единица стоит на месте $y$, а остальные элементы — нули: при $C = 4$ метка 2 превращается в
# $(0, 0, 1, 0)$. Для батча меток формы $(N,)$ получается матрица $(N, C)$.
#
# Элементы удобно расставить одной операцией «продвинутой» индексации numpy: пары индексов
# (номер строки, метка) выбирают ровно по одной ячейке в каждой строке — без цикла по примерам.
#
# **Ловушка.** Индекс $-1$ в numpy означает «последний элемент», поэтому метка $-1$ без проверки
# молча превратится в последний класс, а метка $C$ уронит код с непонятной `IndexError`. Проверяйте
# метки явно и бросайте понятную `ValueError`.

# %% solution id=one_hot_encode
def one_hot_encode(labels, num_classes):
    """Метки классов -> one-hot матрица.

    labels: одномерный массив целых меток (N,) со значениями от 0 до num_classes - 1.
    Возвращает np.ndarray (N, num_classes) типа float: в строке n единица стоит в столбце labels[n].

    TODO: бросьте ValueError, если labels не одномерный массив целых чисел или какая-то метка
    вне [0, num_classes). Затем создайте матрицу нулей и расставьте единицы одной индексацией.
    """
    # @solution one_hot_encode


# %% readonly id=one_hot_encode_visible_tests
encoded = one_hot_encode(np.array([0, 2, 1, 0]), 3)
assert encoded is not None, "one_hot_encode вернул None — забыли return?"
encoded = np.asarray(encoded)
assert encoded.shape == (4, 3), f"one_hot_encode([0, 2, 1, 0], 3): форма {encoded.shape}, ожидалась (4, 3)"
assert np.issubdtype(encoded.dtype, np.floating), f"тип результата {encoded.dtype}, а нужен float"
assert np.array_equal(encoded, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]), (
    f"one_hot_encode([0, 2, 1, 0], 3) =\n{encoded}")
assert np.array_equal(one_hot_encode(np.array([4], dtype=np.int32), 5), [[0, 0, 0, 0, 1]]), (
    "one_hot_encode([4], 5) должен дать [[0, 0, 0, 0, 1]]")
for bad, why in (([0, -1], "метка -1"), ([0, 3], "метка 3 при num_classes=3"), ([0.0, 1.0], "дробные метки")):
    try:
        one_hot_encode(np.array(bad), 3)
    except ValueError:
        continue
    except Exception as error:
        raise AssertionError(f"{why}: ожидалась ValueError, а получено {type(error).__name__}: {error}") from None
    raise AssertionError(f"{why}: ожидалась ValueError, а функция ничего не заметила")
print("✓ открытые тесты one_hot_encode пройдены")

# %% hidden id=one_hot_encode_hidden points=1
# Скрытые тесты one_hot_encode (1 балл): несколько меток, метки типа int32, одна метка, тип float, ValueError на неверных метках.
from solutions.checks import check_one_hot_encode
check_one_hot_encode(one_hot_encode)

# %% [markdown]
# ## 7.3. Кросс-энтропия
#
# Сеть выдала логиты $z_n \in \mathbb{R}^C$ для примера $n$ с верным классом $y_n$. Кросс-энтропия —
# это минус логарифм вероятности, которую модель дала **верному** классу, усреднённый по батчу:
# $$L = -\frac{1}{N}\sum_{n=1}^{N} \log p_{n, y_n}, \qquad p_n = \mathrm{softmax}(z_n).$$
# Если модель уверена и права ($p_{n,y_n} \to 1$), вклад примера $\to 0$; если уверена и ошибается
# ($p_{n,y_n} \to 0$), вклад неограниченно растёт. Но растёт он не экспоненциально, как иногда говорят:
# при логитах $(0, m)$ и верном классе 0 потеря равна $\log(1 + e^{m}) \approx m$ при больших $m$, то есть
# растёт **линейно** с величиной ошибки.
#
# Как и `torch.nn.CrossEntropyLoss`, наш класс принимает **логиты**, а не вероятности, и **номера
# классов** формы $(N,)$, а не one-hot. Поэтому softmax не ставят последним слоем модели: он уже внутри
# функции потерь.
#
# ### Log-sum-exp
#
# Логарифм softmax записывается без деления:
# $$\log p_{n,k} = z_{n,k} - \log \sum_{j} e^{z_{n,j}}
#   = (z_{n,k} - m_n) - \log \sum_j e^{z_{n,j} - m_n}, \qquad m_n = \max_j z_{n,j}.$$
# Второй вариант — приём **log-sum-exp**: под логарифмом сумма не меньше 1 (в ней есть $e^0$), поэтому
# логарифм нуля не возникает, а разность $z_{n,k} - m_n$ может быть хоть $-1000$ — вклад примера тогда
# честно получается $\approx 1000$.
#
# ### Почему не `-log(p + 1e-15)`
#
# Частое «решение» — посчитать вероятности, а от логарифма нуля защититься добавкой:
# `-np.mean(np.log(p[range(N), y] + 1e-15))`. Но эта добавка **обрезает** потери: как только
# $p_{n,y_n} \ll 10^{-15}$ (верный логит меньше максимального примерно на 35 и больше), вклад примера
# застревает на $-\log 10^{-15} = 15 \ln 10 \approx 34.5$, сколько бы модель ни ошибалась. Для уверенно
# неверных ответов значение потерь оказывается неправдой, и оно перестаёт согласовываться с градиентом
# (график в разделе 7.4). Log-sum-exp даёт точный ответ без всяких констант.
#
# ### Градиент
#
# Для одного примера $\ell = -z_y + \log \sum_j e^{z_j}$. Производная по логиту $z_k$:
# $$\frac{\partial \ell}{\partial z_k} = -[k = y] + \frac{e^{z_k}}{\sum_j e^{z_j}} = p_k - [k = y],$$
# где $[k = y]$ — единица при $k = y$ и ноль иначе, то есть one-hot вектор метки. Потеря — среднее
# по $N$ примерам, поэтому
# $$\frac{\partial L}{\partial z} = \frac{1}{N}\bigl(\mathrm{softmax}(z) - \mathrm{one\_hot}(y)\bigr).$$
# Якобиан самого softmax громоздкий ($\partial p_i / \partial z_j = p_i([i=j] - p_j)$), но в паре с
# логарифмом всё сокращается до разности — ещё одна причина считать softmax и потери вместе.
# Заметьте: по каждой строке градиент в сумме даёт 0 (вероятности и one-hot суммируются в 1).
#
# ### Интерфейс `Loss`
#
# - `forward(logits, target)` возвращает **одно число** (`float`), а не массив; `loss_fn(logits, target)`
#   вызывает `forward` (это уже сделано в базовом классе `Loss`);
# - `backward()` **без аргументов**: функция потерь — конец цепочки, и $\partial L / \partial L = 1$.
#   Он возвращает $\partial L / \partial z$ формы $(N, C)$ — это и есть `grad_output` для
#   `model.backward(...)`. Всё нужное для него (вероятности, метки) `forward` сохраняет в кэш.
# - `forward` не меняет ни предсказания, ни `target` (это массивы вызывающего кода), а `backward()` не портит
#   кэш: второй вызов `backward()` после того же `forward` возвращает тот же градиент. Поэтому градиент собирайте
#   в новом массиве (`probs.copy()`), а не вычитайте one-hot прямо из сохранённых вероятностей.
# - На входах несовместимой формы `forward` бросает `ValueError`.
#
# Эти правила проверяют скрытые тесты обеих функций потерь.
#
# Для проверки градиента функции потерь пригодится своя версия `gradient_check`: она сравнивает
# `backward()` с численной производной самого значения `forward(...)`.

# %%
def loss_gradient_check(loss_fn, prediction, target, tolerance=1e-6):
    """Сравнить loss_fn.backward() с численным градиентом loss_fn.forward(prediction, target).

    Возвращает относительную ошибку; бросает AssertionError, если она больше tolerance.
    """
    prediction = np.array(prediction, dtype=np.float64)
    loss_fn.forward(prediction.copy(), target)
    analytic = loss_fn.backward()
    numeric = numeric_gradient(lambda: float(loss_fn.forward(prediction, target)), prediction)
    error = relative_error(analytic, numeric)
    print(f"{type(loss_fn).__name__}: относительная ошибка градиента {error:.2e}")
    assert error < tolerance, (f"{type(loss_fn).__name__}.backward не совпадает с численным градиентом: "
                               f"относительная ошибка {error:.2e} > {tolerance:.0e}")
    return error


# %% solution id=cross_entropy
class CrossEntropyLoss(Loss):
    """Кросс-энтропия по логитам, среднее по батчу (как torch.nn.CrossEntropyLoss).

    Формы: logits (N, C) — выход сети; target (N,) — целые номера классов от 0 до C - 1.
    Кэш: softmax(logits) и target — этого хватает для backward.
    """

    def forward(self, logits, target):
        """logits (N, C), target (N,) -> float: -mean_n log softmax(logits)[n, target[n]].

        TODO: если logits не двумерный или target не формы (N,) — бросьте ValueError.
        Посчитайте log softmax через log-sum-exp (максимум строки вычесть до exp),
        выберите элементы верных классов, усредните по батчу; сохраните вероятности и target.
        Без log(p + 1e-15): на уверенно неверных ответах такая добавка обрезает потери.
        Верните число float, а не массив.
        """
        # @solution CrossEntropyLoss.forward

    def backward(self):
        """-> dL/dlogits формы (N, C): (softmax(logits) - one_hot(target)) / N.

        Соберите градиент в новом массиве: повторный backward() должен вернуть то же самое.
        """
        # @solution CrossEntropyLoss.backward


# %% readonly id=cross_entropy_visible_tests
ce = CrossEntropyLoss()
logits = np.array([[2.0, 1.0, 0.1], [1.0, 3.0, 0.2]])
target = np.array([0, 1])
loss = ce.forward(logits, target)
assert loss is not None, "forward вернул None — забыли return?"
assert isinstance(loss, float), f"forward должен вернуть число float, а вернул {type(loss).__name__}"
assert np.isclose(loss, 0.29806709553141814), f"forward: потери {loss}, ожидалось 0.298067 (среднее по батчу)"
grad = ce.backward()
assert grad is not None, "backward вернул None — забыли return?"
expected = np.array([[-0.17049943055701605, 0.12121648535235695, 0.0492829452046591],
                     [0.05657142073278006, -0.08199059860927965, 0.02541917787649959]])
assert np.shape(grad) == logits.shape, f"backward: форма {np.shape(grad)}, а должна совпадать с logits {logits.shape}"
assert not np.allclose(grad, 2 * expected), "backward: градиент вдвое больше нужного — разделите на размер батча N"
assert np.allclose(grad, expected), f"backward: получено\n{grad}\nа ожидалось (softmax - one_hot) / N =\n{expected}"
assert np.isclose(ce(logits, target), loss), "ce(logits, target) должен давать то же, что ce.forward(logits, target)"

# Уверенно неверный ответ: верный логит меньше максимального на 1000 -> вклад 1000, а не 34.5.
with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
    warnings.simplefilter("error")
    try:
        loss = CrossEntropyLoss().forward(np.array([[1000.0, 0.0], [0.0, 0.0]]), np.array([1, 0]))
    except FloatingPointError as error:
        raise AssertionError(f"forward: численная ошибка на логитах ±1000 ({error}) — "
                             "считайте log softmax через log-sum-exp") from None
assert not np.isclose(loss, (34.538776394910684 + np.log(2)) / 2, atol=0.01), (
    "forward: потеря уверенно неверного ответа обрезана на 34.5 — это след log(p + 1e-15); используйте log-sum-exp")
assert np.isclose(loss, (1000 + np.log(2)) / 2), f"forward на логитах [[1000, 0], [0, 0]], метки [1, 0]: {loss}, а должно быть ≈ 500.35"

try:
    CrossEntropyLoss().forward(logits, np.array([[1, 0, 0], [0, 1, 0]]))
except ValueError:
    pass
else:
    raise AssertionError("forward с one-hot target формы (N, C) должен бросать ValueError: нужны номера классов (N,)")

loss_gradient_check(CrossEntropyLoss(), np.random.randn(4, 5) * 2, np.array([0, 3, 4, 1]))
print("✓ открытые тесты CrossEntropyLoss пройдены")

# %% hidden id=cross_entropy_hidden points=3
# Скрытые тесты CrossEntropyLoss (3 балла): число float, входы и кэш не меняются, ValueError на target формы (N, C), потери и градиент на случайных логитах, логиты до ±1000, батч из одного примера, численный градиент.
from solutions.checks import check_cross_entropy
check_cross_entropy(CrossEntropyLoss)

# %% [markdown]
# ## 7.4. Чем плоха добавка `1e-15`: картинка
#
# Возьмём два класса, логиты $(0, m)$ и верный класс 0: чем больше $m$, тем увереннее модель ошибается.
# Слева — потеря вашей `CrossEntropyLoss` (она равна $\log(1 + e^m)$) и потеря с добавкой
# `-log(p + 1e-15)`. Справа — производная потери по неверному логиту $m$: у вашего `backward` она равна
# $p_1 \to 1$, а у обрезанной потери (посчитана численно по кривой) за $m \approx 35$ падает до нуля.
# Значит, для «обрезанной» версии формула $(\mathrm{softmax} - \mathrm{one\_hot})/N$ уже не является
# её производной: значение потерь и градиент рассказывают разное.

# %% demo id=demo_cross_entropy_cap
margins = np.linspace(-5, 60, 261)
try:
    exact, slope = [], []
    for m in margins:
        loss_fn = CrossEntropyLoss()
        exact.append(loss_fn.forward(np.array([[0.0, m]]), np.array([0])))
        slope.append(loss_fn.backward()[0, 1])
    clipped = -np.log(softmax(np.stack([np.zeros_like(margins), margins], axis=1))[:, 0] + 1e-15)
except NotImplementedError:
    print("softmax или CrossEntropyLoss ещё не реализованы — график появится, когда они будут готовы")
else:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].plot(margins, exact, label="CrossEntropyLoss (log-sum-exp)")
    axes[0].plot(margins, clipped, "--", label="-log(p + 1e-15)")
    axes[0].axhline(-np.log(1e-15), color="gray", lw=0.8, ls=":", label="-log(1e-15) ≈ 34.5")
    axes[0].set_title("потеря при логитах (0, m), верный класс 0")
    axes[1].plot(margins, slope, label="ваш backward: dL/dm")
    axes[1].plot(margins, np.gradient(clipped, margins), "--", label="наклон обрезанной потери")
    axes[1].set_title("производная по неверному логиту m")
    for ax in axes:
        ax.set_xlabel("m — насколько неверный логит больше верного")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## 7.5. Среднеквадратичная ошибка (MSE)
#
# Для регрессии выход сети $\hat Y$ и ответ $Y$ — массивы одной формы, например $(N, D)$: $N$ примеров
# по $D$ чисел. Как и `torch.nn.MSELoss`, усредняем по **всем** $M = N \cdot D$ элементам:
# $$L = \frac{1}{M} \sum_{i} (\hat y_i - y_i)^2, \qquad
#   \frac{\partial L}{\partial \hat y_i} = \frac{2}{M} (\hat y_i - y_i).$$
# Квадрат сильно штрафует большие отклонения, поэтому MSE чувствительна к выбросам.
#
# **Ошибка, которую легко не заметить.** Если значение — среднее по всем элементам, а градиент делить
# на размер батча $N$, то градиент в $D$ раз больше настоящей производной печатаемых потерь. При $D = 1$
# разницы нет, поэтому ошибка прячется; при $D > 1$ это скрытое умножение шага обучения на $D$, и
# численная проверка градиента её сразу ловит. Правило простое: **градиент — производная ровно того
# числа, которое вернул `forward`**.
#
# **Ещё одна ловушка — broadcasting.** Если `prediction` формы $(N, 1)$, а `target` формы $(N,)$, то
# разность молча станет матрицей $(N, N)$ и потери будут бессмысленными. Поэтому формы нужно проверять и
# при несовпадении бросать `ValueError`.

# %% solution id=mse
class MSELoss(Loss):
    """Среднеквадратичная ошибка: среднее (prediction - target)**2 по ВСЕМ элементам (как torch.nn.MSELoss).

    Формы: prediction и target — одинаковые, любые. Кэш: разность prediction - target.
    """

    def forward(self, prediction, target):
        """prediction, target одной формы -> float.

        TODO: при разных формах бросьте ValueError (не полагайтесь на broadcasting);
        сохраните разность, верните среднее её квадратов числом float.
        """
        # @solution MSELoss.forward

    def backward(self):
        """-> dL/dprediction той же формы: 2 * (prediction - target) / (число ВСЕХ элементов).

        Кэш не меняйте: повторный backward() должен вернуть то же самое.
        """
        # @solution MSELoss.backward


# %% readonly id=mse_visible_tests
mse = MSELoss()
prediction = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
target = np.array([[1.5, 2.0, 2.0], [4.0, 3.0, 6.5]])
loss = mse.forward(prediction, target)
assert loss is not None, "forward вернул None — забыли return?"
assert isinstance(loss, float), f"forward должен вернуть число float, а вернул {type(loss).__name__}"
assert np.isclose(loss, 5.5 / 6), f"forward: {loss}, ожидалось 5.5 / 6 ≈ 0.9167 (среднее по всем 6 элементам)"
grad = mse.backward()
assert grad is not None, "backward вернул None — забыли return?"
expected = 2 * (prediction - target) / 6
assert np.shape(grad) == prediction.shape, f"backward: форма {np.shape(grad)}, ожидалась {prediction.shape}"
assert not np.allclose(grad, 3 * expected), (
    "backward: градиент в 3 раза больше — вы делите на размер батча (2), а нужно на число всех элементов (6)")
assert np.allclose(grad, expected), f"backward: получено\n{grad}\nа ожидалось 2 * (prediction - target) / 6 =\n{expected}"
assert np.isclose(mse(prediction, target), loss), "mse(prediction, target) должен давать то же, что forward"
try:
    MSELoss().forward(np.zeros((3, 1)), np.zeros(3))
except ValueError:
    pass
else:
    raise AssertionError("forward: prediction (3, 1) и target (3,) разной формы — нужна ValueError, "
                         "иначе broadcasting молча сделает из разности матрицу 3×3")
loss_gradient_check(MSELoss(), np.random.randn(4, 3), np.random.randn(4, 3))
print("✓ открытые тесты MSELoss пройдены")

# %% hidden id=mse_hidden points=2
# Скрытые тесты MSELoss (2 балла): число float, входы и кэш не меняются, ValueError на разных формах, значение и градиент на массиве 5×3 и на векторе, численный градиент.
from solutions.checks import check_mse
check_mse(MSELoss)

# %% [markdown]
# ## 7.6. Температура softmax
#
# Если разделить логиты на число $T > 0$ — **температуру** — получится семейство распределений
# $\mathrm{softmax}(z / T)$ с тем же порядком классов:
# - $T \to 0$: распределение стремится к one-hot на самом большом логите, то есть к «жёсткому» argmax;
#   softmax — его сглаженная («мягкая») версия, отсюда и название;
# - $T = 1$: обычный softmax;
# - $T \to \infty$: все классы становятся равновероятными.
#
# Неопределённость распределения измеряет энтропия $H(p) = -\sum_i p_i \log p_i$: от 0 (один класс) до
# $\log C$ (равномерное). Температуру крутят при генерации текста (ниже $T$ — предсказуемее, выше —
# разнообразнее), при дистилляции моделей и при калибровке уверенности классификатора.
# Ниже всё посчитано **вашим** `softmax` — все температуры одним вызовом, по строке на температуру.

# %% demo id=demo_softmax_temperature
z = np.array([3.0, 1.5, 1.0, 0.2, -1.0])
shown = [0.5, 1.0, 3.0]
temperatures = np.geomspace(0.05, 100, 200)
try:
    shown_probs = softmax(z[None, :] / np.array(shown)[:, None])
    probs = softmax(z[None, :] / temperatures[:, None])
except NotImplementedError:
    print("softmax ещё не реализован — график появится, когда он будет готов")
else:
    entropy = -np.sum(probs * np.log(np.clip(probs, 1e-300, None)), axis=1)
    fig, axes = plt.subplots(1, len(shown) + 1, figsize=(14, 3.4))
    for ax, T, p in zip(axes, shown, shown_probs):
        ax.bar(np.arange(len(z)), p, color="tab:blue")
        ax.set_ylim(0, 1)
        ax.set_xticks(np.arange(len(z)), [f"z={v:g}" for v in z], fontsize=8)
        ax.set_title(f"softmax(z / T), T = {T:g}")
    axes[-1].semilogx(temperatures, entropy, color="tab:orange")
    axes[-1].plot(shown, -np.sum(shown_probs * np.log(shown_probs), axis=1), "o", color="tab:blue",
                  label="T с графиков слева")
    axes[-1].axhline(np.log(len(z)), color="gray", ls=":", label="log C — равномерное")
    axes[-1].set_xlabel("температура T")
    axes[-1].set_title("энтропия H(softmax(z / T))")
    axes[-1].legend(loc="center right", fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.show()

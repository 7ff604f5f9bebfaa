# reference: solutions.activations
# %% [markdown]
# # 1. Функции активации: ReLU, Sigmoid, Tanh
#
# В этом курсе вы по шагам соберёте нейросеть на чистом NumPy: слои, функции потерь,
# оптимизаторы и цикл обучения, а в последнем ноутбуке обучите её распознавать рукописные цифры.
# Зачем писать то, что уже есть в PyTorch: когда сам выведешь и запрограммируешь каждый градиент,
# становится понятно, что делает библиотека и почему обучение иногда ломается.
# Начнём с самого простого — поэлементных нелинейностей.
#
# **Как устроено задание.**
# - Код пишите только внутри ячеек с `# ВАШ КОД ЗДЕСЬ` (строку `raise NotImplementedError()` удалите).
# - После каждого класса идёт ячейка с **открытыми тестами**: запустите её, она объяснит, что не так.
# - Ячейки «Скрытые тесты» при проверке сравнивают вашу реализацию с эталоном на случайных данных
#   и на трудных входах. Баллы ставятся только за них; открытые тесты — подсказка, а не гарантия.
# - Общий код курса (базовый класс `Layer`, проверка градиентов, графики) лежит в `nn_helpers.py`.

# %% [markdown]
# ### Словарик
#
# Термины, которые встретятся во всех ноутбуках. В скобках — английские названия: так они звучат
# в документации PyTorch и в статьях.
#
# - **Прямой проход** (forward pass) — вычисление выхода слоя или сети по входу, метод `forward`.
# - **Обратный проход** (backward pass) — вычисление градиентов от функции потерь назад ко входу,
#   метод `backward`; для всей сети это **обратное распространение ошибки** (backpropagation).
# - **Градиент сверху** (upstream gradient) — $\partial L / \partial y$ по выходу слоя, аргумент
#   `grad_output` метода `backward`.
# - **Цепное правило** (chain rule) — правило дифференцирования композиции функций.
# - **Якобиан** (Jacobian) — матрица частных производных выхода по входу.
# - **Кэш** (cache) — то, что `forward` запоминает для `backward`.
# - **Параметры** (parameters): **веса** (weights) и **смещения** (biases) — то, что меняет обучение.
# - **Функция потерь** (loss function), **потери** (loss) — число $L$, которое обучение уменьшает.
# - **Логиты** (logits) — выходы последнего слоя классификатора до softmax.
# - **Батч**, **мини-батч** (batch, mini-batch) — группа примеров, обрабатываемая за один раз;
#   **эпоха** (epoch) — один проход по всей обучающей выборке.
# - **Оптимизатор** (optimizer) — объект, который сдвигает параметры по их градиентам; один такой
#   сдвиг — **шаг** (step).
# - **Шаг обучения** $\eta$ (learning rate, `learning_rate`) — множитель, задающий размер шага.
# - **Режим обучения** и **режим инференса** (training / inference mode, методы `train()` / `eval()`).
# - **Скользящие средние** (running statistics: `running_mean`, `running_var`) — статистики, которые
#   BatchNorm копит при обучении и использует при инференсе.
# - **Насыщение** (saturation) — область, где производная активации почти ноль.
# - **Численная проверка градиента** (gradient check) — сравнение `backward` с конечными разностями.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, gradient_check

np.random.seed(0)

# %% [markdown]
# ## Слой: прямой и обратный проход
#
# Каждый слой — это функция $y = f(x)$ с двумя методами:
#
# - `forward(x)` вычисляет $y$ и **запоминает** (кэширует) всё, что понадобится для производной;
# - `backward(grad_output)` получает $\dfrac{\partial L}{\partial y}$ — градиент функции потерь $L$
#   по выходу слоя — и возвращает $\dfrac{\partial L}{\partial x}$.
#
# Для поэлементной функции $y_i = f(x_i)$ цепное правило даёт
# $$\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial y_i}\, f'(x_i),$$
# то есть `backward` — это поэлементное умножение пришедшего градиента на производную.
# Форма `grad_output` всегда совпадает с формой выхода, а результат — с формой входа.
#
# Почему кэш, а не повторное вычисление? `backward` вызывается сразу после `forward`
# на том же батче; хранить маску или выход дешевле, чем считать их снова.

# %% [markdown]
# ### Договорённости для всех слоёв курса
#
# Они действуют во всех ноутбуках, и скрытые тесты проверяют каждую — так ведут себя слои PyTorch:
#
# - **`forward` не меняет входной массив `x`, а `backward` — массив `grad_output`.** Оба принадлежат
#   вызывающему коду: соседнему слою, циклу обучения. Результат считайте в новом массиве — никаких `x -= ...`,
#   `np.maximum(x, 0, out=x)` или `grad_output *= ...`.
# - **`backward` не портит кэш.** Массив, который вернул `forward`, после `backward` остаётся прежним (если этот
#   же массив лежит у вас в кэше, не меняйте его на месте), а второй `backward` с тем же `grad_output` после того же
#   `forward` даёт тот же градиент.
# - **Тип данных сохраняется.** На входе `float32` — `forward` возвращает `float32`, и `backward` с `grad_output`
#   типа `float32` возвращает `float32`; на входе `float64` — `float64` (не переходите к `float32` «для скорости»:
#   пропадёт точность). Где в вычислении участвуют параметры слоя (они хранятся в `float64`), приведите результат
#   к типу входа: `.astype(x.dtype)`.

# %% [markdown]
# ## 1.1. ReLU
#
# $$\mathrm{ReLU}(x) = \max(0, x), \qquad
# \mathrm{ReLU}'(x) = \begin{cases} 1, & x > 0 \\ 0, & x \le 0 \end{cases}$$
#
# В нуле функция не дифференцируема; как и в PyTorch, берём производную **0** в точке $x = 0$
# (это допустимый субградиент, и так нейроны с нулевым входом не получают обновлений).
#
# Почему ReLU так популярна:
# - производная равна 1 на всей положительной полуоси, поэтому градиент не затухает
#   при прохождении через много слоёв (в отличие от сигмоиды);
# - вычисляется одним сравнением;
# - даёт разреженные активации: при входах, симметричных относительно нуля, примерно половина
#   выходов — нули.
#
# Обратная сторона — «мёртвые» нейроны: если вход нейрона всегда отрицателен,
# градиент через него всегда 0, и его веса больше не обучаются.
#
# **Важно:** `forward` не должен менять входной массив `x` на месте (например, `x[x < 0] = 0`):
# этот же массив может понадобиться предыдущему слою в `backward`.

# %% solution id=relu
class ReLU(Layer):
    """ReLU: y = max(0, x), поэлементно.

    Формы: x — любая, y — той же формы.
    Кэш: маска положительных элементов (x > 0) — её хватает для backward.
    """

    def forward(self, x):
        """x: np.ndarray любой формы -> np.ndarray той же формы.

        TODO: сохраните в self._positive маску x > 0 и верните max(0, x),
        не изменяя сам x.
        """
        # @solution ReLU.forward

    def backward(self, grad_output):
        """grad_output: dL/dy той же формы, что выход -> dL/dx.

        TODO: градиент проходит там, где x > 0, и обнуляется там, где x <= 0.
        """
        # @solution ReLU.backward


# %% readonly id=relu_visible_tests
relu = ReLU()
x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
x_before = x.copy()
y = relu.forward(x)
assert y is not None, "forward вернул None — забыли return?"
assert y.shape == x.shape, f"forward: форма выхода {y.shape}, а должна совпадать со входом {x.shape}"
assert np.allclose(y, [[0, 0, 0, 0.5, 2.0]]), f"forward: ReLU([-2, -0.5, 0, 0.5, 2]) = {y}, а должно быть [0, 0, 0, 0.5, 2]"
assert np.array_equal(x, x_before), "forward изменил входной массив x — вычисляйте результат в новом массиве"

grad = relu.backward(np.array([[10.0, 20.0, 30.0, 40.0, 50.0]]))
assert np.allclose(grad, [[0, 0, 0, 40, 50]]), (
    f"backward: получено {grad}, ожидалось [0, 0, 0, 40, 50]; в нуле производная ReLU равна 0")

x = np.random.randn(4, 6)
x[np.abs(x) < 0.01] = 0.5  # численная производная в изломе не определена
gradient_check(ReLU(), x)
print("✓ открытые тесты ReLU пройдены")

# %% hidden id=relu_hidden points=2
# Скрытые тесты ReLU (2 балла): случайные батчи, граница x = 0, батч из одного примера; x, grad_output и кэш не меняются, тип float32/float64 сохраняется.
from solutions.checks import check_relu
check_relu(ReLU)

# %% [markdown]
# ## 1.2. Sigmoid
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr).$$
#
# Вывод производной: $\sigma'(x) = \dfrac{e^{-x}}{(1 + e^{-x})^2}
# = \dfrac{1}{1 + e^{-x}} \cdot \dfrac{e^{-x}}{1 + e^{-x}} = \sigma(x)\,(1 - \sigma(x))$.
# Поэтому в кэше достаточно хранить сам выход $y = \sigma(x)$.
#
# Сигмоида отображает прямую в интервал $(0, 1)$, поэтому её выход можно читать как вероятность —
# она стоит на выходе бинарных классификаторов и в «воротах» LSTM и GRU.
# В глубоких сетях её избегают: $\sigma'(x) \le \tfrac14$, и градиент затухает, проходя через слои;
# при $|x| \gtrsim 10$ производная практически ноль (насыщение).
#
# **Численная устойчивость.** Формула «в лоб» при $x = -1000$ вычисляет $e^{1000}$ —
# это переполнение (`RuntimeWarning: overflow`), и на проверке такой код не пройдёт.
# Выход: вычислять экспоненту только от неположительного числа. Пусть $z = e^{-|x|} \in [0, 1]$, тогда
# $$\sigma(x) = \begin{cases} \dfrac{1}{1 + z}, & x \ge 0, \\[2mm] \dfrac{z}{1 + z}, & x < 0. \end{cases}$$
# Обе ветки — это одна и та же формула, просто для $x < 0$ числитель и знаменатель умножены на $e^{x}$.
# Ноль в интервале для $z$ не опечатка: в `float64` $e^{-|x|}$ при $|x| \gtrsim 745$ округляется до нуля
# (без предупреждения), и тогда формулы дают ровно 1 или 0 — правильный ответ с точностью `float64`.

# %% solution id=sigmoid
class Sigmoid(Layer):
    """Sigmoid: y = 1 / (1 + exp(-x)), поэлементно.

    Формы: x — любая, y — той же формы, значения в (0, 1).
    Кэш: выход y, потому что dy/dx = y * (1 - y).
    """

    def forward(self, x):
        """x: np.ndarray любой формы -> np.ndarray той же формы.

        TODO: устойчивая сигмоида без переполнения при |x| до 1000 и больше
        (экспонента только от -|x|). Сохраните результат в self._y.
        """
        # @solution Sigmoid.forward

    def backward(self, grad_output):
        """grad_output: dL/dy -> dL/dx = grad_output * y * (1 - y).

        Не меняйте на месте ни grad_output, ни кэш self._y: forward уже вернул этот массив.
        """
        # @solution Sigmoid.backward


# %% readonly id=sigmoid_visible_tests
sigmoid = Sigmoid()
y = sigmoid.forward(np.array([[0.0, 2.0, -2.0]]))
assert y is not None, "forward вернул None — забыли return?"
assert np.allclose(y, [[0.5, 0.8807970779778823, 0.11920292202211755]]), f"forward: σ(0), σ(2), σ(-2) = {y}"

with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
    warnings.simplefilter("error")
    try:
        y = Sigmoid().forward(np.array([-1000.0, -50.0, 50.0, 1000.0]))
    except FloatingPointError as error:
        raise AssertionError(f"forward переполняется на больших |x|: {error}. "
                             "Считайте экспоненту только от -|x|") from None
assert np.allclose(y, [0, 0, 1, 1]) and np.all(y >= 0), f"forward на ±1000 и ±50 даёт {y}, а должно быть ≈ [0, 0, 1, 1]"

sigmoid.forward(np.array([[0.0, 2.0, -2.0]]))
grad = sigmoid.backward(np.array([[4.0, 1.0, -1.0]]))
expected = np.array([[4 * 0.25, 0.10499358540350662, -0.10499358540350662]])
assert np.allclose(grad, expected), f"backward: получено {grad}, ожидалось {expected}"

gradient_check(Sigmoid(), np.random.randn(4, 6) * 3)
print("✓ открытые тесты Sigmoid пройдены")

# %% hidden id=sigmoid_hidden points=2
# Скрытые тесты Sigmoid (2 балла): случайные батчи, |x| до 1000 без переполнения, батч из одного примера; x, grad_output и кэш не меняются, тип float32/float64 сохраняется.
from solutions.checks import check_sigmoid
check_sigmoid(Sigmoid)

# %% [markdown]
# ## 1.3. Tanh
#
# $$\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1, \qquad \tanh'(x) = 1 - \tanh^2(x).$$
#
# Как и у сигмоиды, производная выражается через выход, так что кэшируем $y = \tanh(x)$.
# Tanh — та же «S-образная» кривая, но растянутая в $(-1, 1)$ и центрированная в нуле;
# поэтому в сетях на tanh обучение обычно идёт быстрее, чем на сигмоиде. Насыщение никуда не делось:
# $\tanh'(x) \le 1$ и быстро стремится к нулю при росте $|x|$.
#
# `np.tanh` устойчив сам по себе: при $|x| \to \infty$ он просто возвращает $\pm 1$.
# **Не обрезайте выход** (например, `np.clip(y, -0.999999, 0.999999)`): такая «защита» ничего не
# защищает, зато портит и значение, и производную — при $x = 20$ вместо $1 - \tanh^2 \approx 10^{-17}$
# получится $2 \cdot 10^{-6}$, и сеть будет получать градиент там, где его нет.

# %% solution id=tanh
class Tanh(Layer):
    """Tanh: y = tanh(x), поэлементно.

    Формы: x — любая, y — той же формы, значения в (-1, 1).
    Кэш: выход y, потому что dy/dx = 1 - y**2.
    """

    def forward(self, x):
        """x -> tanh(x); сохраните результат в self._y."""
        # @solution Tanh.forward

    def backward(self, grad_output):
        """grad_output: dL/dy -> dL/dx = grad_output * (1 - y**2).

        Не меняйте на месте ни grad_output, ни кэш self._y: forward уже вернул этот массив.
        """
        # @solution Tanh.backward


# %% readonly id=tanh_visible_tests
tanh = Tanh()
y = tanh.forward(np.array([[0.0, 1.0, -1.0, 30.0]]))
assert y is not None, "forward вернул None — забыли return?"
assert np.allclose(y, [[0.0, 0.7615941559557649, -0.7615941559557649, 1.0]], rtol=0, atol=1e-12), f"forward: {y}"
grad = tanh.backward(np.array([[2.0, 1.0, 1.0, 1e6]]))
assert np.allclose(grad, [[2.0, 0.41997434161402614, 0.41997434161402614, 0.0]], rtol=1e-9, atol=1e-9), (
    f"backward: получено {grad}; при x = 30 производная tanh практически 0 — не обрезайте выход")
gradient_check(Tanh(), np.random.randn(4, 6) * 2)
print("✓ открытые тесты Tanh пройдены")

# %% hidden id=tanh_hidden points=2
# Скрытые тесты Tanh (2 балла): случайные батчи, насыщение при |x| до 1000, батч из одного примера; x, grad_output и кэш не меняются, тип float32/float64 сохраняется.
from solutions.checks import check_tanh
check_tanh(Tanh)

# %% [markdown]
# ## 1.4. Как выглядят активации и их производные
#
# Производные ниже посчитаны **вашими** методами `backward`: подаём сверху градиент из единиц,
# и `backward` возвращает ровно $f'(x)$. Обратите внимание, где каждая производная близка к нулю —
# там градиент через слой почти не проходит.

# %% demo id=demo_activation_curves
xs = np.linspace(-6, 6, 601)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for layer_class, color in ((ReLU, "tab:blue"), (Sigmoid, "tab:orange"), (Tanh, "tab:green")):
    layer = layer_class()
    try:
        ys = layer.forward(xs)
        slopes = layer.backward(np.ones_like(xs))
    except NotImplementedError:
        print(f"{layer_class.__name__} ещё не реализован — его кривой нет на графике")
        continue
    axes[0].plot(xs, ys, color=color, label=layer_class.__name__)
    axes[1].plot(xs, slopes, color=color, label=layer_class.__name__)
axes[0].set_title("f(x)")
axes[1].set_title("f'(x), посчитанная через backward")
for ax in axes:
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# reference: solutions.sequential
# %% [markdown]
# # 3. Последовательный контейнер (Sequential)
#
# Многослойный перцептрон — это цепочка слоёв: `Linear → ReLU → Linear → ReLU → Linear`.
# Вызывать `forward` и `backward` каждого слоя руками неудобно и опасно (легко перепутать порядок),
# поэтому слои собирают в контейнер. `Sequential` сам является слоем (`Layer`) с тем же интерфейсом:
# его можно отдать функции потерь и оптимизатору как «одну большую функцию» и даже вложить в другой
# `Sequential` как блок.
#
# В этом ноутбуке нет новых формул для производных — здесь вся работа делается цепным правилом,
# и важно понять, **в каком порядке** и **над какими объектами** она выполняется.
#
# Правила те же: код — в ячейках с `# ВАШ КОД ЗДЕСЬ`, после класса — открытые тесты, баллы — за скрытые.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, gradient_check, load_from_notebook

np.random.seed(0)

# %% [markdown]
# ## 3.1. Прямой проход: композиция
#
# Сеть из $K$ слоёв — композиция функций $f = f_K \circ \dots \circ f_2 \circ f_1$:
# $$h_0 = x, \qquad h_k = f_k(h_{k-1}),\quad k = 1, \dots, K, \qquad y = h_K.$$
# `forward` контейнера пропускает вход через слои **по порядку** и возвращает выход последнего.
# Промежуточные $h_k$ контейнеру хранить не нужно: каждый слой сам кэширует то, что понадобится
# ему в `backward`. Пустой `Sequential()` — тождественная функция: возвращает вход как есть.

# %% [markdown]
# ## 3.2. Обратный проход: цепное правило в обратном порядке
#
# Обозначим $\delta_k = \dfrac{\partial L}{\partial h_k}$ — градиент потерь по выходу $k$-го слоя.
# Сверху приходит $\delta_K = \partial L / \partial y$. Цепное правило для $h_k = f_k(h_{k-1})$:
# $$\delta_{k-1} = \left(\frac{\partial h_k}{\partial h_{k-1}}\right)^{\!\top} \delta_k ,$$
# а это ровно то, что делает `f_k.backward(δ_k)`: получает градиент по своему выходу и возвращает
# градиент по своему входу. Поэтому
# $$\delta_{k-1} = f_k.\mathrm{backward}(\delta_k), \qquad k = K, K-1, \dots, 1, \qquad
# \frac{\partial L}{\partial x} = \delta_0 .$$
#
# **Почему в обратном порядке.** Чтобы вычислить $\delta_{k-1}$, нужен $\delta_k$, а он известен только после
# того, как отработал слой $k+1$. Зависимость идёт от выхода к входу, и другого порядка нет. Каждый слой по пути
# ещё и накапливает градиенты своих параметров: $\partial L / \partial \theta_k$ выражается через тот же $\delta_k$.
#
# Заметьте, что якобианы $\partial h_k / \partial h_{k-1}$ нигде не строятся: для `Linear(1000, 1000)` на
# батче из 64 примеров такой якобиан содержал бы $(64 \cdot 1000)^2 \approx 4 \cdot 10^9$ чисел. `backward`
# сразу считает произведение «вектор × якобиан» — это и есть обратное распространение ошибки.
#
# Частые ошибки, которые ловят проверки:
# - `backward` слоёв в прямом порядке;
# - каждому слою передаётся исходный `grad_output`, а не результат `backward` следующего слоя —
#   цепочки не получается, и градиент по входу неверен;
# - `backward` вызывается без предшествующего `forward` на том же батче — кэш слоёв относится к другому входу.

# %% [markdown]
# ## 3.3. Режимы `train()` / `eval()` должны доходить до каждого слоя
#
# Некоторые слои ведут себя по-разному при обучении и при инференсе. `Dropout` (следующий ноутбук) при обучении
# случайно обнуляет нейроны, а при инференсе ничего не делает. `BatchNorm` (пятый ноутбук) при обучении
# нормирует по статистикам батча, а при инференсе — по скользящим средним. Пользователь переключает режим одной
# командой `model.eval()`, и контейнер обязан передать её **всем** слоям, а также выставить собственный флаг
# `training`.
#
# Вложенные контейнеры обрабатываются сами собой: если вызвать `train()`/`eval()` у каждого слоя, то вложенный
# `Sequential` в своём `eval()` пройдёт уже по своим слоям. Явную рекурсию писать не нужно: её обеспечивает
# полиморфизм.
#
# Если поменять только `self.training` контейнера, `Dropout` внутри продолжит выключать нейроны на тестовых
# данных: точность окажется ниже и будет «прыгать» от запуска к запуску, хотя сам код не упадёт.
#
# Как и у базового класса, `train()` и `eval()` возвращают `self`, чтобы можно было писать
# `model = Sequential(...).eval()`.

# %% [markdown]
# ## 3.4. Параметры — это те же самые массивы
#
# `parameters()` контейнера — параметры всех слоёв одним плоским списком в порядке слоёв, `gradients()` — их
# градиенты **в том же порядке**: оптимизатор идёт по двум спискам параллельно и хранит своё состояние (скорости,
# моменты) по позиции параметра в списке. У слоёв без параметров (ReLU) списки пустые.
#
# Главное требование: в списке лежат **сами массивы слоёв** (проверка — `model.parameters()[0] is model[0].weight`),
# а не их копии. Оптимизатор меняет параметры на месте, `p -= ...`. Если `parameters()` вернёт копии (например,
# `p.copy()` или склеенный `np.concatenate` вектор), оптимизатор будет добросовестно обновлять копии, а сеть не
# изменится: потери стоят на месте, ошибок нет.
#
# Возвращайте именно **список**, а не генератор (`yield`): генератор можно пройти только один раз, а оптимизатор
# обходит параметры на каждом шаге, да ещё и вместе с градиентами. И список должен быть плоским: `[W1, b1, W2, b2]`,
# а не `[[W1, b1], [W2, b2]]`.
#
# `zero_grad()` контейнера просит обнулить градиенты каждый слой: как именно это сделать на месте, слой знает сам.
#
# Договорённости первого ноутбука действуют и для контейнера, и скрытые тесты их проверяют: `forward` не меняет
# входной массив `x`, `backward` не меняет `grad_output` — контейнер просто передаёт массивы по цепочке слоёв.
#
# Удобства в духе PyTorch: `len(model)` — число слоёв, `model[i]` — $i$-й слой (в том числе `model[-1]`),
# `model.add(layer)` — добавить слой в конец (возвращает `self`).

# %% solution id=sequential
class Sequential(Layer):
    """Цепочка слоёв: y = layers[-1](... layers[1](layers[0](x))).

    Sequential — тоже слой, поэтому контейнеры можно вкладывать друг в друга.
    Собственного кэша нет: каждый слой хранит свой.
    """

    def __init__(self, *layers):
        # @given Sequential.__init__

    def add(self, layer):
        """Добавить слой в конец цепочки и вернуть self."""
        # @solution Sequential.add

    def forward(self, x):
        """x -> выход последнего слоя.

        TODO: пропустите x через слои по порядку; для пустого контейнера верните x.
        """
        # @solution Sequential.forward

    def backward(self, grad_output):
        """grad_output: dL/dy -> dL/dx.

        TODO: вызовите backward слоёв в ОБРАТНОМ порядке, передавая каждому
        результат предыдущего вызова; верните градиент по входу первого слоя.
        """
        # @solution Sequential.backward

    def train(self):
        """Режим обучения для самого контейнера и всех его слоёв; вернуть self."""
        # @solution Sequential.train

    def eval(self):
        """Режим инференса для самого контейнера и всех его слоёв; вернуть self."""
        # @solution Sequential.eval

    def parameters(self):
        """Параметры всех слоёв одним плоским списком, в порядке слоёв: сами массивы, не копии."""
        # @solution Sequential.parameters

    def gradients(self):
        """Градиенты всех слоёв одним списком, в том же порядке, что parameters()."""
        # @solution Sequential.gradients

    def zero_grad(self):
        """Обнулить градиенты всех слоёв (каждый слой делает это сам, на месте)."""
        # @solution Sequential.zero_grad

    def __len__(self):
        """Число слоёв."""
        # @solution Sequential.__len__

    def __getitem__(self, index):
        """Слой с номером index (работают и отрицательные номера)."""
        # @solution Sequential.__getitem__


# %% [markdown]
# ### Открытые тесты
#
# Чтобы тесты не зависели от вашего `Linear` из прошлого ноутбука, в них используются крошечные слои,
# определённые прямо в ячейке: `Shift` ($y = x + c$, без параметров), `Square` ($y = x^2$) и `Scale`
# ($y = a \odot x$ с обучаемым вектором $a$). Все они записывают свои вызовы в журнал `calls`, так что
# тест видит, в каком порядке контейнер их вызывал.

# %% readonly id=sequential_visible_tests
calls = []


class Shift(Layer):
    """y = x + c; параметров нет."""

    def __init__(self, c, name):
        super().__init__()
        self.c, self.name = c, name

    def forward(self, x):
        calls.append(f"{self.name}.forward")
        return x + self.c

    def backward(self, grad_output):
        calls.append(f"{self.name}.backward")
        return grad_output


class Square(Layer):
    """y = x ** 2, dy/dx = 2x."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def forward(self, x):
        calls.append(f"{self.name}.forward")
        self._x = x
        return x ** 2

    def backward(self, grad_output):
        calls.append(f"{self.name}.backward")
        return 2 * self._x * grad_output


class Scale(Layer):
    """y = a * x с обучаемым вектором a формы (D,); grad_a накапливается."""

    def __init__(self, a, name):
        super().__init__()
        self.a, self.name = np.array(a, dtype=float), name
        self.grad_a = np.zeros_like(self.a)

    def forward(self, x):
        calls.append(f"{self.name}.forward")
        self._x = x
        return self.a * x

    def backward(self, grad_output):
        calls.append(f"{self.name}.backward")
        self.grad_a += (grad_output * self._x).sum(axis=0)
        return grad_output * self.a

    def parameters(self):
        return [self.a]

    def gradients(self):
        return [self.grad_a]


shift, square = Shift(1.0, "shift"), Square("square")
scale1, scale2 = Scale([3.0, -1.0], "scale1"), Scale([0.5, 2.0], "scale2")
inner = Sequential(square, scale1)
model = Sequential(shift, inner, scale2)
x = np.array([[1.0, -2.0],
              [0.0, 2.0]])
x_before = x.copy()

y = model.forward(x)
assert y is not None, "forward вернул None — забыли return?"
assert np.allclose(y, [[6.0, -2.0], [1.5, -18.0]]), (
    f"forward: получено\n{y}\nожидалось [[6, -2], [1.5, -18]]; порядок вызовов: {calls}")
assert calls == ["shift.forward", "square.forward", "scale1.forward", "scale2.forward"], (
    f"forward должен вызывать слои по порядку (и вложенный контейнер — целиком на своём месте), а вызовы были: {calls}")
assert np.array_equal(x, x_before), "forward изменил входной массив x"

calls.clear()
grad = model.backward(np.array([[1.0, -1.0],
                                [2.0, 0.5]]))
assert grad is not None, "backward вернул None — забыли return?"
assert calls == ["scale2.backward", "scale1.backward", "square.backward", "shift.backward"], (
    f"backward должен вызывать слои в ОБРАТНОМ порядке, а вызовы были: {calls}")
assert np.allclose(grad, [[6.0, -4.0], [6.0, -6.0]]), (
    f"backward: градиент по входу\n{grad}\nа должен быть [[6, -4], [6, -6]]; "
    "передаёте ли вы каждому слою результат backward следующего за ним?")
assert np.allclose(scale1.grad_a, [3.0, 7.0]) and np.allclose(scale2.grad_a, [18.0, -3.5]), (
    f"градиенты параметров слоёв: scale1.grad_a = {scale1.grad_a}, scale2.grad_a = {scale2.grad_a}, "
    "ожидалось [3, 7] и [18, -3.5]")

params, grads = model.parameters(), model.gradients()
assert isinstance(params, list) and isinstance(grads, list), (
    f"parameters() и gradients() должны возвращать списки, а вернули {type(params).__name__} и {type(grads).__name__}")
assert len(params) == 2 and params[0] is scale1.a and params[1] is scale2.a, (
    "parameters() должен вернуть [scale1.a, scale2.a]: параметры всех слоёв (и вложенных) подряд, "
    "в порядке слоёв, плоским списком, сами массивы (проверка через `is`)")
assert len(grads) == 2 and grads[0] is scale1.grad_a and grads[1] is scale2.grad_a, (
    "gradients() должен вернуть [scale1.grad_a, scale2.grad_a] — в том же порядке, что parameters()")

model.zero_grad()
assert np.all(scale1.grad_a == 0) and np.all(scale2.grad_a == 0), "zero_grad() должен обнулить градиенты всех слоёв"
assert model.gradients()[0] is grads[0], "zero_grad() заменил массивы градиентов — обнуляйте на месте"

model.eval()
flags = [model.training, inner.training, shift.training, square.training, scale1.training, scale2.training]
assert not any(flags), (
    f"после eval() флаги training [model, inner, shift, square, scale1, scale2] = {flags}: "
    "режим должен выключиться у контейнера и у всех слоёв, включая вложенный Sequential")
model.train()
flags = [model.training, inner.training, shift.training, square.training, scale1.training, scale2.training]
assert all(flags), f"после train() флаги training [model, inner, shift, square, scale1, scale2] = {flags}"

assert len(model) == 3, f"len(model) = {len(model)}, а слоёв на верхнем уровне 3"
assert model[0] is shift and model[1] is inner and model[-1] is scale2, "model[i] должен возвращать i-й слой"
grown = Sequential()
assert np.array_equal(grown.forward(x), x), "пустой Sequential() должен возвращать вход без изменений"
grown.add(shift)
grown.add(square)
assert len(grown) == 2 and grown[0] is shift and grown[1] is square, "add(layer) должен добавлять слой в конец"

gradient_check(Sequential(Shift(0.5, "s"), Square("q"), Scale([2.0, -1.0, 0.5], "a")), np.random.randn(4, 3))
print("✓ открытые тесты Sequential пройдены")

# %% hidden id=sequential_hidden points=3
# Скрытые тесты Sequential (3 балла): x и grad_output не меняются, parameters()/gradients() — списки, порядок forward/backward, вложенный контейнер, parameters()/gradients() — сами массивы, train()/eval(), zero_grad, len, индексирование, add, пустой контейнер.
from solutions.checks import check_sequential
check_sequential(Sequential)

# %% [markdown]
# ## 3.5. Затухание градиентов: цепное правило в глубокой сети
#
# Раз $\delta_{k-1} = J_k^\top \delta_k$, градиент на первом слое — произведение $K$ якобианов. Если каждый
# уменьшает норму градиента хотя бы в несколько раз, до первых слоёв доходят крохи. Для сигмоиды это неизбежно:
# $\sigma'(z) \le \tfrac14$, и каждый слой `Sigmoid` умножает градиент на число не больше $\tfrac14$.
#
# Соберём из **ваших** классов (`Linear` из второго ноутбука, активации из первого, ваш `Sequential`)
# сеть из 12 блоков `Linear(64, 64)` + активация, сделаем `forward` на случайном батче, `backward` со случайным
# градиентом сверху и посмотрим на норму `grad_weight` каждого линейного слоя. Номер 1 — слой у входа.

# %% demo id=demo_gradients_through_depth
try:
    ReLU, Sigmoid, Tanh = load_from_notebook("01_activations.ipynb", "ReLU", "Sigmoid", "Tanh")
    Linear = load_from_notebook("02_linear.ipynb", "Linear")
except Exception as error:
    print(f"Не удалось взять слои из 01_activations.ipynb / 02_linear.ipynb ({type(error).__name__}: {error}).\n"
          "График строится из ваших классов прошлых ноутбуков — вернитесь к нему, когда они будут готовы.")
else:
    depth, width = 12, 64
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, width))
    upstream = rng.normal(size=(256, width))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for activation, color in ((ReLU, "tab:blue"), (Tanh, "tab:green"), (Sigmoid, "tab:orange")):
        np.random.seed(0)
        try:
            model = Sequential()
            for _ in range(depth):
                model.add(Linear(width, width))
                model.add(activation())
            model.forward(x)
            model.backward(upstream)
            norms = [np.linalg.norm(model[2 * k].grad_weight) for k in range(depth)]
        except Exception as error:  # какой-то из классов ещё не готов: назовём метод, где это случилось
            where = error.__traceback__
            while where.tb_next is not None:
                where = where.tb_next
            owner = type(where.tb_frame.f_locals.get("self")).__name__
            print(f"{activation.__name__}: кривой не будет — {type(error).__name__} "
                  f"в {owner}.{where.tb_frame.f_code.co_name}" + (f": {error}" if str(error) else ""))
            continue
        ax.semilogy(np.arange(1, depth + 1), norms, marker="o", ms=4, color=color, label=activation.__name__)
    ax.set_xlabel(f"номер слоя Linear (1 — у входа; backward идёт от {depth} к 1)")
    ax.set_xticks(range(1, depth + 1))
    ax.set_ylabel("‖grad_weight‖ (лог. шкала)")
    ax.set_title(f"Градиенты весов в сети из {depth} блоков Linear + активация")
    ax.grid(alpha=0.3, which="both")
    if ax.lines:
        ax.legend()
        fig.tight_layout()
        plt.show()
    else:
        plt.close(fig)
        print("Классы для графика: Sequential — из этого ноутбука, Linear — из 02_linear.ipynb, "
              "активации — из 01_activations.ipynb. Допишите их и запустите ячейку снова.")

# %% [markdown]
# С ReLU (и He-инициализацией из второго ноутбука) нормы градиентов на всех слоях одного порядка. С сигмоидой
# градиент уменьшается примерно втрое на каждом блоке справа налево, и первые слои получают градиент на 5 порядков
# меньше последних — они почти не учатся. Tanh в этом опыте держится: около нуля её производная близка к 1
# (в отличие от $\sigma'(0) = \tfrac14$); но когда входы уходят в насыщение, $|z| \gtrsim 3$, гасит градиент и она.
# Поэтому в скрытых слоях глубоких сетей используют ReLU и её родственников, а сигмоиду оставляют для выхода.

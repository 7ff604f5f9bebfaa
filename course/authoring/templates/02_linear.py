# reference: solutions.linear
# %% [markdown]
# # 2. Линейный (полносвязный) слой
#
# Активации из первого ноутбука не имеют параметров. Линейный слой — первый слой, который
# **обучается**: у него есть веса и смещения, и кроме градиента по входу он должен посчитать
# градиенты по своим параметрам. Отсюда три новые темы этого ноутбука:
#
# 1. вывод трёх градиентов линейного слоя и их форм;
# 2. договорённость о **накоплении** градиентов и о том, почему всё меняется **на месте**;
# 3. **инициализация** весов: почему масштаб случайных весов решает, будет ли глубокая сеть вообще учиться.
#
# Правила те же, что в первом ноутбуке: код — в ячейках с `# ВАШ КОД ЗДЕСЬ`, после класса — открытые тесты,
# баллы — за скрытые.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, gradient_check, load_from_notebook, numeric_gradient, relative_error

np.random.seed(0)

# %% [markdown]
# ## 2.1. Прямой проход
#
# Батч из $N$ примеров — это матрица $X$, по примеру в строке. Слой вычисляет
# $$Y = XW + b, \qquad X \in \mathbb{R}^{N \times n_{in}},\quad W \in \mathbb{R}^{n_{in} \times n_{out}},\quad
# b \in \mathbb{R}^{n_{out}},\quad Y \in \mathbb{R}^{N \times n_{out}}.$$
#
# Вектор $b$ прибавляется к **каждой** строке $XW$ — в NumPy это делает broadcasting
# (`(N, n_out) + (n_out,)`). Поэлементно:
# $$y_{nj} = \sum_{i=1}^{n_{in}} x_{ni} W_{ij} + b_j .$$
#
# В PyTorch `nn.Linear` хранит веса транспонированными, формы `(out, in)`, и считает $XW^\top$.
# У нас `weight` имеет форму `(input_size, output_size)`, поэтому транспонировать при прямом проходе не нужно;
# математика та же.
#
# Слой может быть и без смещения (`bias=False`) — тогда `self.bias is None`. Так делают, например,
# перед BatchNorm: он всё равно вычитает среднее и сдвигает результат своим параметром $\beta$, так что
# смещение было бы бесполезным параметром.
#
# Требование и пожелание к `forward`:
# - **тип выхода совпадает с типом входа** — это договорённость для всех слоёв из первого ноутбука, и скрытые тесты
#   её проверяют: веса хранятся в `float64`, и `float32 @ float64` даёт `float64`; если данные пришли в `float32`,
#   верните `float32` (приведите результат через `astype(x.dtype)`). Так же `backward` возвращает градиент по входу
#   типа `grad_output`;
# - при входе неправильной формы бросьте `ValueError` с понятным сообщением (на баллы не влияет, открытые тесты
#   только напомнят). Ошибка в размерах — самая частая при сборке сети, и лучше узнать о ней сразу, с указанием
#   ожидаемой формы, чем получить невнятную ошибку NumPy где-то в середине `backward`.
#
# Остальные договорённости первого ноутбука тоже в силе: `forward` не меняет `x`, `backward` не меняет
# `grad_output`, а повторный `backward` после того же `forward` даёт тот же градиент по входу.

# %% [markdown]
# ## 2.2. Обратный проход: три градиента
#
# Сверху приходит $G = \dfrac{\partial L}{\partial Y}$ той же формы, что $Y$, то есть $(N, n_{out})$;
# обозначим его элементы $g_{nj} = \partial L / \partial y_{nj}$. Нужны три градиента, и каждый
# получается одним и тем же рассуждением: **найти все $y_{nj}$, в которые входит величина,
# и сложить вклады по цепному правилу.**
#
# **По входу.** Элемент $x_{ni}$ входит в выходы $y_{n1}, \dots, y_{n n_{out}}$ той же строки $n$,
# и $\partial y_{nj} / \partial x_{ni} = W_{ij}$:
# $$\frac{\partial L}{\partial x_{ni}} = \sum_j g_{nj} W_{ij}
# \quad\Longrightarrow\quad \frac{\partial L}{\partial X} = G\,W^\top
# \qquad (N, n_{out}) \cdot (n_{out}, n_{in}) = (N, n_{in}).$$
#
# **По весам.** Вес $W_{ij}$ входит в $y_{nj}$ для **каждого** примера $n$, с коэффициентом $x_{ni}$:
# $$\frac{\partial L}{\partial W_{ij}} = \sum_n x_{ni}\, g_{nj}
# \quad\Longrightarrow\quad \frac{\partial L}{\partial W} = X^\top G
# \qquad (n_{in}, N) \cdot (N, n_{out}) = (n_{in}, n_{out}).$$
#
# **По смещению.** $b_j$ входит в $y_{nj}$ для каждого $n$ с коэффициентом 1:
# $$\frac{\partial L}{\partial b_j} = \sum_n g_{nj}
# \quad\Longrightarrow\quad \frac{\partial L}{\partial b} = \sum_n G_{n,:}
# \qquad \text{форма } (n_{out},),$$
# то есть сумма строк `grad_output` — по оси батча.
#
# **Почему по батчу — сумма.** Одно и то же $b$ (и одна и та же $W$) используется для всех $N$ примеров.
# Если величина участвует в вычислении в нескольких местах, её полный градиент — **сумма** вкладов
# всех мест (цепное правило для функции многих переменных). Правило, которое стоит запомнить:
# *broadcasting в прямом проходе превращается в суммирование в обратном*.
#
# Типичные ошибки, которые ловят проверки:
# - `grad_output.mean(axis=0)` — если функция потерь усредняет по батчу, множитель $1/N$ **уже** сидит
#   в $G$ (его туда положил `backward` функции потерь); ещё одно деление на $N$ сделает градиент смещения
#   в $N$ раз меньше настоящего, и смещения будут учиться в $N$ раз медленнее весов;
# - `grad_output[0]` — градиент только от первого примера.
#
# **Проверка по формам.** Формы градиента и параметра всегда совпадают, и из $X$ и $G$ матрицу
# $(n_{in}, n_{out})$ можно собрать единственным способом — $X^\top G$. Это хорошая самопроверка,
# но не замена выводу: при $N = n_{in}$ неверная формула тоже может «сойтись по формам».
#
# Для `grad_weight` нужен вход $X$ — его `forward` и кэширует. Копировать $X$ не обязательно:
# слои не меняют свои входы на месте (см. первый ноутбук).

# %% [markdown]
# ## 2.3. Градиенты накапливаются, а обнуляются на месте
#
# `backward` **прибавляет** градиенты параметров к `grad_weight` и `grad_bias` (`+=`), а не записывает их
# заново. Это договорённость PyTorch (`.grad` накапливается до `optimizer.zero_grad()`), и у неё две причины:
#
# - один и тот же параметр может участвовать в потерях несколько раз — например, один слой применён
#   дважды или к нескольким частям входа. Полный градиент — сумма вкладов, и при накоплении он получается
#   сам собой: каждый `backward` добавляет свой вклад;
# - **накопление по частям батча**: большой батч, который не помещается в память, делят на части, для
#   каждой делают `forward` + `backward`, и только потом один шаг оптимизатора.
#
# Цена договорённости: цикл обучения обязан вызывать `zero_grad()` один раз на каждый шаг оптимизатора —
# перед первым `backward` этого шага (а не перед каждым `backward`: тогда накопление по частям батча
# не работало бы). Без обнуления на каждом шаге к градиенту добавятся градиенты всех прошлых шагов.
#
# **Почему на месте.** `parameters()` и `gradients()` отдают **сами массивы** слоя. Оптимизатор (как в
# PyTorch) может один раз получить эти списки и дальше работать со ссылками: менять параметры через
# `p -= ...` и читать градиенты.
#
# Если `zero_grad` сделает `self.grad_weight = np.zeros_like(...)`, атрибут будет указывать на новый массив,
# а оптимизатор продолжит читать **старый**, который больше никто не обнуляет, — и будет получать сумму
# градиентов за всё обучение. Ошибки при этом не возникает, сеть просто плохо учится: такой баг ищут часами.
#
# Та же ловушка в `backward`: `self.grad_weight = self.grad_weight + ...` тоже создаёт новый массив,
# а `self.grad_weight += ...` меняет старый. Скрытые тесты поступают как оптимизатор: берут списки
# `gradients()` **до** `backward` и смотрят, накопились ли градиенты именно в этих массивах.
#
# Базовый класс `Layer` уже умеет обнулять на месте: его `zero_grad()` вызывает `grad.fill(0)` для каждого
# массива из `gradients()`. Поэтому переопределять `zero_grad` не нужно — достаточно правильного `gradients()`.
#
# **`parameters()` и `gradients()`** возвращают списки `[weight, bias]` и `[grad_weight, grad_bias]`
# (без смещения — `[weight]` и `[grad_weight]`), в одном и том же порядке: оптимизатор идёт по ним
# параллельно, `zip(parameters(), gradients())`. Только сами массивы, не копии.

# %% [markdown]
# ## 2.4. Инициализация весов
#
# **Почему не нулями.** Если все веса равны, все нейроны слоя считают одно и то же, получают одинаковый
# градиент и после любого числа шагов остаются одинаковыми: слой из 256 нейронов работает как один.
# Случайные веса **разрушают симметрию**. Смещения же можно начинать с нуля: симметрию уже разрушили веса.
#
# **Почему важен масштаб.** Возьмём один нейрон следующего слоя:
# $z_j = \sum_{i=1}^{n} w_{ij}\, a_i$, где $n = n_{in}$. Веса независимы между собой и от входа $a$,
# $\mathbb{E}[w] = 0$, $\mathrm{Var}(w) = \sigma^2$, а $\mathbb{E}[a_i^2] = \mathbb{E}[a^2]$ одинаково для всех $i$.
#
# Сами входы $a_i$ могут зависеть друг от друга (они посчитаны из одного и того же примера), поэтому
# слагаемые $w_{ij} a_i$ **не независимы**. Но они имеют нулевое среднее и **некоррелированы**: при $i \ne k$
# $\mathbb{E}[w_{ij} a_i\, w_{kj} a_k] = \mathbb{E}[w_{ij}]\,\mathbb{E}[w_{kj}]\,\mathbb{E}[a_i a_k] = 0$.
# Для дисперсии суммы этого достаточно — она равна сумме дисперсий:
# $$\mathrm{Var}(z_j) = \sum_{i=1}^{n} \mathrm{Var}(w_{ij} a_i) = \sum_{i=1}^{n} \mathbb{E}[w_{ij}^2]\,\mathbb{E}[a_i^2]
# = n\,\sigma^2\,\mathbb{E}[a^2].$$
#
# Пусть $a = \mathrm{ReLU}(z')$, где $z'$ — выход предыдущего линейного слоя, симметричный относительно нуля.
# ReLU обнуляет ровно отрицательную половину, поэтому **второй момент уменьшается вдвое**:
# $$\mathbb{E}[a^2] = \mathbb{E}\bigl[z'^2 \cdot [z' > 0]\bigr] = \tfrac12\,\mathbb{E}[z'^2] = \tfrac12 \mathrm{Var}(z')$$
# (здесь $[z' > 0]$ — индикатор: 1, если условие верно, иначе 0; половина — из-за симметрии $z'$).
# Получаем рекурсию по слоям
# $$\mathrm{Var}\bigl(z^{(l)}\bigr) = \tfrac12\, n\, \sigma^2 \cdot \mathrm{Var}\bigl(z^{(l-1)}\bigr)
# \quad\Longrightarrow\quad \mathrm{Var}\bigl(z^{(L)}\bigr) = \bigl(\tfrac12 n \sigma^2\bigr)^{L} \cdot \mathrm{Var}\bigl(z^{(0)}\bigr).$$
# Множитель возводится в степень числа слоёв: если он меньше 1, сигнал экспоненциально затухает, если больше —
# взрывается. Он равен 1 ровно при
# $$\sigma^2 = \frac{2}{n_{in}} \qquad\text{— инициализация He (Kaiming), 2015:}\quad W \sim \mathcal{N}\!\left(0,\ \tfrac{2}{n_{in}}\right),\ b = 0.$$
# Для обратного прохода то же рассуждение даёт множитель $\tfrac12 n_{out} \sigma^2$: при близких $n_{in}$ и $n_{out}$
# He-инициализация сохраняет и масштаб градиентов.
#
# Сравните с «наивными» вариантами при ширине $n = 256$:
# - $\sigma = 0.01$: множитель дисперсии $\tfrac12 \cdot 256 \cdot 10^{-4} \approx 0.013$ на слой — стандартное
#   отклонение падает примерно в 9 раз **на каждом** слое, через 20 слоёв от сигнала остаётся $\sim 10^{-19}$;
# - Xavier/Glorot (2010), $\sigma^2 = \frac{2}{n_{in} + n_{out}} = \frac1n$: выведена для tanh, у которой около нуля
#   производная 1 и «половины» не теряется. С ReLU множитель равен $\tfrac12$, и стандартное отклонение
#   уменьшается в $\sqrt2$ раз на слой — через 20 слоёв примерно в 1000 раз.
#
# График в конце ноутбука проверит этот вывод на вашем слое.
#
# В коде инициализацию принято выносить в отдельный метод `reset_parameters()` (как в PyTorch):
# `__init__` создаёт массивы нужных форм и вызывает его. Заполняйте массивы **на месте** — по той же причине,
# что и в `zero_grad`: тогда повторная инициализация не разорвёт ссылки, которые уже держит оптимизатор.
# Случайные числа берите из `np.random` (`np.random.randn`): тогда `np.random.seed(...)` делает результат
# воспроизводимым, а проверка сравнивает статистики ваших весов с ожидаемыми.

# %% [markdown]
# ## 2.5. Реализация
#
# Конструктор дан: он запоминает размеры, создаёт массивы `weight` и `bias` (или `bias = None`), вызывает
# `reset_parameters()`, заводит нулевые буферы градиентов и место под кэш. Ваша часть —
# `reset_parameters`, `forward`, `backward`, `parameters`, `gradients`.
#
# Чего в слое быть не должно: `zero_grad`, создающего новые массивы; `parameters()` без парного
# `gradients()`; обновления весов внутри слоя (метода вроде `update_weights`) — шаг делает оптимизатор,
# а слой только считает градиенты.

# %% solution id=linear
class Linear(Layer):
    """Полносвязный слой: y = x @ weight + bias.

    Формы: x (N, input_size), weight (input_size, output_size),
    bias (output_size,) или None, y (N, output_size).
    Кэш: вход x — он нужен для grad_weight = x.T @ grad_output.
    Градиенты grad_weight и grad_bias накапливаются (+=) до вызова zero_grad().
    """

    def __init__(self, input_size, output_size, bias=True):
        # @given Linear.__init__

    def reset_parameters(self):
        """Инициализация He: weight ~ N(0, 2 / input_size), bias = 0.

        TODO: заполните НА МЕСТЕ уже созданные массивы: self.weight[...] = ...
        (случайные числа — из np.random.randn) и нули в self.bias, если он не None.
        """
        # @solution Linear.reset_parameters

    def forward(self, x):
        """x: (N, input_size) -> y: (N, output_size).

        TODO: если x не двумерный или x.shape[1] != input_size, бросьте ValueError
        с ожидаемой и полученной формой. Сохраните x в self._x и верните
        x @ weight + bias (bias может быть None) того же dtype, что и x.
        """
        # @solution Linear.forward

    def backward(self, grad_output):
        """grad_output: dL/dy формы (N, output_size) -> dL/dx формы (N, input_size).

        TODO: если forward ещё не вызывался (self._x is None), бросьте RuntimeError.
        ПРИБАВЬТЕ (+=, на месте) градиенты к self.grad_weight и self.grad_bias
        (если bias есть) и верните градиент по входу того же dtype, что grad_output.
        """
        # @solution Linear.backward

    def parameters(self):
        """[weight, bias], а при bias=False — [weight]: сами массивы, не копии."""
        # @solution Linear.parameters

    def gradients(self):
        """[grad_weight, grad_bias] (или [grad_weight]) — в том же порядке, что parameters()."""
        # @solution Linear.gradients


# %% readonly id=linear_visible_tests
layer = Linear(3, 2)
assert layer.weight.shape == (3, 2), f"weight: форма {layer.weight.shape}, а у Linear(3, 2) должна быть (3, 2)"
assert layer.bias is not None and layer.bias.shape == (2,), "bias у Linear(3, 2) должен иметь форму (2,)"
assert np.all(layer.bias == 0), f"bias после инициализации должен быть нулевым, а он {layer.bias}"
assert np.all(layer.grad_weight == 0) and np.all(layer.grad_bias == 0), "градиенты в начале должны быть нулями"

# Веса и смещение задаём на месте, как это делает оптимизатор.
layer.weight[...] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
layer.bias[...] = [0.5, -1.0]
x = np.array([[1.0, 0.0, -1.0],
              [2.0, 1.0, 0.0]])
x_before = x.copy()
y = layer.forward(x)
assert y is not None, "forward вернул None — забыли return?"
assert y.shape == (2, 2), f"forward: форма выхода {y.shape}, а должна быть (N, output_size) = (2, 2)"
assert np.allclose(y, [[-3.5, -5.0], [5.5, 7.0]]), f"forward: получено\n{y}\nа x @ W + b = [[-3.5, -5], [5.5, 7]]"
assert np.array_equal(x, x_before), "forward изменил входной массив x"

g = np.array([[1.0, -2.0],
              [0.5, 3.0]])
grad_x = layer.backward(g)
assert grad_x is not None, "backward вернул None — забыли return?"
assert grad_x.shape == x.shape, f"backward: форма {grad_x.shape}, а градиент по входу имеет форму входа {x.shape}"
assert np.allclose(grad_x, [[-3.0, -5.0, -7.0], [6.5, 13.5, 20.5]]), (
    f"backward: градиент по входу\n{grad_x}\nа должен быть grad_output @ W.T = [[-3, -5, -7], [6.5, 13.5, 20.5]]")
assert np.allclose(layer.grad_weight, [[2.0, 4.0], [0.5, 3.0], [-1.0, 2.0]]), (
    f"grad_weight:\n{layer.grad_weight}\nа должен быть x.T @ grad_output = [[2, 4], [0.5, 3], [-1, 2]]")
assert np.allclose(layer.grad_bias, [1.5, 1.0]), (
    f"grad_bias = {layer.grad_bias}, а должен быть сумма grad_output по батчу = [1.5, 1]"
    + (" (у вас среднее вместо суммы)" if np.allclose(layer.grad_bias, [0.75, 0.5]) else ""))

y32 = Linear(3, 2).forward(np.ones((4, 3), dtype=np.float32))
assert y32.dtype == np.float32, f"forward на float32-входе вернул {y32.dtype}: приведите выход к x.dtype"

# Пожелание из docstring: на баллы не влияет, поэтому только предупреждаем.
try:
    layer.forward(np.ones((2, 4)))
    print("⚠ (на баллы не влияет) forward молча принял вход формы (2, 4) у Linear(3, 2): лучше бросить ValueError")
except ValueError:
    pass
except Exception as error:
    print(f"⚠ (на баллы не влияет) на входе неверной формы лучше бросать ValueError, а не {type(error).__name__}")

# Инициализация He по статистикам: 200 000 весов, погрешность оценки ~0.2 %.
np.random.seed(1)
big = Linear(500, 400)
assert abs(big.weight.std() / np.sqrt(2 / 500) - 1) < 0.05, (
    f"std весов Linear(500, 400) = {big.weight.std():.4f}, а по He должно быть sqrt(2 / 500) = {np.sqrt(2 / 500):.4f}")
assert abs(big.weight.mean()) < 0.002, f"среднее весов = {big.weight.mean():.4f}, а должно быть ≈ 0"

# Численная проверка: градиент по входу и по весам.
gradient_check(Linear(4, 3), np.random.randn(5, 4))
layer = Linear(4, 3)
x, upstream = np.random.randn(5, 4), np.random.randn(5, 3)
layer.forward(x)
layer.backward(upstream)
numeric = numeric_gradient(lambda: float(np.sum(upstream * layer.forward(x))), layer.weight)
error = relative_error(layer.grad_weight, numeric)
assert error < 1e-6, f"grad_weight не совпадает с численным градиентом: относительная ошибка {error:.1e}"
print("✓ открытые тесты forward/backward/инициализации Linear пройдены")

# %% readonly id=linear_contract_tests
layer = Linear(3, 2)
x1, g1 = np.random.randn(4, 3), np.random.randn(4, 2)
x2, g2 = np.random.randn(6, 3), np.random.randn(6, 2)
layer.forward(x1)
layer.backward(g1)
layer.forward(x2)
layer.backward(g2)
assert np.allclose(layer.grad_weight, x1.T @ g1 + x2.T @ g2) and np.allclose(layer.grad_bias, g1.sum(0) + g2.sum(0)), (
    "после двух backward градиенты должны быть СУММОЙ градиентов двух батчей: накапливайте через +=")

params, grads = layer.parameters(), layer.gradients()
assert len(params) == 2 and params[0] is layer.weight and params[1] is layer.bias, (
    "parameters() должен вернуть [weight, bias] — сами массивы (проверяется через `is`), не копии")
assert len(grads) == 2 and grads[0] is layer.grad_weight and grads[1] is layer.grad_bias, (
    "gradients() должен вернуть [grad_weight, grad_bias] — сами массивы, в порядке parameters()")

held = layer.gradients()
layer.zero_grad()
assert held[0] is layer.grad_weight and held[1] is layer.grad_bias, (
    "zero_grad() заменил массивы градиентов новыми: обнуляйте на месте, оптимизатор держит ссылки на старые")
assert np.all(held[0] == 0) and np.all(held[1] == 0), "zero_grad() не обнулил градиенты"

plain = Linear(3, 2, bias=False)
assert plain.bias is None, "при bias=False атрибут bias должен быть None"
plain.weight[...] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
assert np.allclose(plain.forward(np.array([[1.0, 0.0, -1.0]])), [[-4.0, -4.0]]), "forward без bias: ожидалось x @ W"
plain.backward(np.array([[1.0, -2.0]]))
assert len(plain.parameters()) == 1 and plain.parameters()[0] is plain.weight, "без bias parameters() = [weight]"
assert len(plain.gradients()) == 1 and plain.gradients()[0] is plain.grad_weight, "без bias gradients() = [grad_weight]"
print("✓ открытые тесты накопления, zero_grad и parameters() пройдены")

# %% hidden id=linear_hidden points=4
# Скрытые тесты Linear (4 балла): инициализация He, forward/backward на случайных данных, накопление градиентов (в массивах из gradients(), взятых до backward), zero_grad на месте, parameters()/gradients(), слой без bias; x и grad_output не меняются, тип данных сохраняется.
from solutions.checks import check_linear
check_linear(Linear)

# %% [markdown]
# ## 2.6. Масштаб активаций в глубокой сети
#
# Проверим вывод из раздела 2.4 на опыте. Соберём 20 слоёв `Linear(256, 256)` + ReLU (ваш `Linear` и,
# если он готов, ваш `ReLU` из первого ноутбука), пропустим через них батч из стандартного нормального шума и
# после каждого слоя измерим стандартное отклонение активаций. Три варианта весов:
# He (ваш `reset_parameters`), Xavier ($\sigma = \sqrt{1/256}$) и «маленькие случайные» $\sigma = 0.01$.
# Ось $y$ логарифмическая: прямая линия означает экспоненциальное затухание.

# %% demo id=demo_init_through_depth
try:
    relu = load_from_notebook("01_activations.ipynb", "ReLU")().forward
    relu(np.array([1.0, -1.0]))
    print("ReLU: ваш класс из 01_activations.ipynb")
except Exception as error:  # ноутбук не найден или ReLU ещё не написан
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    print(f"ReLU из 01_activations.ipynb недоступен ({type(error).__name__}); беру np.maximum(a, 0)")

depth, width = 20, 256
inits = (("He: σ² = 2 / n (ваш reset_parameters)", None, "tab:blue"),
         ("Xavier: σ² = 1 / n", np.sqrt(1 / width), "tab:orange"),
         ("σ = 0.01", 0.01, "tab:red"))
try:
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for label, std, color in inits:
        np.random.seed(0)
        a = np.random.randn(1000, width)
        stds = []
        for _ in range(depth):
            layer = Linear(width, width)
            if std is not None:
                layer.weight[...] = np.random.randn(width, width) * std
            a = relu(layer.forward(a))
            stds.append(a.std())
        ax.semilogy(np.arange(1, depth + 1), stds, marker="o", ms=4, color=color, label=label)
    ax.set_xlabel("номер слоя Linear + ReLU")
    ax.set_ylabel("std активаций (лог. шкала)")
    ax.set_title(f"Сигнал в сети из {depth} слоёв ширины {width}")
    ax.set_xticks(range(1, depth + 1, 2))
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    plt.show()
except NotImplementedError:
    plt.close("all")
    print("Linear ещё не реализован — график появится, когда будут готовы reset_parameters и forward")

# %% [markdown]
# С He-инициализацией стандартное отклонение почти не меняется от слоя к слою: множитель
# $\tfrac12 n\sigma^2 = 1$. С Xavier оно падает в $\sqrt 2$ раз на слой, с $\sigma = 0.01$ — примерно в 9 раз.
# Градиенты при обратном проходе затухают так же, поэтому с плохой инициализацией первые слои глубокой сети
# почти не обучаются.

# reference: solutions.optim
# %% [markdown]
# # 6. Оптимизаторы: SGD с моментом и Adam
#
# Слои умеют считать градиенты, но сами параметры не меняют. Это делает **оптимизатор**: после
# обратного прохода он читает градиенты всех параметров модели и сдвигает параметры так, чтобы
# функция потерь уменьшилась. В этом ноутбуке вы напишете два оптимизатора с правилами обновления
# ровно как в `torch.optim.SGD` и `torch.optim.Adam`.
#
# Правила те же: код — в ячейках с `# ВАШ КОД ЗДЕСЬ`, после класса — открытые тесты, баллы — за скрытые.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, Optimizer

np.random.seed(0)

# %% [markdown]
# ## 6.1. Как оптимизатор работает с моделью
#
# Базовый класс `Optimizer` (в `nn_helpers.py`) хранит модель и `learning_rate` и умеет `zero_grad()`.
# Модель отдаёт два списка одинаковой длины: `model.parameters()` — массивы параметров и
# `model.gradients()` — массивы их градиентов в том же порядке. Один шаг обучения выглядит так:
#
# ```python
# optimizer.zero_grad()                   # обнулить накопленные градиенты
# loss = loss_fn(model(x), y)             # прямой проход
# model.backward(loss_fn.backward())      # обратный проход: слои ПРИБАВЛЯЮТ градиенты
# optimizer.step()                        # сдвинуть параметры
# ```
#
# Три правила, от которых зависит, будет ли вообще что-то обучаться:
#
# - **Обновление на месте.** Слой `Linear` держит ссылку на свой массив `weight`, и `parameters()`
#   возвращает именно его. Запись `p = p - lr * g` создаёт *новый* массив и привязывает к нему
#   локальное имя `p` — массив слоя не меняется, сеть не учится. Нужно `p -= lr * g`: это изменение
#   самого массива.
# - **Состояние по позиции.** SGD с моментом и Adam нужна память для каждого параметра (скорость, моменты).
#   Она хранится списком в том же порядке, что `parameters()`, и создаётся один раз — в `__init__`
#   (этот код уже дан). Её тоже надо менять на месте или записывать обратно в список: если внутри цикла
#   написать `v = momentum * v + g`, новое значение достанется локальной переменной и пропадёт.
# - **Градиенты читаем, а не меняем.** Обнулять их — задача `zero_grad()` перед следующим шагом.
# - **`learning_rate` читаем в `step()` при каждом вызове** — из `self.learning_rate`, а не из копии, сделанной
#   в `__init__`. Расписание шага обучения (в восьмом ноутбуке шаг уменьшается по косинусу) просто присваивает
#   `optimizer.learning_rate = ...` между шагами, и следующий `step()` должен идти уже с новым значением.
# - **Нулевой градиент — не повод пропускать параметр.** Если на каком-то шаге градиент параметра весь нулевой,
#   скорость SGD и моменты Adam всё равно сдвигают его (так в PyTorch): обновляйте все параметры на каждом шаге.
#
# Для тестов ниже понадобится игрушечная «модель» — просто набор параметров и градиентов, которые
# мы задаём руками.

# %%
class TinyModel(Layer):
    """Игрушечная модель: параметры и их градиенты без forward/backward.

    TinyModel(a, b, ...) — по параметру на каждый массив; градиенты задаются set_gradients(...).
    """

    def __init__(self, *arrays):
        super().__init__()
        self.params = [np.array(a, dtype=np.float64) for a in arrays]
        self.grads = [np.zeros_like(p) for p in self.params]

    def parameters(self):
        return list(self.params)

    def gradients(self):
        return list(self.grads)

    def set_gradients(self, *values):
        for grad, value in zip(self.grads, values):
            grad[...] = value


# %% [markdown]
# ## 6.2. SGD с моментом
#
# **Градиентный спуск**: $p \leftarrow p - \eta\, g$, где $g = \partial L / \partial p$, $\eta$ — шаг обучения
# (`learning_rate`).
# «Стохастический» — потому что $g$ считается по случайному мини-батчу, а не по всей выборке.
#
# Слабое место — «овраги»: функция потерь круто меняется вдоль одних направлений и полого вдоль
# других. Шаг обучения $\eta$ ограничен самым крутым направлением (иначе расходимся), поэтому поперёк оврага
# параметры прыгают со стенки на стенку, а вдоль дна ползут еле-еле.
#
# **Момент** (метод тяжёлого шарика) добавляет инерцию — скорость $v$, которая копит градиенты:
# $$v_t = \mu\, v_{t-1} + g_t, \qquad p_t = p_{t-1} - \eta\, v_t, \qquad v_0 = 0.$$
# - Там, где градиент от шага к шагу сохраняет знак (вдоль дна оврага), слагаемые складываются:
#   при постоянном $g$ скорость стремится к $g / (1 - \mu)$, то есть при $\mu = 0.9$ шаг в 10 раз больше.
# - Там, где знак чередуется (поперёк оврага), слагаемые гасят друг друга, и колебания затухают.
# - $\mu = 0$ — обычный SGD.
#
# **Конвенции.** Мы используем формулу PyTorch. На первом шаге $v_1 = g_1$ — при $v_0 = 0$ это
# получается само. Встречаются и другие записи:
# - CS231n и статья Sutskever et al.: $v \leftarrow \mu v - \eta g$, $p \leftarrow p + v$ — при
#   постоянном $\eta$ даёт ту же траекторию (здесь скорость просто хранится уже умноженной на $-\eta$);
# - «экспоненциальное среднее» $v \leftarrow \mu v + (1 - \mu) g$ — **другой** метод: шаги в $1/(1-\mu)$
#   раз меньше (в PyTorch это параметр `dampening`). Его у нас нет, и проверки его не примут.

# %% solution id=sgd
class SGD(Optimizer):
    """SGD с моментом, как torch.optim.SGD (без dampening и weight decay).

    Состояние: self.velocities — список скоростей v, по одной на параметр,
    в порядке model.parameters(); изначально нули той же формы.
    """

    def __init__(self, model, learning_rate=0.01, momentum=0.0):
        # @given SGD.__init__

    def step(self):
        """Один шаг для всех параметров: v = momentum * v + g;  p -= learning_rate * v.

        TODO: пройдите параллельно по model.parameters(), model.gradients() и self.velocities;
        меняйте p и v на месте (p -= ..., v *= ..., v += ...), градиенты только читайте;
        learning_rate берите из self.learning_rate при каждом вызове (его может менять расписание).
        """
        # @solution SGD.step


# %% readonly id=sgd_visible_tests
model = TinyModel([[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5])
weight, bias = model.parameters()
model.set_gradients([[1.0, -2.0], [0.5, 0.0]], [2.0, -1.0])
SGD(model, learning_rate=0.1).step()
assert model.parameters()[0] is weight and model.parameters()[1] is bias, (
    "step() подменил массивы параметров модели — меняйте их на месте (p -= ...)")
if np.allclose(weight, [[1.0, 2.0], [3.0, 4.0]]):
    raise AssertionError("параметры не изменились: похоже, p = p - ... создаёт новый массив; нужно p -= ...")
assert np.allclose(weight, [[0.9, 2.2], [2.95, 4.0]]) and np.allclose(bias, [0.3, -0.4]), (
    f"SGD без момента, lr = 0.1: получено weight = {weight.tolist()}, bias = {bias.tolist()}; "
    "ожидалось weight = [[0.9, 2.2], [2.95, 4.0]], bias = [0.3, -0.4] (p -= lr·g)")

# Момент 0.9 и постоянный градиент g: v = g, 1.9·g, 2.71·g, а p сдвигается на -0.1·v каждый шаг.
g = np.array([1.0, -2.0])
model = TinyModel([0.0, 0.0])
optimizer = SGD(model, learning_rate=0.1, momentum=0.9)
for step, total in enumerate([0.1, 0.29, 0.561], start=1):
    optimizer.zero_grad()
    model.set_gradients(g)
    optimizer.step()
    shift = -model.params[0] / g  # во сколько раз суммарный сдвиг больше g
    if step == 1 and np.allclose(shift, 0.01):
        raise AssertionError("первый шаг в 10 раз меньше нужного: v = momentum·v + g, без множителя (1 - momentum)")
    if step == 2 and np.allclose(shift, 0.2):
        raise AssertionError("второй шаг такой же, как первый: скорость не накапливается — "
                             "сохраняйте v между шагами (меняйте self.velocities на месте)")
    assert np.allclose(shift, total), (
        f"SGD(momentum=0.9, lr=0.1), постоянный градиент g: после шага {step} параметр сдвинулся на "
        f"{shift[0]:.4g}·g, а должен на {total}·g")
print("✓ открытые тесты SGD пройдены")

# %% hidden id=sgd_hidden points=2
# Скрытые тесты SGD (2 балла): траектории на квадратичной функции без момента и с моментом 0.9, learning_rate, меняющийся между шагами, шаги с нулевым градиентом, градиенты не меняются, обновление на месте.
from solutions.checks import check_sgd
check_sgd(SGD)

# %% [markdown]
# ## 6.3. Adam
#
# Adam (Kingma, Ba, 2014) сочетает момент с **индивидуальным масштабом шага для каждой координаты**.
# Он хранит два экспоненциальных скользящих средних — градиента и его квадрата (поэлементно):
# $$m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2,
# \qquad m_0 = v_0 = 0,$$
# обычно $\beta_1 = 0.9$, $\beta_2 = 0.999$. $m$ — сглаженное направление (как момент), $\sqrt{v}$ —
# типичный размер градиента по этой координате. Шаг:
# $$p_t = p_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}, \qquad
# \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}.$$
# Отношение $\hat m / \sqrt{\hat v}$ не зависит от масштаба градиента: умножьте все $g$ на 1000 — шаг
# не изменится, пока $\sqrt{\hat v} \gg \varepsilon$. Поэтому в Adam $\eta$ — это примерно размер шага
# в единицах самого параметра, одинаковый для координат с большими и с маленькими градиентами.
# Оговорка важна для совсем крошечных градиентов: при $|g| = 10^{-4}$ и $\varepsilon = 10^{-8}$ шаг
# отличается от $\eta$ лишь на 0.01 %, а когда $|g|$ сравнимо с $\varepsilon$, шаг заметно короче.
#
# **Откуда коррекция смещения.** Раскроем рекурсию, начиная с $m_0 = 0$:
# $$m_t = (1 - \beta_1) \sum_{i=1}^{t} \beta_1^{\,t-i}\, g_i.$$
# Если градиенты — случайные величины с одинаковым средним $\mathbb{E}[g]$, то по сумме геометрической прогрессии
# $$\mathbb{E}[m_t] = \mathbb{E}[g]\,(1 - \beta_1) \sum_{i=1}^{t} \beta_1^{\,t-i} = \mathbb{E}[g]\,(1 - \beta_1^{\,t}).$$
# Нулевой старт тянет $m_t$ к нулю: при $t = 1$ это всего $0.1\, g_1$. Деление на $1 - \beta_1^t$ убирает
# смещение; для $v$ то же с $\beta_2$ (а при $\beta_2 = 0.999$ смещение заметно тысячи шагов).
# На **первом** шаге $\hat m_1 = g_1$, $\hat v_1 = g_1^2$, и
# $$p_1 = p_0 - \eta\,\frac{g_1}{|g_1| + \varepsilon} \approx p_0 - \eta\,\operatorname{sign}(g_1):$$
# каждая координата сдвигается почти ровно на $\eta$. Без коррекции было бы $0.1 / \sqrt{0.001} \approx 3.16$ —
# первые шаги втрое длиннее.
#
# **$\varepsilon$ — вне корня**, как в статье и в PyTorch: $\sqrt{\hat v} + \varepsilon$. Он нужен только
# против деления на ноль. Вариант $\sqrt{\hat v + \varepsilon}$ — это другой оптимизатор: при
# $\varepsilon = 10^{-8}$ он ведёт себя как $\varepsilon = 10^{-4}$ снаружи и заметно укорачивает шаги
# для параметров с градиентами порядка $10^{-4}$ и меньше.
#
# **Один счётчик шагов $t$ на весь оптимизатор.** $t$ — сколько раз обновлены $m$ и $v$; за вызов
# `step()` каждый параметр обновляется ровно один раз, поэтому $t$ растёт на 1 за вызов `step()`.
#
# **Типичная ошибка — увеличивать $t$ внутри цикла по слоям или параметрам** (например, `t += 1`
# в функции, которая обновляет один слой и вызывается для каждого слоя). Тогда в сети из $L$ слоёв после
# $k$ шагов у последнего слоя $t = L k$, хотя его моменты обновлены только $k$ раз. Коррекция выключается
# в $L$ раз быстрее, чем надо, и шаг зависит от числа слоёв и от места слоя в сети.
#
# Насколько сильно? При постоянном градиенте $m_k = (1 - \beta_1^k) g$ и $v_k = (1 - \beta_2^k) g^2$, так что
# шаг с неверным $t$ отличается от правильного в
# $$r = \frac{(1 - \beta_1^k)/(1 - \beta_1^t)}{\sqrt{(1 - \beta_2^k)/(1 - \beta_2^t)}}$$
# раз. На первых шагах $r < 1$: $m$ ещё мало, а его коррекция уже почти выключена. Уже через несколько
# десятков шагов $r$ поднимается почти до $\sqrt{L}$ и остаётся заметно больше 1 ещё пару тысяч шагов:
# коррекция $v$ выключилась слишком рано, $\hat v$ занижено, и шаги длиннее нужного. К 1 отношение
# возвращается, лишь когда обе коррекции сходят на нет (график ниже).

# %% demo id=demo_bias_correction
b1, b2 = 0.9, 0.999
k = np.arange(1, 5001)
fig, ax = plt.subplots(figsize=(7, 3.5))
for L in (1, 2, 4, 8):
    t = L * k  # счётчик у последнего из L слоёв
    r = ((1 - b1**k) / (1 - b1**t)) / np.sqrt((1 - b2**k) / (1 - b2**t))
    ax.semilogx(k, r, label=f"L = {L}" + (" (верно)" if L == 1 else ""))
ax.set_xlabel("номер шага k")
ax.set_ylabel("шаг / правильный шаг")
ax.set_title("Adam с t += 1 на каждый слой: искажение шага последнего слоя")
ax.grid(alpha=0.3, which="both")
ax.legend()
fig.tight_layout()
plt.show()

# %% solution id=adam
class Adam(Optimizer):
    """Adam с коррекцией смещения, как torch.optim.Adam (без weight decay и amsgrad).

    Состояние: self.m и self.v — первый и второй моменты, по массиву на параметр
    в порядке model.parameters() (изначально нули); self.t — число сделанных шагов.
    """

    def __init__(self, model, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        # @given Adam.__init__

    def step(self):
        """Один шаг Adam для всех параметров.

        TODO:
        - увеличьте self.t на 1 — один раз за вызов step(), общий для всех параметров;
        - для каждого параметра обновите m и v на месте и посчитайте m_hat, v_hat;
        - p -= learning_rate * m_hat / (sqrt(v_hat) + eps)   (eps вне корня);
        - learning_rate берите из self.learning_rate при каждом вызове; градиенты не меняйте.
        """
        # @solution Adam.step


# %% readonly id=adam_visible_tests
# Первый шаг: каждая координата сдвигается на ≈ lr·sign(g), какого бы размера ни был градиент.
g_first, g_second = np.array([2.0, -0.003, 1e-4]), np.array([500.0, -7.0])
model = TinyModel(np.zeros(3), np.zeros(2))
first, second = model.parameters()
model.set_gradients(g_first, g_second)
optimizer = Adam(model, learning_rate=0.01)
optimizer.step()
assert model.parameters()[0] is first and model.parameters()[1] is second, (
    "step() подменил массивы параметров модели — меняйте их на месте (p -= ...)")
if not first.any() and not second.any():
    raise AssertionError("параметры не изменились: похоже, p = p - ... создаёт новый массив; нужно p -= ...")
shift_first, shift_second = -first / (0.01 * np.sign(g_first)), -second / (0.01 * np.sign(g_second))
if np.allclose(shift_first, 10**0.5, rtol=1e-2):
    raise AssertionError("первый шаг ≈ 3.16·lr вместо lr: нет коррекции смещения m/(1-β1^t), v/(1-β2^t)")
if np.allclose(shift_first[:2], 1, rtol=1e-3) and np.isclose(shift_first[2], 0.5**0.5, rtol=1e-3):
    raise AssertionError("координата с градиентом 1e-4 сдвинулась на 0.71·lr вместо lr: "
                         "eps должен стоять вне корня — sqrt(v_hat) + eps")
assert np.allclose(shift_first, 1, rtol=1e-3), (
    f"первый шаг Adam должен сдвинуть каждую координату на lr·g/(|g| + eps) ≈ lr; "
    f"сдвиги первого параметра в долях lr: {shift_first}")
if np.allclose(shift_second, 0.7443, rtol=1e-3):
    raise AssertionError("второй параметр сдвинулся на 0.74·lr вместо lr: счётчик t увеличен для каждого "
                         "параметра, а должен расти на 1 за вызов step()")
assert np.allclose(shift_second, 1, rtol=1e-3), (
    f"первый шаг: второй параметр сдвинулся на {shift_second} в долях lr, а должен на ≈ 1")
assert optimizer.t == 1, f"после одного step() self.t = {optimizer.t}, а должно быть 1"

# Два шага вручную: lr = 0.1, скаляр, g = +1, затем g = -1.
#   шаг 1: m = 0.1,   v = 0.001,    m_hat = 1,      v_hat = 1  ->  p = -0.1
#   шаг 2: m = -0.01, v = 0.001999, m_hat = -1/19,  v_hat = 1  ->  p = -0.1 + 0.1/19
model = TinyModel([0.0])
optimizer = Adam(model, learning_rate=0.1)
for grad in (1.0, -1.0):
    optimizer.zero_grad()
    model.set_gradients([grad])
    optimizer.step()
expected = -0.1 + 0.1 / 19
assert np.isclose(model.params[0][0], expected, rtol=1e-6), (
    f"после двух шагов p = {model.params[0][0]:.7f}, а должно быть -0.1 + 0.1/19 = {expected:.7f}; "
    "проверьте, что m и v сохраняются между шагами (на месте) и что t = 2 на втором шаге")
print("✓ открытые тесты Adam пройдены")

# %% hidden id=adam_hidden points=4
# Скрытые тесты Adam (4 балла): траектории с параметрами по умолчанию и другими beta/eps, learning_rate, меняющийся между шагами, шаги с нулевым градиентом, градиенты разного масштаба, обновление на месте.
from solutions.checks import check_adam
check_adam(Adam)

# %% [markdown]
# ## 6.4. Траектории на двумерных поверхностях
#
# Возьмём «модель» из одного параметра — точки $(x, y)$ — и запустим ваши оптимизаторы на двух
# классических поверхностях:
#
# - **вытянутая парабола** $f = \tfrac12(x^2 + 50y^2)$ — овраг, крутой по $y$ и пологий по $x$;
# - **функция Розенброка** $f = (1 - x)^2 + 100\,(y - x^2)^2$ — узкая изогнутая долина с минимумом в $(1, 1)$.
#
# На параболе у SGD и SGD с моментом одинаковый шаг обучения — почти предельный: при $\eta > 2/50$
# SGD разойдётся по $y$. У Adam $\eta$ означает другое (размер шага), поэтому он свой. Что видно:
# - SGD прыгает поперёк оврага и медленно ползёт вдоль дна; на Розенброке за 500 шагов он едва
#   продвинулся по дну долины;
# - момент гасит прыжки и разгоняется вдоль дна;
# - Adam первые шаги делает «по диагонали» — одинаковые по $x$ и по $y$, ведь шаг ≈ $\eta\cdot\mathrm{sign}(g)$, —
#   и одинаково уверенно идёт и по крутым, и по пологим координатам. Но и он не волшебный:
#   возле минимума параболы его инерция даёт петлю.

# %% demo id=demo_optimizer_paths
class Point(TinyModel):
    """Один параметр — точка (x, y); backward() прибавляет градиент функции в этой точке."""

    def __init__(self, start, grad_fn):
        super().__init__(start)
        self.grad_fn = grad_fn

    def backward(self):
        self.grads[0] += self.grad_fn(self.params[0])


def ravine(x, y):
    return 0.5 * (x**2 + 50 * y**2)


def ravine_grad(p):
    return np.array([p[0], 50 * p[1]])


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def trajectory(make_optimizer, start, grad_fn, steps):
    point = Point(start, grad_fn)
    optimizer = make_optimizer(point)
    path = [point.params[0].copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        point.backward()
        optimizer.step()
        path.append(point.params[0].copy())
    return np.array(path)


surfaces = [
    ("Вытянутая парабола", ravine, ravine_grad, (-8.0, 2.0), (0.0, 0.0), 40, (-9, 3, -2.5, 2.5), [
        ("SGD, lr = 0.038", lambda model: SGD(model, learning_rate=0.038)),
        ("SGD + момент 0.6, lr = 0.038", lambda model: SGD(model, learning_rate=0.038, momentum=0.6)),
        ("Adam, lr = 0.3", lambda model: Adam(model, learning_rate=0.3)),
    ]),
    ("Функция Розенброка", rosenbrock, rosenbrock_grad, (-1.2, 1.0), (1.0, 1.0), 500, (-2, 2, -1, 3), [
        ("SGD, lr = 0.001", lambda model: SGD(model, learning_rate=1e-3)),
        ("SGD + момент 0.9, lr = 0.001", lambda model: SGD(model, learning_rate=1e-3, momentum=0.9)),
        ("Adam, lr = 0.05", lambda model: Adam(model, learning_rate=0.05)),
    ]),
]
missing = set()
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, (title, f, grad_fn, start, minimum, steps, box, methods) in zip(axes, surfaces):
    X, Y = np.meshgrid(np.linspace(box[0], box[1], 300), np.linspace(box[2], box[3], 300))
    Z = f(X, Y)
    ax.contour(X, Y, Z, levels=np.geomspace(Z.min() + 1e-2, Z.max(), 25), cmap="Greys", linewidths=0.6)
    for (name, make_optimizer), color in zip(methods, ("tab:blue", "tab:orange", "tab:green")):
        try:
            path = trajectory(make_optimizer, start, grad_fn, steps)
        except NotImplementedError:
            missing.add(name.split(",")[0].split()[0])
            continue
        ax.plot(path[:, 0], path[:, 1], color=color, lw=1.8 if name.startswith("SGD,") else 1.2,
                zorder=3 if name.startswith("SGD,") else 2, label=f"{name}: f = {f(*path[-1]):.2g}")
        ax.plot(*path[-1], "o", color=color, zorder=4)
    ax.plot(*start, "ks", label="старт")
    ax.plot(*minimum, "r*", ms=13, label="минимум")
    ax.set_title(f"{title}, {steps} шагов")
    ax.set_xlim(box[:2])
    ax.set_ylim(box[2:])
    ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()
if missing:
    print(f"Ещё не реализованы: {', '.join(sorted(missing))} — их траекторий нет на графике")
plt.show()

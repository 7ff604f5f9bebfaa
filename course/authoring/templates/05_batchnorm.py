# reference: solutions.batchnorm
# %% [markdown]
# # 5. Batch Normalization
#
# Слой BatchNorm нормирует каждый признак по текущему батчу: вычитает среднее, делит на
# стандартное отклонение, а затем масштабирует и сдвигает результат обучаемыми параметрами.
# Это самый «хитрый» слой курса: у него два режима работы, собственная память (скользящие средние)
# и обратный проход, в котором каждый выход зависит от **всех** входов батча.
#
# Правила те же, что и раньше: код пишите в ячейках с `# ВАШ КОД ЗДЕСЬ`, после класса запускайте
# открытые тесты, баллы ставят скрытые тесты.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, gradient_check

np.random.seed(0)

# %% [markdown]
# ## 5.1. Прямой проход
#
# Вход — матрица $x$ формы `(N, num_features)`: $N$ примеров, у каждого `num_features` признаков.
# Все формулы ниже считаются **для каждого признака (столбца) отдельно**; индекс $i = 1..N$ нумерует
# примеры батча:
# $$\mu = \frac1N \sum_{i=1}^{N} x_i, \qquad
# \sigma^2 = \frac1N \sum_{i=1}^{N} (x_i - \mu)^2, \qquad
# \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad
# y_i = \gamma\, \hat x_i + \beta.$$
#
# - После нормировки у каждого столбца $\hat x$ среднее 0 и дисперсия (почти) 1, как бы ни «уезжали»
#   входы от шага к шагу обучения. Следующему слою так легче: масштаб его входов стабилен, можно брать
#   больший шаг обучения, сеть меньше зависит от инициализации.
# - $\varepsilon$ (по умолчанию $10^{-5}$) защищает от деления на ноль, если признак в батче постоянен.
# - $\gamma$ и $\beta$ — обучаемые векторы длины `num_features` (начальные значения 1 и 0). Они
#   возвращают сети свободу выбрать масштаб и сдвиг каждого признака. Например, при
#   $\gamma = \sqrt{\sigma^2 + \varepsilon}$, $\beta = \mu$ выход совпадает со входом — но только на **том
#   батче**, по которому посчитаны $\mu$ и $\sigma^2$: у другого батча статистики другие. Для любого входа
#   слой тождественен в режиме eval при $\gamma = \sqrt{\bar\sigma^2 + \varepsilon}$, $\beta = \bar\mu$,
#   где $\bar\mu$ и $\bar\sigma^2$ — скользящие средние (раздел 5.2).
# - $\sigma^2$ здесь — **смещённая** дисперсия (делим на $N$, как `np.var` по умолчанию): мы
#   нормируем именно этот батч, и с ней у $\hat x$ дисперсия ровно $\sigma^2 / (\sigma^2 + \varepsilon)$.
#
# Шум статистик батча (у каждого батча свои $\mu$ и $\sigma$) работает как лёгкая регуляризация.

# %% [markdown]
# ## 5.2. Режим обучения и режим инференса
#
# На инференсе батча может не быть (один пример), а ответ сети не должен зависеть от того, какие ещё
# примеры оказались рядом. Поэтому слой во время обучения копит **скользящие средние** (running statistics)
# статистик батча: `running_mean` $\bar\mu$ (начальное значение 0) и `running_var` $\bar\sigma^2$
# (начальное значение 1), а в режиме `eval()` нормирует по ним:
# $$y = \gamma\,\frac{x - \bar\mu}{\sqrt{\bar\sigma^2 + \varepsilon}} + \beta.$$
# В режиме eval слой — просто поэлементное аффинное преобразование; скользящие средние он не меняет.
#
# **Обновление после каждого батча в режиме обучения** (экспоненциальное скользящее среднее):
# $$\bar\mu \leftarrow (1 - m)\,\bar\mu + m\,\mu, \qquad
# \bar\sigma^2 \leftarrow (1 - m)\,\bar\sigma^2 + m\,\frac{N}{N - 1}\,\sigma^2,$$
# где $m$ — `momentum`, а $\mu$ и $\sigma^2$ — статистики текущего батча.
#
# **Две конвенции для momentum.** Формулу скользящего среднего пишут двумя способами ($r$ — скользящее
# среднее, $b$ — та же статистика текущего батча):
# - PyTorch: $m$ — вес **нового** батча, $r \leftarrow (1 - m)\,r + m\,b$, по умолчанию $m = 0.1$;
# - Keras/TensorFlow: $m$ — вес **старого** значения, $r \leftarrow m\,r + (1 - m)\,b$, по умолчанию $m = 0.99$.
#
# Обе корректны, если параметр задан в своей конвенции. Мы, как и PyTorch, используем первую:
# `momentum=0.1` означает «10 % нового батча, 90 % накопленного».
#
# **Типичная ошибка — смешать конвенции**: формулу взять из Keras, а значение по умолчанию из PyTorch.
# Тогда при `momentum=0.1` скользящие средние на 90 % состоят из последнего батча и почти ничего
# не усредняют (сравните две кривые на графике в конце ноутбука).
#
# **Почему в running_var несмещённая дисперсия.** Скользящее среднее оценивает дисперсию признака
# на всей выборке, а смещённая оценка по $N$ примерам в среднем составляет лишь $\frac{N-1}{N}$
# от истинной дисперсии (при $N = 2$ — половину). Поэтому в `running_var` идёт $\sigma^2 \cdot \frac{N}{N-1}$ —
# так делает и PyTorch. Для нормировки же текущего батча используется смещённая $\sigma^2$ (см. 5.1).
#
# **Батч из одного примера в режиме обучения — ошибка** (`ValueError`, как в PyTorch):
# при $N = 1$ имеем $x - \mu = 0$ и $\sigma^2 = 0$, выход всегда равен $\beta$ независимо от входа,
# градиент по входу нулевой, а несмещённая дисперсия требует деления на $N - 1 = 0$.
# В режиме eval батч из одного примера — нормальная ситуация.

# %% [markdown]
# ## 5.3. Обратный проход: вывод через вычислительный граф
#
# Параметры — как у любого слоя: $\beta$ входит в каждый $y_i$ с коэффициентом 1, $\gamma$ — с $\hat x_i$:
# $$\frac{\partial L}{\partial \beta} = \sum_i g_i, \qquad \frac{\partial L}{\partial \gamma} = \sum_i g_i\,\hat x_i,
# \qquad\text{где } g_i = \frac{\partial L}{\partial y_i}.$$
# Суммы — по батчу (ось 0); как и в `Linear`, эти градиенты **прибавляются** (`+=`) к `grad_gamma` и `grad_beta`.
#
# С входом сложнее: $x_i$ влияет на выход не только напрямую, но и через $\mu$ и $\sigma^2$, которые
# зависят от **всех** примеров батча. Граф вычислений (для одного признака):
# $$x \;\longrightarrow\; \mu \;\longrightarrow\; \sigma^2 \;\longrightarrow\; \hat x \;\longrightarrow\; y,$$
# где $x$ входит ещё и напрямую в $\sigma^2$ и $\hat x$, а $\mu$ — напрямую в $\hat x$.
# Пройдём его с конца. Обозначим $s = (\sigma^2 + \varepsilon)^{-1/2}$ (в коде `inv_std`).
#
# **Шаг 1: $\hat x$.** Из $y_i = \gamma \hat x_i + \beta$:
# $$\frac{\partial L}{\partial \hat x_i} = g_i\,\gamma =: \hat d_i.$$
#
# **Шаг 2: $\sigma^2$.** Дисперсия входит в каждый $\hat x_i = (x_i - \mu)(\sigma^2 + \varepsilon)^{-1/2}$:
# $$\frac{\partial L}{\partial \sigma^2} = \sum_i \hat d_i\,(x_i - \mu)\cdot\left(-\tfrac12\right)(\sigma^2 + \varepsilon)^{-3/2}.$$
#
# **Шаг 3: $\mu$.** Среднее входит в каждый $\hat x_i$ (с производной $-s$) и в $\sigma^2$:
# $$\frac{\partial L}{\partial \mu} = \sum_i \hat d_i\,(-s) \;+\; \frac{\partial L}{\partial \sigma^2}\cdot
# \frac{-2}{N}\sum_i (x_i - \mu).$$
# Второе слагаемое **тождественно равно нулю**: центрированные значения в сумме дают ноль,
# $\sum_i (x_i - \mu) = \sum_i x_i - N\mu = 0$.
#
# **Шаг 4: $x_i$.** Три пути: напрямую в $\hat x_i$, через $\sigma^2$ и через $\mu$
# ($\partial\sigma^2/\partial x_i = 2(x_i - \mu)/N$, $\partial\mu/\partial x_i = 1/N$):
# $$\frac{\partial L}{\partial x_i} = \hat d_i\, s \;+\; \frac{\partial L}{\partial \sigma^2}\cdot\frac{2(x_i - \mu)}{N}
# \;+\; \frac{\partial L}{\partial \mu}\cdot\frac1N.$$
#
# **Шаг 5: упрощаем.** Подставим $x_i - \mu = \hat x_i / s$:
# $$\frac{\partial L}{\partial \sigma^2} = -\frac{s^3}{2}\sum_j \hat d_j\,\frac{\hat x_j}{s} = -\frac{s^2}{2}\sum_j \hat d_j \hat x_j,
# \qquad
# \frac{\partial L}{\partial \sigma^2}\cdot\frac{2(x_i - \mu)}{N} = -\frac{s}{N}\,\hat x_i \sum_j \hat d_j \hat x_j,
# \qquad
# \frac{\partial L}{\partial \mu}\cdot\frac1N = -\frac{s}{N}\sum_j \hat d_j.$$
# Складываем и получаем компактную формулу:
# $$\boxed{\;\frac{\partial L}{\partial x_i} = \frac{s}{N}\Bigl(N\,\hat d_i \;-\; \sum_j \hat d_j \;-\; \hat x_i \sum_j \hat d_j\,\hat x_j\Bigr)\;}$$
# Всё нужное для неё — $\hat x$ и $s$ — стоит сохранить в кэше на прямом проходе.
#
# **Смысл.** Из $\hat d$ вычитается его среднее и его проекция на $\hat x$. Сдвиг всего батча на
# константу или растяжение его в несколько раз не меняют $\hat x$, поэтому градиент по входу в этих
# направлениях равен нулю. Отсюда два свойства, удобных для самопроверки (в режиме обучения, при любых $g$):
# $\sum_i \partial L/\partial x_i = 0$ и $\sum_i \hat x_i\, \partial L/\partial x_i \approx 0$.
#
# **Режим eval.** Здесь $\mu$ и $\sigma^2$ заменены на скользящие средние — константы, от $x$ не зависящие.
# Путей через статистики нет, остаётся только шаг 1 и прямой путь:
# $$\frac{\partial L}{\partial x_i} = \frac{g_i\,\gamma}{\sqrt{\bar\sigma^2 + \varepsilon}}.$$
# Какую формулу применять, определяет режим, в котором был сделан **прямой** проход, — запомните его в кэше.
#
# **Типичная ошибка при переносе формулы в код.** Если длинное выражение продолжить на следующей строке,
# начав её с `+`, но не взяв всё выражение в скобки, Python прочтёт эту строку как отдельную инструкцию:
# унарный плюс вычислится, результат будет выброшен, и слагаемое потеряется без всякой ошибки. Второму
# слагаемому шага 3 это не повредило бы (оно равно нулю), любому слагаемому шага 4 — повредит.
# Переносите длинные формулы внутри скобок.

# %% [markdown]
# ## 5.4. Почему градиент сверху из единиц ничего не проверяет
#
# Частая ошибка — проверять `backward` с `grad_output = np.ones(...)`. Это значит $L = \sum_i y_i$.
# Но в режиме обучения
# $$\sum_i y_i = \gamma \sum_i \hat x_i + N\beta = N\beta,$$
# потому что $\sum_i \hat x_i = 0$. Такой $L$ **вообще не зависит от $x$**, и верный градиент —
# ровно ноль. По компактной формуле: при $g_i = 1$ все $\hat d_i = \gamma$ одинаковы, так что
# $N\hat d_i - \sum_j \hat d_j = 0$ и $\sum_j \hat d_j \hat x_j = \gamma\sum_j \hat x_j = 0$.
# Значит, реализация с любой ошибкой в ветке через $\sigma^2$ (неверный знак, потерянная двойка,
# вовсе отсутствующее слагаемое) тоже вернёт ноль, а численная проверка сравнит шум с шумом.
# Если тест к тому же смотрит только на формы, он пропустит почти любую реализацию. Поэтому открытые
# тесты ниже и `gradient_check` используют случайный градиент сверху.
#
# **Типичные ошибки, которые ловят скрытые тесты:**
# - перевёрнутая конвенция momentum;
# - смещённая дисперсия в `running_var` (или несмещённая — в нормировке);
# - `grad_gamma = ...` вместо `+=`;
# - формула режима обучения в `backward` после `forward` в режиме eval (или статистики последнего
#   обучающего батча, оставшиеся в кэше);
# - изменение скользящих средних в режиме eval;
# - нет `ValueError` при $N = 1$ в режиме обучения.
#
# `zero_grad` уже написан в базовом классе `Layer` и обнуляет массивы на месте — не переопределяйте его
# созданием новых массивов: оптимизатор хранит ссылки на старые. По той же причине `backward` прибавляет к
# `grad_gamma` и `grad_beta` на месте (`+=`): скрытые тесты смотрят на массивы, которые `gradients()` вернул
# до `backward`.
#
# Договорённости первого ноутбука действуют и здесь: `forward` не меняет `x` (не центрируйте его на месте),
# `backward` не меняет `grad_output` и кэш, а тип данных сохраняется — `gamma` и `beta` хранятся в `float64`,
# так что выход и градиент по входу приведите к типу `x` и `grad_output` (`.astype(x.dtype)`).

# %% solution id=batchnorm
class BatchNorm(Layer):
    """Batch normalization по оси батча, как torch.nn.BatchNorm1d.

    Формы: x и y — (N, num_features); gamma, beta, running_mean, running_var,
    grad_gamma, grad_beta — (num_features,).
    Кэш: x_hat, inv_std = 1 / sqrt(var + eps) и режим (self.training), в котором
    сделан forward, — в self._cache.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        # @given BatchNorm.__init__

    def forward(self, x):
        """x: (N, num_features) -> y той же формы.

        TODO:
        - режим обучения (self.training): при N < 2 бросьте ValueError; возьмите среднее
          и СМЕЩЁННУЮ дисперсию батча по оси 0; обновите running_mean и running_var
          (momentum — вес нового батча; в running_var идёт НЕсмещённая дисперсия);
        - режим eval: нормируйте по running_mean и running_var, не меняя их;
        - x_hat = (x - mean) / sqrt(var + eps), y = gamma * x_hat + beta;
        - сохраните в self._cache всё нужное для backward: x_hat, inv_std и режим (self.training);
        - не меняйте x на месте и верните y того же dtype, что x.
        """
        # @solution BatchNorm.forward

    def backward(self, grad_output):
        """grad_output: dL/dy формы (N, num_features) -> dL/dx той же формы.

        TODO:
        - ПРИБАВЬТЕ к grad_gamma и grad_beta их градиенты (суммы по батчу);
        - если forward был в режиме обучения — компактная формула из раздела 5.3;
        - если в режиме eval — статистики константы: dx = grad_output * gamma * inv_std;
        - dx того же dtype, что grad_output; сам grad_output не меняйте.
        """
        # @solution BatchNorm.backward

    def parameters(self):
        # @given BatchNorm.parameters

    def gradients(self):
        # @given BatchNorm.gradients


# %% readonly id=batchnorm_forward_tests
# Столбец 0: среднее 1, дисперсия 1.  Столбец 1: среднее 20, дисперсия 100.
x = np.array([[0.0, 10.0], [0.0, 30.0], [2.0, 10.0], [2.0, 30.0]])
bn = BatchNorm(2)
assert np.allclose(bn.gamma, 1) and np.allclose(bn.beta, 0), "начальные значения: gamma = 1, beta = 0"
bn.gamma[:] = [2.0, 0.5]
bn.beta[:] = [1.0, -1.0]
x_before = x.copy()
y = bn.forward(x)
assert y is not None, "forward вернул None — забыли return?"
assert y.shape == x.shape, f"forward: форма выхода {y.shape}, а должна быть {x.shape}"
assert np.array_equal(x, x_before), "forward изменил входной массив x"
expected = np.array([[2.0, 0.5]]) * (x - [1.0, 20.0]) / np.sqrt(np.array([1.0, 100.0]) + 1e-5) + [1.0, -1.0]
assert np.allclose(y, expected, atol=1e-6), (
    f"forward в режиме обучения:\n{y}\nа ожидалось\n{expected}\n"
    "(нормировка по среднему и СМЕЩЁННОЙ дисперсии батча, затем gamma * x_hat + beta)")

# Одно обновление при momentum = 0.1: 10 % статистик батча, 90 % старых значений (0 и 1).
if np.allclose(bn.running_mean, [0.9, 18.0]):
    raise AssertionError("running_mean = [0.9, 18]: перепутаны веса — momentum здесь вес НОВОГО батча: "
                         "running = (1 - momentum)·running + momentum·batch")
assert np.allclose(bn.running_mean, [0.1, 2.0]), (
    f"running_mean после одного батча: {bn.running_mean}, а должно быть 0.9·0 + 0.1·[1, 20] = [0.1, 2]")
if np.allclose(bn.running_var, [1.0, 10.9]):
    raise AssertionError("running_var = [1, 10.9]: в running_var попала смещённая дисперсия; "
                         "нужна несмещённая var · N / (N - 1)")
assert np.allclose(bn.running_var, [0.9 + 0.1 * 4 / 3, 0.9 + 0.1 * 400 / 3]), (
    f"running_var после одного батча: {bn.running_var}, а должно быть 0.9·1 + 0.1·[4/3, 400/3]")

try:
    BatchNorm(2).forward(np.array([[1.0, 2.0]]))
except ValueError:
    pass
else:
    raise AssertionError("батч из одного примера в режиме обучения должен вызывать ValueError")

# Режим eval: нормировка по скользящим средним, которые не меняются.
bn = BatchNorm(2)
bn.gamma[:] = [2.0, 0.5]
bn.beta[:] = [1.0, -1.0]
bn.running_mean[:] = [0.5, 10.0]
bn.running_var[:] = [4.0, 25.0]
bn.eval()
y = bn.forward(x)
expected = np.array([[2.0, 0.5]]) * (x - [0.5, 10.0]) / np.sqrt(np.array([4.0, 25.0]) + 1e-5) + [1.0, -1.0]
assert np.allclose(y, expected, atol=1e-6), f"forward в режиме eval:\n{y}\nа ожидалось\n{expected}"
assert np.allclose(bn.running_mean, [0.5, 10.0]) and np.allclose(bn.running_var, [4.0, 25.0]), (
    "forward в режиме eval не должен менять running_mean и running_var")
y_one = bn.forward(x[:1])
assert np.allclose(y_one, expected[:1], atol=1e-6), "в режиме eval батч из одного примера — обычный вход"
print("✓ открытые тесты BatchNorm.forward пройдены")

# %% readonly id=batchnorm_backward_tests
x = np.array([[0.0, 10.0], [0.0, 30.0], [2.0, 10.0], [2.0, 30.0]])
g = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0], [2.0, 0.0]])  # не единицы: см. раздел 5.4
bn = BatchNorm(2)
bn.gamma[:] = [2.0, 0.5]
bn.beta[:] = [1.0, -1.0]
bn.forward(x)
dx = bn.backward(g.copy())
assert dx is not None, "backward вернул None — забыли return?"
assert dx.shape == x.shape, f"backward: форма {dx.shape}, а должна быть {x.shape}"
# x_hat ≈ [[-1, -1], [-1, 1], [1, -1], [1, 1]], поэтому:
assert np.allclose(bn.grad_beta, [2.5, 2.0]), f"grad_beta = {bn.grad_beta}, а должно быть Σ g = [2.5, 2]"
assert np.allclose(bn.grad_gamma, [-0.5, 4.0], atol=1e-4), (
    f"grad_gamma = {bn.grad_gamma}, а должно быть Σ g·x_hat ≈ [-0.5, 4]")
# Компактная формула, посчитанная вручную: s ≈ [1, 0.1], d_hat = g·gamma.
expected = np.array([[0.5, -0.075], [-0.5, 0.075], [-3.0, 0.075], [3.0, -0.075]])
if not np.allclose(dx, expected, atol=1e-4):
    x_hat = (x - [1.0, 20.0]) / np.sqrt(np.array([1.0, 100.0]) + 1e-5)
    if not np.allclose(dx.sum(axis=0), 0, atol=1e-6):
        hint = (f"сумма dx по батчу равна {dx.sum(axis=0)}, а должна быть 0 — "
                "не учтён путь через среднее μ (слагаемое -Σ d_hat)")
    elif not np.allclose((dx * x_hat).sum(axis=0), 0, atol=1e-4):
        hint = "Σ dx·x_hat не равна 0 — не учтён (или неверно учтён) путь через дисперсию σ²"
    else:
        hint = "проверьте множитель s / N и то, что d_hat = grad_output * gamma"
    raise AssertionError(f"backward в режиме обучения:\n{dx}\nа ожидалось\n{expected}\n{hint}")

bn.backward(g.copy())
assert np.allclose(bn.grad_beta, [5.0, 4.0]), (
    f"после двух backward grad_beta = {bn.grad_beta}, а должно быть [5, 4]: градиенты накапливаются (+=)")
bn.zero_grad()
assert np.allclose(bn.grad_gamma, 0) and np.allclose(bn.grad_beta, 0), "zero_grad должен обнулить градиенты"
assert bn.parameters()[0] is bn.gamma and bn.gradients()[0] is bn.grad_gamma, (
    "parameters() и gradients() должны возвращать сами массивы gamma, beta и grad_gamma, grad_beta")

# Режим eval: статистики — константы, dx = g · gamma / sqrt(running_var + eps).
bn.running_mean[:] = [0.5, 10.0]
bn.running_var[:] = [4.0, 25.0]
bn.eval()
bn.forward(x)
dx = bn.backward(g.copy())
expected = g * [1.0, 0.1]  # gamma / sqrt(running_var) = [2 / 2, 0.5 / 5]
assert np.allclose(dx, expected, atol=1e-5), (
    f"backward в режиме eval:\n{dx}\nа ожидалось\n{expected}\n"
    "(после forward в режиме eval статистики не зависят от x — формула режима обучения здесь не нужна)")

# Численная проверка в обоих режимах (градиент сверху случайный).
x = np.random.randn(6, 3) * [1.0, 3.0, 0.5] + [0.0, -2.0, 4.0]
bn = BatchNorm(3)
bn.gamma[:] = [1.5, -0.7, 0.3]
gradient_check(bn, x)
bn.running_mean[:] = [0.2, -1.0, 3.0]
bn.running_var[:] = [0.8, 6.0, 0.4]
gradient_check(bn.eval(), x)
print("✓ открытые тесты BatchNorm.backward пройдены")

# %% hidden id=batchnorm_hidden points=5
# Скрытые тесты BatchNorm (5 баллов): x и grad_output не меняются, тип данных сохраняется, оба режима, скользящие средние за несколько батчей, накопление градиентов, N = 1.
from solutions.checks import check_batchnorm
check_batchnorm(BatchNorm)

# %% [markdown]
# ## 5.5. Эксперимент: градиент из единиц
#
# Убедимся в выводе раздела 5.4 на вашей реализации: сумма выходов по батчу не зависит от входа,
# а `backward` с единицами сверху возвращает ноль (с точностью до округления), каким бы ни был вход.

# %%
rng = np.random.default_rng(1)
try:
    bn = BatchNorm(3)
    bn.gamma[:] = [0.5, 2.0, -1.0]
    bn.beta[:] = [0.1, 0.2, 0.3]
    for trial in range(2):
        x = rng.normal(size=(6, 3)) * 5 + rng.normal(size=3) * 10
        print(f"вход {trial + 1}: сумма выходов по батчу = {np.round(bn.forward(x).sum(axis=0), 10)} (= N·beta)")
    dx_ones = bn.backward(np.ones_like(x))
    dx_random = bn.backward(rng.normal(size=x.shape))
    print(f"max |dx| при grad_output из единиц:     {np.abs(dx_ones).max():.1e}")
    print(f"max |dx| при случайном grad_output:     {np.abs(dx_random).max():.1e}")
except NotImplementedError:
    print("BatchNorm ещё не реализован — вернитесь сюда, когда он заработает")

# %% [markdown]
# ## 5.6. Как BatchNorm меняет распределения признаков
#
# Слева — три признака с очень разными сдвигами и масштабами (третий ещё и несимметричный),
# в центре — они же после вашего `BatchNorm` в режиме обучения. Нормировка только сдвигает и
# растягивает: форма распределения (например, асимметрия) сохраняется.
#
# Справа — как `running_mean` одного признака (истинное среднее 3) копится по батчам из 16 примеров.
# При `momentum=0.1` кривая плавно подходит к 3 и почти не дрожит. `momentum=0.9` в нашей конвенции —
# это та самая типичная ошибка из раздела 5.2 (формула Keras со значением 0.1 из PyTorch): оценка
# почти целиком определяется последним батчем и скачет вместе с ним.

# %% demo id=demo_batchnorm_distributions
rng = np.random.default_rng(0)
n = 512
features = np.column_stack([rng.normal(-6, 0.5, n), rng.normal(3, 2, n), 8 + rng.exponential(3, n)])
names = ["N(-6, 0.5²)", "N(3, 2²)", "8 + Exp(3)"]
colors = ["tab:blue", "tab:orange", "tab:green"]
try:
    normalized = BatchNorm(3).forward(features)
    batches = [np.column_stack([rng.normal(-6, 0.5, 16), rng.normal(3, 2, 16), 8 + rng.exponential(3, 16)])
               for _ in range(60)]
    curves = {}
    for momentum in (0.1, 0.9):
        bn = BatchNorm(3, momentum=momentum)
        curves[momentum] = []
        for batch in batches:
            bn.forward(batch)
            curves[momentum].append(bn.running_mean[1])
except NotImplementedError:
    print("BatchNorm ещё не реализован — график появится, когда заработает forward")
else:
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    bins_before = np.linspace(features.min(), features.max(), 80)
    for j in range(3):
        axes[0].hist(features[:, j], bins=bins_before, alpha=0.6, color=colors[j], label=names[j])
        mean, std = round(normalized[:, j].mean(), 2) + 0.0, normalized[:, j].std()  # + 0.0 убирает «-0.00»
        axes[1].hist(normalized[:, j], bins=np.linspace(-3.5, 5, 60), histtype="step", lw=1.8, color=colors[j],
                     label=f"{names[j]}: среднее {mean:.2f}, std {std:.2f}")
    axes[0].set_title("до BatchNorm")
    axes[1].set_title("после BatchNorm (режим обучения)")
    for momentum, style in ((0.1, "-"), (0.9, "--")):
        axes[2].plot(np.arange(1, 61), curves[momentum], style, marker=".", label=f"momentum = {momentum}")
    axes[2].axhline(3, color="gray", lw=1, ls=":", label="истинное среднее")
    axes[2].set_title("running_mean признака N(3, 2²)")
    axes[2].set_xlabel("номер батча")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()

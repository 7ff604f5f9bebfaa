# reference: solutions.dropout
# %% [markdown]
# # 4. Dropout
#
# Большая сеть легко запоминает обучающую выборку: точность на ней растёт, а на валидационной выборке
# перестаёт расти и начинает падать (переобучение, overfitting).
#
# **Dropout** (Srivastava, Hinton и др., 2014) — простой и очень действенный способ регуляризации: во время обучения
# каждый элемент входа слоя независимо **обнуляется с вероятностью $p$** (`dropout_rate`).
#
# Зачем это нужно:
# - нейрон не может рассчитывать на конкретных «соседей» — любой из них может пропасть на этом шаге, — поэтому
#   учится признакам, полезным самим по себе (меньше *коадаптации*);
# - каждый шаг обучает случайную «прореженную» подсеть. Если dropout может выключить $n$ нейронов, таких
#   подсетей $2^{n}$; все они делят одни и те же веса, и обучение похоже на обучение огромного ансамбля.
#   На инференсе мы хотим **среднее** этого ансамбля и приближаем его одним детерминированным прямым проходом
#   без отключений.
#
# Обычно dropout ставят после активаций скрытых слоёв, с $p$ от 0.1 до 0.5; на выходном слое его не ставят.
#
# Вы напишете слой `Dropout`, который ведёт себя как `torch.nn.Dropout`. Правила те же: код — в ячейках
# с `# ВАШ КОД ЗДЕСЬ`, после класса — открытые тесты, баллы — за скрытые.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nn_helpers import Layer, gradient_check

np.random.seed(0)

# %% [markdown]
# ## 4.1. Две договорённости о масштабе
#
# Маска: $m_i \sim \mathrm{Bernoulli}(1 - p)$, то есть $m_i = 1$ (элемент остаётся) с вероятностью $1 - p$ и
# $m_i = 0$ (выключен) с вероятностью $p$. Внимание: $p$ — вероятность **выключить**, а не сохранить (так в PyTorch:
# `nn.Dropout(p=0.2)` выключает 20 %). Перепутать — частая ошибка.
#
# **Классический dropout** (как в исходной статье). При обучении $y = m \odot x$, поэтому
# $\mathbb{E}[y_i] = (1 - p)\,x_i$ — в среднем сигнал меньше. На инференсе включены все нейроны, и чтобы следующий
# слой видел входы того же масштаба, что при обучении, выход умножают на $(1 - p)$: $y = (1 - p)\,x$.
#
# **Обратный (inverted) dropout** — его используют PyTorch, Keras и этот курс. Масштаб исправляют **при обучении**:
# $$y = \frac{m \odot x}{1 - p} \quad\text{(обучение)}, \qquad y = x \quad\text{(инференс)}.$$
#
# Почему выбирают обратный: код инференса ничего не знает о dropout. Слой в режиме `eval` — тождественная функция,
# его можно вообще убрать из обученной модели, а $p$ можно менять между запусками обучения, не трогая код, который
# модель применяет. Вся «цена» платится только при обучении.
#
# **Типичная ошибка — смешать договорённости**: делить на $1 - p$ при обучении и вдобавок умножать выход
# на $1 - p$ при инференсе, как в классическом варианте. Тогда на инференсе активации окажутся в $1/(1-p)$ раз
# меньше, чем сеть видела при обучении, и предсказания систематически испортятся. В обратном dropout при
# инференсе **ничего не масштабируется**.

# %% [markdown]
# ## 4.2. Среднее и дисперсия выхода
#
# Для одного элемента при обучении $y_i = \dfrac{m_i x_i}{1-p}$:
# $$\mathbb{E}[y_i] = P(m_i = 1)\cdot\frac{x_i}{1 - p} + P(m_i = 0)\cdot 0 = (1 - p)\,\frac{x_i}{1 - p} = x_i .$$
# Значит, в среднем слой пропускает вход без изменений — ровно то, что он делает на инференсе.
#
# Второй момент: $\mathbb{E}[y_i^2] = (1-p)\dfrac{x_i^2}{(1-p)^2} = \dfrac{x_i^2}{1-p}$, откуда
# $$\mathrm{Var}(y_i) = \frac{x_i^2}{1-p} - x_i^2 = \frac{p}{1-p}\,x_i^2 .$$
# Шум растёт с $p$: при $p = 0.5$ стандартное отклонение равно $|x_i|$, при $p = 0.9$ — уже $3|x_i|$.
# Поэтому большие $p$ сильно замедляют обучение.
#
# Крайние случаи: при $p = 0$ слой тождественный; при $p = 1$ выключено всё и выход — нули (делить на $1 - p = 0$
# при этом нельзя: $0 \cdot \infty$ даёт `nan`).

# %% [markdown]
# ## 4.3. Обратный проход
#
# При **фиксированной** маске dropout — поэлементное умножение на константу $\tilde m_i = m_i / (1 - p)$, то есть
# $0$ или $\frac{1}{1-p}$:
# $$y_i = \tilde m_i\, x_i, \qquad \frac{\partial y_i}{\partial x_j} = \tilde m_i\,[i = j]
# \quad\Longrightarrow\quad \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot \tilde m .$$
# (здесь $[i = j]$ — индикатор: 1 при $i = j$, иначе 0). Градиент проходит ровно через выжившие элементы
# и масштабируется так же, как они.
#
# Ключевое: **та же маска, что в `forward`**. Случайность — часть функции, которую сеть вычислила на этом шаге;
# мы дифференцируем именно её. Новая маска в `backward` означала бы градиент другой подсети — и он был бы неверным.
# Поэтому `forward` кэширует масштабированную маску, а `backward` только умножает на неё.
#
# Остальные требования:
# - **новая маска при каждом `forward`**: иначе выключены всегда одни и те же нейроны — это не dropout, а просто
#   сеть поменьше;
# - **маска поэлементная**, формы `x.shape`: у каждого примера батча своя подсеть. Маска формы `(D,)`, общая для
#   всего батча, — ошибка;
# - в режиме `eval` (и при $p = 0$) и `forward`, и `backward` — тождественные;
# - `x` не меняется на месте (`x *= mask` нельзя): входной массив может лежать в кэше предыдущего слоя — например,
#   `Sigmoid` хранит свой выход $y$ и использует его в `backward`;
# - случайные числа — из `np.random` (`np.random.rand`), чтобы `np.random.seed` делал обучение воспроизводимым
#   (на этом держится и численная проверка градиента в открытых тестах);
# - тип выхода совпадает с типом входа, как у всех слоёв курса (маску приведите к `x.dtype`), а `backward` не меняет
#   ни `grad_output`, ни маску в кэше — это проверяют скрытые тесты;
# - пожелание, которое на баллы не влияет: при $p = 1$ нет деления на ноль.

# %% solution id=dropout
class Dropout(Layer):
    """Обратный (inverted) dropout.

    При обучении каждый элемент входа независимо обнуляется с вероятностью
    p = dropout_rate, а выжившие умножаются на 1 / (1 - p), так что E[y] = x.
    В режиме eval (и при p = 0) слой тождественный.
    Формы: x — любая, y — той же формы.
    Кэш: масштабированная маска self._mask (значения 0 или 1 / (1 - p)) или None.
    """

    def __init__(self, dropout_rate=0.5):
        # @given Dropout.__init__

    def forward(self, x):
        """x: np.ndarray любой формы -> np.ndarray той же формы.

        TODO:
        - не режим обучения или p == 0: self._mask = None, вернуть x;
        - иначе: НОВАЯ маска формы x.shape из np.random.rand (элемент остаётся
          с вероятностью 1 - p), масштаб 1 / (1 - p) (при p = 1 — всё обнуляется,
          без деления на ноль), сохранить в self._mask и вернуть x * mask.
        """
        # @solution Dropout.forward

    def backward(self, grad_output):
        """grad_output: dL/dy -> dL/dx.

        TODO: умножьте на маску последнего forward; если маски нет (eval или p = 0) —
        верните grad_output без изменений.
        """
        # @solution Dropout.backward


# %% readonly id=dropout_visible_tests
np.random.seed(0)
p = 0.3
x = np.random.uniform(0.5, 2.0, size=(500, 200)) * np.random.choice([-1.0, 1.0], size=(500, 200))  # без нулей
x_before = x.copy()
dropout = Dropout(p)
assert dropout.training, "новый слой должен быть в режиме обучения"

y = dropout.forward(x)
assert y is not None, "forward вернул None — забыли return?"
assert y.shape == x.shape, f"forward: форма выхода {y.shape}, а должна быть как у входа {x.shape}"
assert np.array_equal(x, x_before), "forward изменил входной массив x — умножайте в новый массив, не x *= mask"
ratio = y / x
kept = ratio != 0
survivors = ratio[kept]
if np.allclose(survivors, 1.0):
    hint = "выжившие не масштабированы: в обратном dropout их нужно делить на (1 - p)"
elif np.allclose(survivors, 1 - p):
    hint = "выжившие умножены на (1 - p), а нужно разделить на (1 - p)"
elif np.allclose(survivors, 1 / p):
    hint = "выжившие разделены на p: похоже, p у вас — вероятность сохранить, а это вероятность ВЫКЛЮЧИТЬ"
else:
    hint = f"встречаются отношения y / x от {survivors.min():.4g} до {survivors.max():.4g}"
assert np.allclose(survivors, 1 / (1 - p)), (
    f"Dropout({p}): каждый выход должен быть либо 0, либо x / (1 - p) = {1 / (1 - p):.4f}·x; {hint}")

drop_fraction = 1 - kept.mean()  # стандартное отклонение этой оценки ≈ 0.0015
assert abs(drop_fraction - p) < 0.02, (
    f"Dropout({p}) обнулил {drop_fraction:.1%} элементов, а должен ≈{p:.0%}"
    + (" — p = вероятность ВЫКЛЮЧИТЬ элемент, а не сохранить" if abs(drop_fraction - (1 - p)) < 0.02 else ""))
assert abs(ratio.mean() - 1) < 0.03, f"в среднем y / x = {ratio.mean():.3f}, а должно быть ≈ 1 (E[y] = x)"
assert len({row.tobytes() for row in kept}) > 1 and len({col.tobytes() for col in kept.T}) > 1, (
    "маска одинакова для всех строк или всех столбцов — она должна выбираться для каждого элемента отдельно, "
    "формы x.shape")

g = np.random.randn(*x.shape)
grad = dropout.backward(g)
assert grad is not None, "backward вернул None — забыли return?"
assert np.allclose(grad, np.where(kept, g / (1 - p), 0.0)), (
    "backward должен умножать градиент на ту же маску, что была в forward (0 или 1 / (1 - p)), а не на новую")

kept2 = dropout.forward(x) != 0
assert not np.array_equal(kept, kept2), "два вызова forward дали одну маску — генерируйте новую при каждом forward"
assert np.allclose(dropout.backward(g), np.where(kept2, g / (1 - p), 0.0)), (
    "backward после второго forward должен использовать маску второго forward")

dropout.eval()
assert np.array_equal(dropout.forward(x), x), (
    "в режиме eval forward должен возвращать вход без изменений: в обратном dropout при инференсе ничего не масштабируется")
assert np.array_equal(dropout.backward(g), g), "в режиме eval backward должен возвращать градиент без изменений"

assert np.array_equal(Dropout(0.0).forward(x), x), "при p = 0 forward должен возвращать вход без изменений"

# Пожелания из docstring: на баллы не влияют, поэтому только предупреждаем.
with np.errstate(divide="raise", invalid="raise"):
    try:
        if not np.array_equal(Dropout(1.0).forward(x), np.zeros_like(x)):
            print("⚠ (на баллы не влияет) при p = 1 выход должен состоять из нулей")
    except FloatingPointError as error:
        print(f"⚠ (на баллы не влияет) Dropout(1.0): {error} — при p = 1 не делите на 1 - p = 0")
y32 = Dropout(p).forward(x.astype(np.float32))
assert y32.dtype == np.float32, f"на float32-входе выход стал {y32.dtype}: приведите маску к x.dtype"


class FrozenMask(Layer):
    """Для численной проверки: seed перед каждым forward — маска одна и та же, dropout становится обычной функцией."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        np.random.seed(123)
        return self.layer.forward(x)

    def backward(self, grad_output):
        return self.layer.backward(grad_output)


frozen, x_small = FrozenMask(Dropout(0.4)), np.random.randn(5, 6)
assert np.array_equal(frozen.forward(x_small), frozen.forward(x_small)), (
    "при одинаковом np.random.seed два forward дали разные маски: берите случайные числа из np.random (np.random.rand)")
gradient_check(frozen, x_small)
print("✓ открытые тесты Dropout пройдены")

# %% hidden id=dropout_hidden points=3
# Скрытые тесты Dropout (3 балла): x, grad_output и маска не меняются, тип данных сохраняется, значения 0 или x / (1 - p) и доля нулей ≈ p для нескольких p, поэлементная и новая при каждом forward маска, та же маска в backward, режим eval, p = 0, значение по умолчанию.
from solutions.checks import check_dropout
check_dropout(Dropout)

# %% [markdown]
# ## 4.4. Как выглядят маски и почему в среднем ничего не меняется
#
# Сверху — выход **вашего** `Dropout` на входе из единиц (20 примеров × 40 признаков) при разных $p$: чёрные клетки
# выключены, светлые пропущены и умножены на $1/(1-p)$. Снизу — один и тот же вход $x$ (40 признаков) пропущен через
# `Dropout(0.5)` много раз: каждый отдельный проход сильно шумит, но среднее по проходам сходится к $x$, как и
# обещает $\mathbb{E}[y] = x$. Пунктир — то, что получилось бы без масштабирования: $(1-p)\,x$.

# %% demo id=demo_dropout_masks
try:
    rates = (0.1, 0.3, 0.5, 0.8)
    fig, axes = plt.subplot_mosaic([[f"p{i}" for i in range(len(rates))], ["mean"] * len(rates)],
                                   figsize=(12, 6.5), height_ratios=[1, 1.3])
    np.random.seed(0)
    for i, p in enumerate(rates):
        y = Dropout(p).forward(np.ones((20, 40)))
        axes[f"p{i}"].imshow(y, cmap="gray", vmin=0, vmax=1 / (1 - p))
        axes[f"p{i}"].set_title(f"p = {p}: выключено {np.mean(y == 0):.0%},\nвыжившие ×{1 / (1 - p):.2f}", fontsize=10)
        axes[f"p{i}"].set_xticks([])
        axes[f"p{i}"].set_yticks([])

    p, features = 0.5, np.arange(40)
    signal = np.sin(features / 6) + 0.3 * np.cos(features / 2) + 1.6
    passes = Dropout(p).forward(np.tile(signal, (2000, 1)))  # 2000 независимых проходов: маска у каждой строки своя
    ax = axes["mean"]
    ax.plot(features, passes[0], "o", ms=4, color="tab:gray", alpha=0.6, label="один проход")
    ax.plot(features, passes[:10].mean(axis=0), color="tab:orange", lw=1.2, label="среднее по 10 проходам")
    ax.plot(features, passes.mean(axis=0), color="tab:blue", lw=2, label="среднее по 2000 проходам")
    ax.plot(features, signal, color="black", lw=1, label="вход x")
    ax.plot(features, (1 - p) * signal, "k--", lw=1, label="(1 - p)·x — без масштабирования")
    ax.set_xlabel("номер признака")
    ax.set_ylim(-0.2, 1.3 * passes[0].max())
    ax.set_title(f"Dropout({p}) в режиме обучения: E[y] = x")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=3, loc="upper right")
    fig.tight_layout()
    plt.show()
except NotImplementedError:
    plt.close("all")
    print("Dropout ещё не реализован — график появится, когда будет готов forward")

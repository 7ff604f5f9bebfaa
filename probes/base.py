"""Base classes the course gives to students: Layer, Loss, Optimizer.

They hold no answers: the reference, the checks' stand-ins (``probes.fixtures``)
and the students all build on them.  The notebook build copies this file into
the student helper module, so its docstrings are in Russian, like the notebooks.
"""


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

"""Figure 3: the a3 ConvNet trained on the digits: seconds to 97% test accuracy, final accuracy."""

from __future__ import annotations

import time

import numpy as np

from .common import Row, Section, seconds
from .common import verdict as judged

TARGET_ACCURACY = 0.97
BUDGET = 30.0  # seconds of training
QUICK_BUDGET = 2.0


def accuracy(model, X, y, batch: int = 500) -> float:
    """Share of X the model classifies as y."""
    scores = np.concatenate([model.loss(X[i : i + batch]) for i in range(0, len(X), batch)])
    return float(np.mean(np.argmax(scores, axis=1) == y))


def sgd_momentum(model, X, y, lr: float, momentum: float, batch: int, rng) -> None:
    """One epoch of minibatch SGD with momentum over (X, y), updating model.params in place."""
    velocity = getattr(model, "_bench_velocity", None) or {
        k: np.zeros_like(v) for k, v in model.params.items()
    }
    model._bench_velocity = velocity
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch):
        idx = order[i : i + batch]
        _, grads = model.loss(X[idx], y[idx])
        for k, g in grads.items():
            velocity[k] = momentum * velocity[k] - lr * g
            model.params[k] += velocity[k]


def run(quick: bool = False) -> Section:
    """Train the reference ConvNet on the digits for the budget, testing after each epoch."""
    from helpers.data import channel_stats, load_digits, normalize
    from instructor.reference import load_reference

    ref = load_reference("a3_convnet")
    if not hasattr(ref, "ConvNet"):
        raise FileNotFoundError("the a3_convnet source defines no ConvNet yet")
    section = Section("training", "Training the a3 ConvNet")
    data = load_digits(seed=0)
    mean, std = channel_stats(data["X_train"])
    X_train, X_test = normalize(data["X_train"], mean, std), normalize(data["X_test"], mean, std)
    y_train, y_test = data["y_train"], data["y_test"]
    model = ref.ConvNet(seed=0)
    budget = QUICK_BUDGET if quick else BUDGET
    rng = np.random.default_rng(0)
    trained, reached, curve = 0.0, None, []
    while trained < budget:
        start = time.perf_counter()
        sgd_momentum(model, X_train, y_train, lr=0.01, momentum=0.9, batch=50, rng=rng)
        trained += time.perf_counter() - start
        acc = accuracy(model, X_test, y_test)
        curve.append((trained, acc))
        if reached is None and acc >= TARGET_ACCURACY:
            reached = trained
    final = curve[-1][1]
    section.data.update(curve=curve, seconds_to_target=reached, final_accuracy=final)
    section.rows.append(
        Row(
            f"ConvNet to {TARGET_ACCURACY:.0%} test accuracy (digits)",
            f"within {BUDGET:g} s of training",
            seconds(reached) if reached is not None else f"not reached in {seconds(trained)}",
            "",
            judged(reached is not None and reached <= BUDGET),
            reached,
        )
    )
    section.rows.append(
        Row(
            "final test accuracy",
            f">= {TARGET_ACCURACY:.0%}",
            f"{final:.2%}",
            "",
            judged(final >= TARGET_ACCURACY),
            final,
        )
    )
    return section

"""Correct solutions of assignment 1 written in other ways; each must get full marks."""

from tests.correct import Variant

VARIANTS = [
    Variant(
        name="cs231n_style_layers",
        story="Layers as in CS231n: .dot, np.maximum(0, x), a masked copy, log-sum-exp softmax.",
        cells=(
            ("affine_forward", '''
def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache
'''),
            ("affine_backward", '''
def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db
'''),
            ("relu_forward", '''
def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache
'''),
            ("relu_backward", '''
def relu_backward(dout, cache):
    dx, x = dout.copy(), cache
    dx[x <= 0] = 0
    return dx
'''),
            ("softmax_loss", '''
def softmax_loss(x, y):
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
'''),
        ),
    ),
    Variant(
        name="einsum_and_tensordot",
        story="The affine layer with np.einsum forward and np.tensordot for dw.",
        cells=(
            ("affine_forward", '''
def affine_forward(x, w, b):
    """Affine layer with einsum."""
    x_rows = np.reshape(x, (np.shape(x)[0], -1))
    out = np.einsum("nd,dm->nm", x_rows, w) + b
    return out, (x, w, b)
'''),
            ("affine_backward", '''
def affine_backward(dout, cache):
    x, w, b = cache
    x_rows = np.reshape(x, (x.shape[0], -1))
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    dw = np.tensordot(x_rows, dout, axes=(0, 0))
    db = np.einsum("nm->m", dout)
    return dx, dw, db
'''),
        ),
    ),
    Variant(
        name="float32_training",
        story="Trains on float32 copies of the data and keeps the parameters in float32.",
        edits=(
            ("train", "rng = np.random.default_rng(0)",
             "rng = np.random.default_rng(0)\n"
             "X_train32 = X_train.astype(np.float32)\n"
             "model.params = {k: v.astype(np.float32) for k, v in model.params.items()}"),
            ("train", "model.loss(X_train[batch], y_train[batch])",
             "model.loss(X_train32[batch], y_train[batch])"),
            ("train", "model.params[name] -= learning_rate * grads[name]",
             "model.params[name] -= np.float32(learning_rate) * grads[name].astype(np.float32)"),
        ),
    ),
    Variant(
        name="magics_and_prints",
        story="%matplotlib inline and %time in an extra cell, %%time on the training, prints.",
        edits=(
            ("train", "history = {", "%%time\nhistory = {"),
            ("train", "        history[\"loss\"].append(loss)\n",
             "        history[\"loss\"].append(loss)\n"
             "    print(f\"epoch {epoch}: loss {loss:.3f}\")\n"),
        ),
        extra=(
            ("load_data", '%matplotlib inline\n%time scores = TwoLayerNet().loss(X_train[:5])\n'
                          'print("scores", scores.shape)'),
        ),
        needs="IPython magics (%%time runs its body, %time and %matplotlib run)",
    ),
    Variant(
        name="helpers_and_extra_cells",
        story="Helper functions for accuracy and minibatches in an extra cell, shape checks.",
        extra=(
            ("load_data", '''
def accuracy(model, X, y):
    """Fraction of correct predictions."""
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


def minibatches(n, batch_size, rng):
    """Shuffled index batches covering range(n)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


print(X_train.dtype, X_train.shape, np.bincount(y_train))
'''),
        ),
        cells=(
            ("train", '''
history = {"loss": [], "val_acc": []}
model = TwoLayerNet(input_dim=64, hidden_dim=100, num_classes=10, weight_scale=0.1, reg=1e-3,
                    seed=0)
rng = np.random.default_rng(0)
for epoch in range(30):
    for batch in minibatches(len(X_train), 32, rng):
        loss, grads = model.loss(X_train[batch], y_train[batch])
        for name, grad in grads.items():
            model.params[name] -= 0.2 * grad
        history["loss"].append(loss)
    history["val_acc"].append(accuracy(model, X_val, y_val))
print("final", history["val_acc"][-1])
val_acc = np.mean(np.argmax(model.loss(X_val), axis=1) == y_val)
print(f"validation accuracy: {val_acc:.3f}")
'''),
        ),
    ),
    Variant(
        name="other_draw_order",
        story="Draws W2 before W1 with rng.normal(0, weight_scale), and trains with another seed.",
        edits=(
            ("two_layer_net", '''        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),  # (D, H)
            "b1": np.zeros(hidden_dim),  # (H,)
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),  # (H, C)
            "b2": np.zeros(num_classes),  # (C,)
        }''', '''        W2 = rng.normal(0.0, weight_scale, size=(hidden_dim, num_classes))
        W1 = rng.normal(0.0, weight_scale, size=(input_dim, hidden_dim))
        self.params = {"W1": W1, "b1": np.zeros(hidden_dim), "W2": W2,
                       "b2": np.zeros(num_classes)}'''),
            ("train", "seed=0)\nrng = np.random.default_rng(0)", "seed=3)\nrng = np.random.default_rng(7)"),
        ),
    ),
    Variant(
        name="black_formatted",
        story="Formatted by black: continuation lines inside brackets that begin with > or % or !=.",
        edits=(
            ("relu_backward", "dx = dout * (x > 0)  # same shape as x",
             "dx = dout * (\n        x\n        > 0\n    )  # same shape as x"),
            ("train", "        history[\"loss\"].append(loss)\n",
             "        history[\"loss\"].append(loss)\n"
             "        if (\n"
             "            len(history[\"loss\"])\n"
             "            % 500\n"
             "            == 0\n"
             "        ):\n"
             "            print(\"update\", len(history[\"loss\"]), \"loss\", round(float(loss), 3))\n"),
            ("train", "### END SOLUTION",
             "assert (\n    len(history[\"val_acc\"])\n    != 0\n), \"no epochs\"\n### END SOLUTION"),
        ),
        needs="continuation lines that begin with % or != are Python, not magics",
    ),
]

"""Train the small digits ConvNet whose weights lesson 05 inspects, with the reference layers.

    python -m instructor.train_lesson_convnet [--out notebooks/weights/digits_convnet.npz]
    python -m instructor.train_lesson_convnet --shift 1  # -> .../digits_convnet_shifted.npz

conv(3x3, 8, pad 1) - relu - conv(3x3, 16, pad 1) - relu - 2x2 max pool - affine - softmax,
trained with plain SGD with momentum for a fixed number of epochs from a fixed seed. With
--shift s every training digit is moved by a random whole number of pixels in [-s, s] along
each axis (zeros fill in) each time it is drawn: data augmentation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from helpers.data import load_digits
from instructor.paths import LESSONS
from instructor.reference import load_reference

DEFAULT_OUT = LESSONS / "weights" / "digits_convnet.npz"
SHIFTED_OUT = LESSONS / "weights" / "digits_convnet_shifted.npz"
ARCHITECTURE = (
    "conv(3x3, 8 filters, stride 1, pad 1) - relu - conv(3x3, 16 filters, stride 1, pad 1) - "
    "relu - max pool(2x2, stride 2) - affine(256 -> 10) - softmax"
)
SEED = 0
EPOCHS = 8
BATCH_SIZE = 32
LEARNING_RATE = 0.05
MOMENTUM = 0.9
REG = 1e-4
CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def layers() -> dict:
    """The reference layer functions this network is built from, by name."""
    a1 = load_reference("a1_fully_connected")
    a2 = load_reference("a2_convolution")
    a3 = load_reference("a3_convnet")
    return {
        "conv_forward": a3.conv_forward_fast,
        "conv_backward": a3.conv_backward_fast,
        "relu_forward": a1.relu_forward,
        "relu_backward": a1.relu_backward,
        "pool_forward": getattr(a3, "max_pool_forward_fast", a2.max_pool_forward_naive),
        "pool_backward": getattr(a3, "max_pool_backward_fast", a2.max_pool_backward_naive),
        "affine_forward": a1.affine_forward,
        "affine_backward": a1.affine_backward,
        "softmax_loss": a1.softmax_loss,
    }


def init_params(seed: int = SEED) -> dict:
    """He-initialised weights and zero biases: W1 (8, 1, 3, 3), W2 (16, 8, 3, 3), W3 (256, 10)."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (8, 1, 3, 3), "W2": (16, 8, 3, 3), "W3": (16 * 4 * 4, 10)}
    params = {}
    for i, (name, shape) in enumerate(shapes.items(), start=1):
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        params[name] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        params[f"b{i}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1])
    return params


def loss_and_grads(params: dict, X: np.ndarray, y: np.ndarray | None, L: dict, reg: float = REG):
    """Scores (N, 10) when y is None, else (loss, grads) for a batch X (N, 1, 8, 8)."""
    h1, c1 = L["conv_forward"](X, params["W1"], params["b1"], CONV_PARAM)  # (N, 8, 8, 8)
    a1, r1 = L["relu_forward"](h1)
    h2, c2 = L["conv_forward"](a1, params["W2"], params["b2"], CONV_PARAM)  # (N, 16, 8, 8)
    a2, r2 = L["relu_forward"](h2)
    p2, cp = L["pool_forward"](a2, POOL_PARAM)  # (N, 16, 4, 4)
    scores, c3 = L["affine_forward"](p2, params["W3"], params["b3"])  # (N, 10)
    if y is None:
        return scores
    loss, dscores = L["softmax_loss"](scores, y)
    grads = {}
    dp2, grads["W3"], grads["b3"] = L["affine_backward"](dscores, c3)
    da2 = L["pool_backward"](dp2, cp)
    dh2 = L["relu_backward"](da2, r2)
    da1, grads["W2"], grads["b2"] = L["conv_backward"](dh2, c2)
    dh1 = L["relu_backward"](da1, r1)
    _, grads["W1"], grads["b1"] = L["conv_backward"](dh1, c1)
    for name in ("W1", "W2", "W3"):
        loss += 0.5 * reg * np.sum(params[name] ** 2)
        grads[name] = grads[name] + reg * params[name]
    return loss, grads


def accuracy(params: dict, X: np.ndarray, y: np.ndarray, L: dict) -> float:
    """Fraction of X classified as y."""
    return float(np.mean(np.argmax(loss_and_grads(params, X, None, L), axis=1) == y))


def shift_images(X: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """X (N, C, H, W), image n moved down by dy[n] and right by dx[n] pixels; zeros fill in."""
    N, C, H, W = X.shape
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(X, ((0, 0), (0, 0), (s, s), (s, s)))  # (N, C, H + 2s, W + 2s)
    out = np.empty_like(X)
    for n in range(N):
        top, left = s - int(dy[n]), s - int(dx[n])
        out[n] = padded[n, :, top : top + H, left : left + W]
    return out


def train(
    epochs: int = EPOCHS, seed: int = SEED, verbose: bool = True, shift: int = 0
) -> tuple[dict, dict]:
    """Train from scratch (digits moved by up to shift pixels); returns (params, stats)."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift <= 3:
        raise ValueError(f"shift must be an int from 0 to 3 (pixels); got {shift!r}")
    L = layers()
    data = load_digits(seed=0)
    X, y = data["X_train"], data["y_train"]
    params = init_params(seed)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        for start in range(0, len(X), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            X_batch = X[batch]  # (B, 1, 8, 8)
            if shift:
                dy, dx = rng.integers(-shift, shift + 1, size=(2, len(batch)))
                X_batch = shift_images(X_batch, dy, dx)
            loss, grads = loss_and_grads(params, X_batch, y[batch], L)
            for name in params:
                velocity[name] = MOMENTUM * velocity[name] - LEARNING_RATE * grads[name]
                params[name] += velocity[name]
        if verbose:
            val = accuracy(params, data["X_val"], data["y_val"], L)
            print(f"epoch {epoch:2d}: last batch loss {loss:.3f}, val accuracy {val:.3f}")
    stats = {
        name: accuracy(params, data[f"X_{name}"], data[f"y_{name}"], L)
        for name in ("train", "val", "test")
    }
    return params, stats


def save(path: str | Path, params: dict, stats: dict, shift: int = 0) -> Path:
    """Write the weights and metadata (accuracies, architecture, seed, epochs) to an .npz file."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz; got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {f"{name}_accuracy": np.float64(value) for name, value in stats.items()}
    np.savez(
        path,
        **params,
        **meta,
        architecture=np.str_(ARCHITECTURE),
        shift=np.int64(shift),
        seed=np.int64(SEED),
        epochs=np.int64(EPOCHS),
    )
    return path


def main(argv: list[str] | None = None) -> Path:
    """Command line: train, print the accuracies and write the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="where to write the .npz")
    parser.add_argument(
        "--shift", type=int, default=0, help="move training digits by up to this many pixels"
    )
    args = parser.parse_args(argv)
    out = args.out or (SHIFTED_OUT if args.shift else DEFAULT_OUT)
    started = time.perf_counter()
    params, stats = train(shift=args.shift)
    path = save(out, params, stats, shift=args.shift)
    print(
        f"train {stats['train']:.4f}  val {stats['val']:.4f}  test {stats['test']:.4f}  "
        f"({time.perf_counter() - started:.1f} s) -> {path}"
    )
    return path


if __name__ == "__main__":
    main()

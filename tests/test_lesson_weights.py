"""Lesson 05's shipped weights: the script makes them, and they are as accurate as stated."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from helpers.data import load_digits
from instructor.paths import ROOT
from instructor.train_lesson_convnet import save, train

SHIPPED = ROOT / "notebooks" / "weights" / "digits_convnet.npz"
SHAPES = {
    "W1": (8, 1, 3, 3), "b1": (8,), "W2": (16, 8, 3, 3), "b2": (16,), "W3": (256, 10), "b3": (10,),
}  # fmt: skip
META = ("train_accuracy", "val_accuracy", "test_accuracy", "architecture", "seed", "epochs")


@pytest.fixture(scope="module")
def shipped():
    with np.load(SHIPPED) as f:
        return {name: f[name] for name in f.files}


def forward(params, X):
    """Class scores (N, 10) for X (N, 1, 8, 8), written independently of the course's layers."""

    def conv_relu(x, w, b):
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # (N, C, H + 2, W + 2)
        out = np.concatenate(
            [signal.correlate(xp, w[f][None], mode="valid") + b[f] for f in range(len(w))], axis=1
        )  # (N, F, H, W)
        return np.maximum(out, 0)

    a1 = conv_relu(X, params["W1"], params["b1"])  # (N, 8, 8, 8)
    a2 = conv_relu(a1, params["W2"], params["b2"])  # (N, 16, 8, 8)
    N, C, H, W = a2.shape
    pooled = a2.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))  # (N, 16, 4, 4)
    return pooled.reshape(N, -1) @ params["W3"] + params["b3"]  # (N, 10)


def test_shipped_file_is_small_and_holds_the_weights_and_their_story(shipped):
    size = SHIPPED.stat().st_size
    assert size < 200_000, f"{SHIPPED.name} is {size} bytes; it must stay under 200 KB"
    assert set(shipped) == set(SHAPES) | set(META), f"unexpected keys {sorted(shipped)}"
    for name, shape in SHAPES.items():
        assert shipped[name].shape == shape, f"{name} has shape {shipped[name].shape}, not {shape}"
        assert np.all(np.isfinite(shipped[name])), f"{name} holds nan or inf"
    architecture = str(shipped["architecture"])
    assert architecture.count("conv(3x3") == 2 and "max pool(2x2" in architecture, architecture


def test_training_script_reproduces_the_shipped_weights(tmp_path, shipped):
    out = tmp_path / "retrained.npz"
    result = subprocess.run(
        [sys.executable, "-m", "instructor.train_lesson_convnet", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"training failed:\n{result.stderr[-3000:]}"
    assert "test" in result.stdout and str(out) in result.stdout, result.stdout[-1000:]
    with np.load(out) as f:
        retrained = {name: f[name] for name in f.files}
    assert set(retrained) == set(shipped)
    for name in SHAPES:
        np.testing.assert_allclose(
            retrained[name], shipped[name], rtol=1e-6, atol=1e-8,
            err_msg=f"retrained {name} differs from the shipped one: rerun the script and commit",
        )  # fmt: skip
    for name in META:
        assert retrained[name] == shipped[name], f"{name}: {retrained[name]} != {shipped[name]}"


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shipped_weights_reach_the_stated_accuracy(shipped, split):
    data = load_digits(seed=0)
    X, y = data[f"X_{split}"], data[f"y_{split}"]
    accuracy = np.mean(forward(shipped, X).argmax(axis=1) == y)
    stated = float(shipped[f"{split}_accuracy"])
    assert abs(accuracy - stated) < 0.5 / len(y), (
        f"{split} accuracy by an independent forward pass is {accuracy:.4f}; the file states "
        f"{stated:.4f}"
    )
    assert accuracy >= 0.95, f"{split} accuracy {accuracy:.4f} is below 95%"


def test_independent_forward_sees_what_an_untrained_net_does_not(shipped):
    data = load_digits(seed=0)
    shuffled = {name: np.random.default_rng(0).permutation(v.ravel()).reshape(v.shape)
                for name, v in shipped.items() if name in SHAPES}  # fmt: skip
    accuracy = np.mean(forward(shuffled, data["X_test"]).argmax(axis=1) == data["y_test"])
    assert accuracy < 0.5, f"shuffled weights still score {accuracy:.3f}: the forward pass is blind"


def test_script_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(epochs=0)
    with pytest.raises(ValueError, match=r"path must end in \.npz"):
        save(tmp_path / "weights.txt", {}, {})

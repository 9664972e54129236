"""Lesson 05's shipped weights: the script makes them, and they are as accurate as stated."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from helpers.data import load_digits
from instructor.paths import ROOT
from instructor.train_lesson_convnet import save, shift_images, train

WEIGHTS = ROOT / "notebooks" / "weights"
SHIFTS = {"digits_convnet.npz": 0, "digits_convnet_shifted.npz": 1}  # file -> training shift
SHAPES = {
    "W1": (8, 1, 3, 3), "b1": (8,), "W2": (16, 8, 3, 3), "b2": (16,), "W3": (256, 10), "b3": (10,),
}  # fmt: skip
META = ("train_accuracy", "val_accuracy", "test_accuracy", "architecture", "seed", "epochs",
        "shift")  # fmt: skip
ONE_PIXEL = [(1, 0), (-1, 0), (0, 1), (0, -1)]  # (down, right)


def load(name):
    with np.load(WEIGHTS / name) as f:
        return {key: f[key] for key in f.files}


@pytest.fixture(scope="module", params=sorted(SHIFTS))
def shipped(request):
    return request.param, load(request.param)


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


def shifted_accuracy(params, X, y):
    """Mean accuracy over the four one-pixel shifts of X (zeros fill in)."""
    accuracies = []
    for dy, dx in ONE_PIXEL:
        moved = shift_images(X, np.full(len(X), dy), np.full(len(X), dx))
        accuracies.append(np.mean(forward(params, moved).argmax(axis=1) == y))
    return float(np.mean(accuracies))


def test_shipped_files_are_small_and_hold_the_weights_and_their_story(shipped):
    name, params = shipped
    size = (WEIGHTS / name).stat().st_size
    assert size < 200_000, f"{name} is {size} bytes; it must stay under 200 KB"
    assert set(params) == set(SHAPES) | set(META), f"unexpected keys {sorted(params)}"
    for key, shape in SHAPES.items():
        assert params[key].shape == shape, f"{key} has shape {params[key].shape}, not {shape}"
        assert np.all(np.isfinite(params[key])), f"{key} holds nan or inf"
    architecture = str(params["architecture"])
    assert architecture.count("conv(3x3") == 2 and "max pool(2x2" in architecture, architecture
    assert int(params["shift"]) == SHIFTS[name], f"{name} states shift {params['shift']}"


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_training_script_reproduces_the_shipped_weights(tmp_path, name):
    shipped = load(name)
    out = tmp_path / name
    command = [sys.executable, "-m", "instructor.train_lesson_convnet", "--out", str(out)]
    command += ["--shift", str(SHIFTS[name])]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"training failed:\n{result.stderr[-3000:]}"
    assert "test" in result.stdout and str(out) in result.stdout, result.stdout[-1000:]
    with np.load(out) as f:
        retrained = {key: f[key] for key in f.files}
    assert set(retrained) == set(shipped)
    for key in SHAPES:
        np.testing.assert_allclose(
            retrained[key], shipped[key], rtol=1e-6, atol=1e-8,
            err_msg=f"retrained {key} of {name} differs from the shipped one: rerun the script",
        )  # fmt: skip
    for key in META:
        assert retrained[key] == shipped[key], f"{key}: {retrained[key]} != {shipped[key]}"


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shipped_weights_reach_the_stated_accuracy(shipped, split):
    name, params = shipped
    data = load_digits(seed=0)
    X, y = data[f"X_{split}"], data[f"y_{split}"]
    accuracy = np.mean(forward(params, X).argmax(axis=1) == y)
    stated = float(params[f"{split}_accuracy"])
    assert abs(accuracy - stated) < 0.5 / len(y), (
        f"{name}: {split} accuracy by an independent forward pass is {accuracy:.4f}; the file "
        f"states {stated:.4f}"
    )
    assert accuracy >= 0.95, f"{name}: {split} accuracy {accuracy:.4f} is below 95%"


def test_training_on_shifted_digits_is_what_makes_the_net_tolerate_shifts():
    data = load_digits(seed=0)
    X, y = data["X_test"], data["y_test"]
    plain, shifted = load("digits_convnet.npz"), load("digits_convnet_shifted.npz")
    plain_moved, shifted_moved = shifted_accuracy(plain, X, y), shifted_accuracy(shifted, X, y)
    assert plain_moved < 0.8, f"the plain net keeps {plain_moved:.3f} on one-pixel shifts"
    assert shifted_moved > 0.9 and shifted_moved > plain_moved + 0.2, (
        f"trained on shifts: {shifted_moved:.3f} on one-pixel shifts, plain: {plain_moved:.3f}"
    )


def test_shift_images_moves_each_image_and_fills_with_zeros():
    X = np.arange(2 * 9.0).reshape(2, 1, 3, 3)
    out = shift_images(X, np.array([1, 0]), np.array([0, -1]))
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 0], [0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(out[1, 0], [[10, 11, 0], [13, 14, 0], [16, 17, 0]])


def test_independent_forward_sees_what_an_untrained_net_does_not():
    data = load_digits(seed=0)
    params = load("digits_convnet.npz")
    shuffled = {key: np.random.default_rng(0).permutation(v.ravel()).reshape(v.shape)
                for key, v in params.items() if key in SHAPES}  # fmt: skip
    accuracy = np.mean(forward(shuffled, data["X_test"]).argmax(axis=1) == data["y_test"])
    assert accuracy < 0.5, f"shuffled weights still score {accuracy:.3f}: the forward pass is blind"


def test_script_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(epochs=0)
    with pytest.raises(ValueError, match="shift must be an int from 0 to 3"):
        train(shift=-1)
    with pytest.raises(ValueError, match=r"path must end in \.npz"):
        save(tmp_path / "weights.txt", {}, {})

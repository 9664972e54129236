"""helpers.data: digits split, normalisation, sample photos, CIFAR-10 batches."""

import pickle
from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from helpers.data import (
    _resize,
    channel_stats,
    image_names,
    load_cifar10,
    load_digits,
    load_image,
    load_sample_images,
    normalize,
)

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def sk_digits():
    return sk_load_digits()


def test_digits_shapes_dtypes_ranges(digits):
    assert set(digits) == {f"{p}_{s}" for p in "Xy" for s in SPLITS}
    for s in SPLITS:
        X, y = digits[f"X_{s}"], digits[f"y_{s}"]
        assert X.ndim == 4 and X.shape[1:] == (1, 8, 8) and X.dtype == np.float64
        assert y.shape == (X.shape[0],) and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
    X_all = np.concatenate([digits[f"X_{s}"] for s in SPLITS])
    assert X_all.min() == 0.0 and X_all.max() == 1.0  # the full [0, 1] range is used


def test_digits_splits_are_disjoint_and_cover_sklearn(digits, sk_digits):
    # Each image with its label as a hashable row: together the splits hold every sklearn sample
    # exactly as often as sklearn does (so no sample is lost or used in two splits).
    def rows(X, y):
        pixels = np.round(X.reshape(len(X), -1) * 16).astype(int)
        return Counter(tuple(p) + (int(t),) for p, t in zip(pixels, y, strict=True))

    split_rows = [rows(digits[f"X_{s}"], digits[f"y_{s}"]) for s in SPLITS]
    assert sum(split_rows, Counter()) == rows(sk_digits.images / 16.0, sk_digits.target)
    assert sum(len(digits[f"y_{s}"]) for s in SPLITS) == len(sk_digits.target) == 1797


def test_digits_split_is_stratified_60_20_20(digits, sk_digits):
    totals = np.bincount(sk_digits.target)
    for s, frac in zip(SPLITS, (0.6, 0.2, 0.2), strict=True):
        counts = np.bincount(digits[f"y_{s}"], minlength=10)
        assert np.all(np.abs(counts - frac * totals) <= 1), (s, counts, frac * totals)


def test_digits_are_deterministic_per_seed(digits):
    again = load_digits(seed=0)
    assert all(np.array_equal(digits[k], again[k]) for k in digits)
    other = load_digits(seed=1)
    assert not np.array_equal(digits["y_train"], other["y_train"])
    assert other["X_train"].shape == digits["X_train"].shape


def test_digits_returns_fresh_arrays():
    first = load_digits()
    first["X_train"][:] = -1.0
    assert load_digits()["X_train"].min() >= 0.0


def test_digits_seed_validation():
    for bad in (-1, 1.5, "0", True, None):
        with pytest.raises(TypeError, match="seed must be a non-negative integer"):
            load_digits(seed=bad)


def test_channel_stats_matches_a_loop():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[[[[1.0]], [[-2.0]], [[5.0]]]], scale=3.0, size=(10, 3, 4, 5))
    mean, std = channel_stats(X)
    assert mean.shape == std.shape == (1, 3, 1, 1)
    for c in range(3):
        assert mean[0, c, 0, 0] == pytest.approx(X[:, c].mean())
        assert std[0, c, 0, 0] == pytest.approx(X[:, c].std())


def test_normalize_gives_zero_mean_unit_std(digits):
    X = load_sample_images((16, 16))
    mean, std = channel_stats(X)
    Z = normalize(X, mean, std)
    assert Z.shape == X.shape and Z.dtype == np.float64
    m2, s2 = channel_stats(Z)
    assert np.allclose(m2, 0.0, atol=1e-12) and np.allclose(s2, 1.0)
    assert np.allclose(normalize(X, mean.ravel(), std.ravel()), Z)  # (C,) also accepted


def test_normalization_errors_name_the_argument():
    X = np.ones((2, 3, 4, 4))
    cases = [
        (lambda: channel_stats(np.ones((3, 4, 4))), ValueError, r"X must have shape \(N, C,"),
        (lambda: channel_stats([1.0]), TypeError, "X must be a numpy array"),
        (lambda: channel_stats(np.full((1, 1, 2, 2), np.nan)), ValueError, "X must contain"),
        (lambda: normalize(X, np.zeros((1, 2, 1, 1)), np.ones(3)), ValueError,
         r"mean must have shape \(1, 3, 1, 1\)"),
        (lambda: normalize(X, np.zeros(3), np.array([1.0, 0.0, 1.0])), ValueError,
         r"std must be positive.*\[1\]"),
        (lambda: normalize(X, "a", np.ones(3)), TypeError, "mean must be"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_image_names():
    assert image_names() == ["china", "flower", "grace_hopper"]


@pytest.mark.parametrize("name", ["china", "flower", "grace_hopper"])
def test_load_image(name):
    img = load_image(name)
    assert img.ndim == 3 and img.shape[0] == 3 and min(img.shape[1:]) > 100
    assert img.dtype == np.float64 and img.min() >= 0.0 and img.max() <= 1.0
    assert img.std() > 0.05  # a real photo, not a blank
    small = load_image(name, size=(24, 40))
    assert small.shape == (3, 24, 40) and small.min() >= 0.0 and small.max() <= 1.0
    assert small.mean() == pytest.approx(img.mean(), abs=1e-9)  # area averaging keeps the mean


def test_load_image_returns_fresh_arrays():
    img = load_image("china")
    img[:] = 0.0
    assert load_image("china").max() > 0.0


def test_resize_is_a_block_mean_for_integer_factors():
    img = np.random.default_rng(0).random((2, 6, 9))
    expected = img.reshape(2, 3, 2, 3, 3).mean(axis=(2, 4))  # 2x3 blocks
    assert np.allclose(_resize(img, (3, 3)), expected)
    assert np.allclose(_resize(img, (6, 9)), img)
    assert np.allclose(_resize(np.full((1, 5, 7), 0.3), (11, 2)), 0.3)


def test_load_sample_images():
    X = load_sample_images(size=(16, 20))
    assert X.shape == (3, 3, 16, 20) and X.dtype == np.float64
    assert np.allclose(X[2], load_image("grace_hopper", (16, 20)))


def test_image_errors_name_the_argument():
    cases = [
        (lambda: load_image("lena"), ValueError, "name must be one of"),
        (lambda: load_image(3), ValueError, "name must be one of"),
        (lambda: load_image("china", size=(0, 5)), ValueError, "size must be a pair"),
        (lambda: load_image("china", size=32), ValueError, "size must be a pair"),
        (lambda: load_sample_images(size=None), ValueError, "size must be a pair"),
        (lambda: load_sample_images(size=(8.0, 8)), ValueError, "size must be a pair"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def write_fake_cifar(folder, n_train=4, n_test=3, seed=0):
    """Write data_batch_1..5 and test_batch in the CIFAR-10 python format; return the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else n_train
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{k}.png".encode() for k in range(n)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        written[name] = (data, labels)
    return written


def test_load_cifar10_reads_the_python_batches(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    written = write_fake_cifar(root)
    d = load_cifar10(root)
    assert d["X_train"].shape == (20, 3, 32, 32) and d["X_train"].dtype == np.uint8
    assert d["y_train"].shape == (20,) and d["y_train"].dtype == np.int64
    assert d["X_test"].shape == (3, 3, 32, 32) and d["y_test"].dtype == np.int64
    assert len(d["classes"]) == 10 and d["classes"][0] == "airplane"
    data3, labels3 = written["data_batch_3"]
    # row layout: 1024 red values, then green, then blue, each row-major 32x32
    k, c, r, col = 1, 2, 5, 7
    assert d["X_train"][8 + k, c, r, col] == data3[k, c * 1024 + r * 32 + col]
    assert d["y_train"][8:12].tolist() == labels3
    assert d["y_test"].tolist() == written["test_batch"][1]
    assert np.array_equal(load_cifar10(str(tmp_path))["X_test"], d["X_test"])  # parent folder


def test_load_cifar10_missing_file_names_the_path(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    write_fake_cifar(root)
    (root / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(root)
    message = str(info.value)
    assert str(root / "data_batch_3") in message
    assert "CIFAR-10 python version" in message and "cifar-10-batches-py" in message
    assert "cs.toronto.edu" in message


def test_load_cifar10_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="root must be a folder path"):
        load_cifar10(42)


def test_load_cifar10_rejects_malformed_batches(tmp_path):
    root = tmp_path / "c"
    write_fake_cifar(root)
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"test_batch.*shape \(n, 3072\)"):
        load_cifar10(root)
    (root / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch is not a CIFAR-10 python batch"):
        load_cifar10(root)

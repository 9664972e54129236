"""Small offline datasets: sklearn's 8x8 digits, sample photos, and CIFAR-10 from local files.

Photos come from scikit-learn ("china", "flower") and matplotlib's sample data ("grace_hopper").
Resizing averages the input area under each output pixel (a box filter, like OpenCV's INTER_AREA):
shrinking does not alias and keeps the mean; enlarging repeats pixels with blended borders.
CIFAR-10 is read from the standard python batches (pickles: load only files you trust); get them
from https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-10 python version").
"""

import functools
import numbers
import pickle
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "channel_stats",
    "image_names",
    "load_cifar10",
    "load_digits",
    "load_image",
    "load_sample_images",
    "normalize",
]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
_SPLIT = (0.6, 0.2, 0.2)  # train / val / test fractions, applied per class
_IMAGES = {
    "china": ("sklearn", "china.jpg"),
    "flower": ("sklearn", "flower.jpg"),
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
}


def _check_seed(seed):
    """Raise unless seed is a non-negative integer; return it as int."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _sklearn_file(*parts) -> Path:
    """A data file shipped inside the installed scikit-learn, found without importing it (an
    import of sklearn.datasets takes more than a second; reading the file, a few ms)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.origin:
        raise FileNotFoundError("scikit-learn is not installed: run `make lab` to set up .venv")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed scikit-learn")
    return path


@functools.lru_cache(maxsize=1)
def _raw_digits():
    """sklearn's 1797 digits as (X (N, 1, 8, 8) float64 in [0, 1], y (N,) int64), read-only."""
    table = np.loadtxt(_sklearn_file("datasets", "data", "digits.csv.gz"), delimiter=",")
    X = (table[:, :64] / 16.0).reshape(-1, 1, 8, 8)  # (1797, 1, 8, 8)
    y = table[:, 64].astype(np.int64)  # (1797,)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _stratified_split(y, seed):
    """Index arrays (train, val, test): each class split 60/20/20 after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_train = int(round(_SPLIT[0] * len(idx)))
        n_val = int(round(_SPLIT[1] * len(idx)))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train:n_train + n_val])
        parts[2].append(idx[n_train + n_val:])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def load_digits(seed=0):
    """Digits split 60/20/20 per class: dict X_* (N, 1, 8, 8) float64 in [0, 1], y_* (N,) int64."""
    seed = _check_seed(seed)
    X, y = _raw_digits()
    train, val, test = _stratified_split(y, seed)
    out = {}
    for split, idx in (("train", train), ("val", val), ("test", test)):
        out[f"X_{split}"] = X[idx].copy()  # (N, 1, 8, 8)
        out[f"y_{split}"] = y[idx].copy()  # (N,)
    return out


def _check_nchw(X, name):
    """Raise unless X is a non-empty real (N, C, H, W) array; return it as an ndarray."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(X).__name__}")
    if X.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W); got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if X.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {X.shape}")
    return X


def channel_stats(X):
    """Per-channel mean and std of X (N, C, H, W): each (1, C, 1, 1) float64."""
    X = _check_nchw(X, "X").astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError("X must contain only finite numbers; it contains nan or inf")
    mean = X.mean(axis=(0, 2, 3), keepdims=True)  # (1, C, 1, 1)
    std = X.std(axis=(0, 2, 3), keepdims=True)  # (1, C, 1, 1)
    return mean, std


def _check_stat(v, name, C):
    """Return v as a (1, C, 1, 1) float64 array, or raise naming the argument."""
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers; got {type(v).__name__}") from e
    if arr.shape not in ((1, C, 1, 1), (C,)):
        raise ValueError(
            f"{name} must have shape (1, {C}, 1, 1) or ({C},) to match X's {C} channels; "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers; got {arr.ravel()}")
    return arr.reshape(1, C, 1, 1)


def normalize(X, mean, std):
    """(X - mean) / std per channel; X (N, C, H, W), mean and std (1, C, 1, 1): float64."""
    X = _check_nchw(X, "X")
    C = X.shape[1]
    mean = _check_stat(mean, "mean", C)
    std = _check_stat(std, "std", C)
    if np.any(std <= 0):
        bad = [int(c) for c in np.flatnonzero(std.ravel() <= 0)]
        raise ValueError(f"std must be positive in every channel; channel(s) {bad} are not")
    return (X.astype(np.float64) - mean) / std  # (N, C, H, W)


def image_names():
    """Names accepted by load_image: list of str."""
    return list(_IMAGES)


@functools.cache
def _raw_image(name):
    """The named photo as (3, H, W) float64 in [0, 1], read-only."""
    import matplotlib.cbook
    import matplotlib.image

    source, filename = _IMAGES[name]
    if source == "sklearn":
        rgb = matplotlib.image.imread(_sklearn_file("datasets", "images", filename))  # (H, W, 3)
    else:
        with matplotlib.cbook.get_sample_data(filename) as f:
            rgb = matplotlib.image.imread(f, format="jpg")  # (H, W, 3) uint8
    img = np.ascontiguousarray(np.asarray(rgb)[..., :3].transpose(2, 0, 1))  # (3, H, W)
    img = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    img.flags.writeable = False
    return img


def _area_weights(n_in, n_out):
    """(n_out, n_in) matrix: row i averages the input cells covered by output cell i."""
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output cell borders in input coordinates
    lo, hi = edges[:-1, None], edges[1:, None]  # (n_out, 1)
    j = np.arange(n_in)[None, :]  # (1, n_in)
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)  # (n_out, n_in)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _resize(img, size):
    """Resize (C, H, W) to (C, *size) by area averaging (box filter); values stay in range."""
    H2, W2 = size
    A = _area_weights(img.shape[1], H2)  # (H2, H)
    B = _area_weights(img.shape[2], W2)  # (W2, W)
    return A @ img @ B.T  # (H2, H) @ (C, H, W) @ (W, W2) -> (C, H2, W2)


def _check_size(size, name="size"):
    """Return size as a pair of positive ints, or raise naming the argument."""
    ok = (
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
        and all(s > 0 for s in size)
    )
    if not ok:
        raise ValueError(f"{name} must be a pair of positive integers (H, W); got {size!r}")
    return int(size[0]), int(size[1])


def load_image(name, size=None):
    """Photo `name` (see image_names()) as (3, H, W) float64 in [0, 1]; size=(H, W) resizes."""
    if not isinstance(name, str) or name not in _IMAGES:
        raise ValueError(f"name must be one of {image_names()}; got {name!r}")
    img = _raw_image(name)
    if size is None:
        return img.copy()
    return np.clip(_resize(img, _check_size(size)), 0.0, 1.0)


def load_sample_images(size=(64, 64)):
    """All sample photos, in image_names() order, resized to size=(H, W): (N, 3, H, W) float64."""
    size = _check_size(size)
    return np.stack([load_image(n, size) for n in image_names()])  # (N, 3, H, W)


def _missing(path):
    """FileNotFoundError naming path and explaining how to get CIFAR-10."""
    return FileNotFoundError(
        f"CIFAR-10 file not found: {path}\n"
        f"Download the 'CIFAR-10 python version' (cifar-10-python.tar.gz) from {CIFAR10_URL}, "
        "extract it (tar -xzf cifar-10-python.tar.gz) and pass the extracted folder "
        "cifar-10-batches-py as root, e.g. load_cifar10('data/cifar-10-batches-py')."
    )


def _read_batch(path):
    """One CIFAR-10 python batch: X (n, 3, 32, 32) uint8, y (n,) int64."""
    if not path.is_file():
        raise _missing(path)
    with open(path, "rb") as f:
        try:
            batch = pickle.load(f, encoding="bytes")
        except Exception as e:
            raise ValueError(f"{path} is not a CIFAR-10 python batch (cannot unpickle it)") from e
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch (no b'data' / b'labels' keys)")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{path}: b'data' must be a uint8 array of shape (n, 3072); "
            f"got {data.dtype} with shape {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise ValueError(
            f"{path}: b'labels' must hold one label per image ({data.shape[0]}); "
            f"got {labels.shape[0] if labels.ndim else 'a scalar'}"
        )
    return data.reshape(-1, 3, 32, 32), labels  # rows are 1024 red, 1024 green, 1024 blue


def load_cifar10(root):
    """CIFAR-10 batches in root (or root/cifar-10-batches-py): X_* (N, 3, 32, 32) uint8, y_* int64.

    Returns dict X_train (50000, 3, 32, 32), y_train (50000,), X_test (10000, 3, 32, 32),
    y_test (10000,) and classes (the 10 class names).
    """
    if not isinstance(root, str | Path):
        raise TypeError(f"root must be a folder path (str or Path); got {type(root).__name__}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise _missing(root)
    if (root / "cifar-10-batches-py").is_dir() and not (root / "test_batch").exists():
        root = root / "cifar-10-batches-py"
    train = [_read_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    X_test, y_test = _read_batch(root / "test_batch")
    return {
        "X_train": np.concatenate([X for X, _ in train]),  # (50000, 3, 32, 32)
        "y_train": np.concatenate([y for _, y in train]),  # (50000,)
        "X_test": X_test,  # (10000, 3, 32, 32)
        "y_test": y_test,  # (10000,)
        "classes": list(CIFAR10_CLASSES),
    }

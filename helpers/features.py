"""First-layer features learned from photo patches: sampling, whitening, k-means, and measures.

    patches = random_patches(photos, size=8, n=5000, seed=0)       # (M, 3, 8, 8)
    filters = learn_filters(patches, k=64, seed=0)                   # (64, 3, 8, 8)
    orientation_index(filters), colour_share(filters)                # (64,) each, in [0, 1]

learn_filters follows Coates, Lee and Ng (2011): normalise each patch (brightness and contrast),
whiten the patches (ZCA), and run spherical k-means; the centroids are the filters.
"""

import numbers

import numpy as np

__all__ = [
    "colour_share",
    "learn_filters",
    "matched_noise",
    "orientation_index",
    "random_patches",
]


def _check_int(value, name, minimum):
    """Return value as int, or raise naming the argument when it is not an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _check_patches(patches, name="patches", least=2):
    """Return patches as a finite float64 array (M, C, P, P), or raise naming the problem."""
    arr = np.asarray(patches, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[2] != arr.shape[3] or len(arr) < least:
        raise ValueError(f"{name} must have shape (M, C, P, P) with M >= {least}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite numbers")
    return arr


def random_patches(photos, size=8, n=5000, seed=0):
    """n square patches of side size from each photo (C, H, W), at random places: (M, C, P, P)."""
    size, n, seed = _check_int(size, "size", 1), _check_int(n, "n", 1), _check_int(seed, "seed", 0)
    if not isinstance(photos, list | tuple) or not photos:
        raise ValueError("photos must be a non-empty list of (C, H, W) arrays")
    rng = np.random.default_rng(seed)
    found = []
    for photo in photos:
        photo = np.asarray(photo, dtype=np.float64)
        if photo.ndim != 3 or min(photo.shape[1:]) < size:
            raise ValueError(f"each photo must be (C, H, W) with H, W >= {size}; got {photo.shape}")
        rows = rng.integers(0, photo.shape[1] - size + 1, n)
        cols = rng.integers(0, photo.shape[2] - size + 1, n)
        found.extend(photo[:, r : r + size, c : c + size] for r, c in zip(rows, cols, strict=True))
    return np.stack(found)  # (M, C, size, size)


def _normalise(X):
    """Each row minus its mean, divided by its standard deviation (plus a little): (M, D)."""
    X = X - X.mean(axis=1, keepdims=True)
    return X / np.sqrt(X.var(axis=1, keepdims=True) + 0.01)


def learn_filters(patches, k=64, iterations=10, seed=0, eps=0.1):
    """k filters (k, C, P, P) of unit length: spherical k-means on normalised, whitened patches."""
    X = _check_patches(patches)
    k = _check_int(k, "k", 1)
    iterations, seed = _check_int(iterations, "iterations", 1), _check_int(seed, "seed", 0)
    M, C, P, _ = X.shape
    X = _normalise(X.reshape(M, -1))  # (M, D)
    X = X - X.mean(axis=0)
    values, vectors = np.linalg.eigh(X.T @ X / M)  # covariance (D, D)
    Z = X @ (vectors / np.sqrt(np.maximum(values, 0) + eps)) @ vectors.T  # ZCA-whitened (M, D)
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((k, Z.shape[1]))
    D /= np.linalg.norm(D, axis=1, keepdims=True)  # (k, D)
    rows = np.arange(M)
    for _ in range(iterations):
        S = Z @ D.T  # (M, k) similarities
        best = np.abs(S).argmax(axis=1)  # each patch joins its most similar centroid
        A = np.zeros_like(S)
        A[rows, best] = S[rows, best]
        D = A.T @ Z + 1e-6 * D  # a centroid with no patches keeps its direction
        D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D.reshape(k, C, P, P)


def matched_noise(patches, seed=0):
    """Gaussian noise patches with the mean and covariance of the normalised patches: (M, C, P, P).

    A control: the same pixel correlations (blur, colour) as the photos, nothing else.
    """
    X = _check_patches(patches)
    seed = _check_int(seed, "seed", 0)
    M = len(X)
    flat = _normalise(X.reshape(M, -1))  # (M, D)
    cov = np.cov(flat.T) + 1e-9 * np.eye(flat.shape[1])
    noise = np.random.default_rng(seed).standard_normal(flat.shape) @ np.linalg.cholesky(cov).T
    return (noise + flat.mean(axis=0)).reshape(X.shape)


def orientation_index(filters):
    """Per filter (F, C, P, P), how much of its grey-level energy lies along one orientation: (F,).

    1 for a pure edge or grating, 0 when the energy is spread over all orientations alike; from
    the 2-D power spectrum of the channel mean, |sum of power * exp(2i angle)| / sum of power.
    """
    F = _check_patches(filters, "filters", least=1)
    grey = F.mean(axis=1)  # (F, P, P)
    n = 4 * F.shape[2]
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey, s=(n, n)), axes=(1, 2))) ** 2  # (F, n, n)
    fy, fx = np.meshgrid(np.arange(n) - n // 2, np.arange(n) - n // 2, indexing="ij")
    phase = np.exp(2j * np.arctan2(fy, fx))
    total = power.sum(axis=(1, 2))
    return np.abs((power * phase).sum(axis=(1, 2))) / np.maximum(total, 1e-300)


def colour_share(filters):
    """Per filter (F, C, P, P), the share of its energy that differs between channels: (F,)."""
    F = _check_patches(filters, "filters", least=1)
    chroma = F - F.mean(axis=1, keepdims=True)
    return (chroma**2).sum(axis=(1, 2, 3)) / np.maximum((F**2).sum(axis=(1, 2, 3)), 1e-300)

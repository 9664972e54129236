"""helpers.features, and the claims lesson 05 makes with it: photo patches teach oriented edges
and colour blobs, noise with the same pixel correlations does not, for more than one seed."""

import numpy as np
import pytest

from helpers.data import image_names, load_image
from helpers.features import (
    colour_share,
    learn_filters,
    matched_noise,
    orientation_index,
    random_patches,
)


@pytest.fixture(scope="module")
def photos():
    """The shipped photos at a third of their size, as lesson 05 uses them."""
    found = []
    for name in image_names():
        full = load_image(name)
        found.append(load_image(name, size=(full.shape[1] // 3, full.shape[2] // 3)))
    return found


def _edge(angle, size=8):
    """A grey step edge through the middle of a size x size patch, at angle (radians)."""
    r = np.arange(size) - (size - 1) / 2
    y, x = np.meshgrid(r, r, indexing="ij")
    return np.sign(np.cos(angle) * x + np.sin(angle) * y)[None].repeat(3, axis=0)


def test_orientation_index_is_high_for_edges_and_low_for_isotropic_patterns():
    edges = np.stack([_edge(a) for a in np.linspace(0, np.pi, 5)])  # (5, 3, 8, 8)
    assert orientation_index(edges).min() > 0.5  # the window's borders spread some energy
    r = np.arange(8) - 3.5
    blob = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / 4)[None].repeat(3, axis=0)
    assert orientation_index(blob[None])[0] < 0.05


def test_colour_share_separates_grey_from_colour():
    grey = _edge(0.3)[None]
    red_green = np.zeros((1, 3, 8, 8))
    red_green[0, 0], red_green[0, 1] = 1.0, -1.0
    assert colour_share(grey)[0] < 1e-12 and colour_share(red_green)[0] > 0.99


@pytest.mark.parametrize("seed", [0, 1])
def test_photo_patches_give_oriented_and_colour_filters_and_matched_noise_does_not(photos, seed):
    patches = random_patches(photos, size=8, n=5000, seed=seed)
    assert patches.shape == (3 * 5000, 3, 8, 8)
    learned = learn_filters(patches, k=64, seed=seed)
    control = learn_filters(matched_noise(patches, seed=seed), k=64, seed=seed)
    assert learned.shape == (64, 3, 8, 8)
    np.testing.assert_allclose(np.linalg.norm(learned.reshape(64, -1), axis=1), 1.0)
    oriented, oriented_noise = orientation_index(learned), orientation_index(control)
    assert np.median(oriented) > 0.55 and np.median(oriented_noise) < 0.3, (
        np.median(oriented), np.median(oriented_noise))
    assert np.mean(oriented > 0.5) > 0.6 and np.mean(oriented_noise > 0.5) < 0.1
    colour, colour_noise = colour_share(learned), colour_share(control)
    assert np.mean(colour > 0.5) > 0.15 and np.mean(colour_noise > 0.5) < 0.1


def test_learning_is_reproducible():
    rng = np.random.default_rng(3)
    patches = rng.standard_normal((500, 3, 4, 4))
    np.testing.assert_array_equal(learn_filters(patches, k=8, seed=2),
                                  learn_filters(patches, k=8, seed=2))  # fmt: skip


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: random_patches([], 8, 10), "photos must be a non-empty list"),
        (lambda: random_patches([np.zeros((3, 5, 5))], 8, 10), "H, W >= 8"),
        (lambda: random_patches([np.zeros((3, 9, 9))], 0, 10), "size must be an int >= 1"),
        (lambda: learn_filters(np.zeros((10, 3, 4, 5))), r"shape \(M, C, P, P\)"),
        (lambda: learn_filters(np.zeros((10, 3, 4, 4)), k=0), "k must be an int >= 1"),
        (lambda: orientation_index(np.full((2, 3, 4, 4), np.nan)), "finite"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()

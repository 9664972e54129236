"""helpers.plots: figures build under Agg, are labelled, and validate inputs; coverage counts."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.plots import (
    PAD_COLOUR,
    WINDOW_COLOUR,
    coverage_map,
    filter_mosaic,
    plot_activation_maps,
    plot_coverage,
    plot_coverage_gallery,
    plot_filters,
    plot_images,
    plot_maps,
    plot_patches,
    plot_sliding_window,
    plot_templates,
    plot_training_curves,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def titles(fig):
    """Suptitle and all axes titles of fig."""
    found = [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]
    return [t for t in found if t]


def colourbar_labels(fig):
    """Labels of the axes that look like colour bars (label on the y axis, no title)."""
    return [ax.get_ylabel() for ax in fig.axes if not ax.get_title() and ax.get_ylabel()]


def brute_force_coverage(H, W, F, stride, pad):
    """Count windows touching each pixel by walking every window over the padded input."""
    counts = np.zeros((H, W), dtype=int)
    for top in range(-pad, H + pad - F + 1, stride):
        for left in range(-pad, W + pad - F + 1, stride):
            for r in range(top, top + F):
                for c in range(left, left + F):
                    if 0 <= r < H and 0 <= c < W:
                        counts[r, c] += 1
    return counts


def test_plot_images_grey_and_rgb():
    rng = np.random.default_rng(0)
    fig = plot_images(rng.random((5, 1, 8, 8)), labels=[3, 1, 4, 1, 5], ncols=3, title="digits")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "digits"
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["3", "1", "4", "1", "5"]
    assert len(fig.axes) == 6  # a 2 x 3 grid, one panel hidden
    fig = plot_images(rng.normal(size=(2, 3, 6, 6)))  # out-of-range values are rescaled
    assert isinstance(fig, Figure) and titles(fig)
    assert isinstance(plot_images(rng.random((3, 6, 6))), Figure)  # (N, H, W)


def test_plot_images_shows_uint8_and_out_of_range_values_in_display_range():
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, size=(2, 3, 4, 4), dtype=np.uint8)
    fig = plot_images(photos)
    shown = fig.axes[0].get_images()[0].get_array()
    assert np.allclose(shown, photos[0].transpose(1, 2, 0) / 255.0)
    normalised = rng.normal(size=(1, 1, 4, 4))
    shown = plot_images(normalised).axes[0].get_images()[0].get_array()
    assert shown.min() == 0.0 and shown.max() == 1.0
    assert np.allclose(shown, (normalised[0, 0] - normalised.min()) / np.ptp(normalised))


def test_plot_filters_rgb_and_grey():
    rng = np.random.default_rng(0)
    fig = plot_filters(rng.normal(size=(4, 3, 5, 5)), title="conv1")
    assert isinstance(fig, Figure) and "conv1" in fig.get_suptitle()
    fig = plot_filters(rng.normal(size=(6, 1, 3, 3)))
    assert "weight" in colourbar_labels(fig) and titles(fig)
    fig = plot_filters(rng.normal(size=(2, 4, 3, 3)))
    assert sum(ax.get_visible() and bool(ax.get_title()) for ax in fig.axes) == 8


def test_plot_activation_maps():
    fig = plot_activation_maps(np.random.default_rng(0).random((6, 8, 8)), ncols=4)
    assert isinstance(fig, Figure) and fig.get_suptitle()
    assert "activation" in colourbar_labels(fig)
    panel_titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert panel_titles == [f"channel {k}" for k in range(6)]


@pytest.mark.parametrize(
    "H, W, F, stride, pad",
    [(5, 5, 3, 1, 0), (5, 5, 3, 1, 1), (7, 7, 3, 2, 1), (8, 8, 3, 3, 0), (7, 6, 2, 3, 0),
     (6, 9, 4, 2, 2), (1, 1, 1, 1, 0), (4, 5, 5, 1, 1), (10, 7, 3, 4, 3)],
)
def test_coverage_map_matches_brute_force(H, W, F, stride, pad):
    counts = coverage_map(H, W, F, stride, pad)
    assert counts.shape == (H, W) and np.issubdtype(counts.dtype, np.integer)
    assert np.array_equal(counts, brute_force_coverage(H, W, F, stride, pad))


def test_coverage_map_known_cases():
    c = coverage_map(5, 5, 3, 1, 0)
    assert c[0, 0] == 1 and c[2, 2] == 9  # the corner is in one window, the centre in all nine
    c = coverage_map(5, 5, 3, 1, 1)
    assert c[0, 0] == 4  # zero padding lets four windows reach the corner
    c = coverage_map(7, 7, 2, 3, 0)  # stride larger than the window: gaps
    assert np.all(c[:, 2] == 0) and np.all(c[2, :] == 0) and c[0, 0] == 1
    c = coverage_map(8, 8, 3, 3, 0)  # windows do not fit evenly: the last two rows are dropped
    assert np.all(c[6:] == 0) and np.all(c[:6, :6] == 1)


def test_plot_sliding_window_draws_window_at_position():
    H, W, F, S, P = 5, 6, 3, 2, 1
    fig = plot_sliding_window(H, W, F, S, P, position=(1, 1))
    assert isinstance(fig, Figure)
    suptitle = fig.get_suptitle()
    assert "F=3" in suptitle and "stride=2" in suptitle and "pad=1" in suptitle
    ax = fig.axes[0]
    windows = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() == F
               and p.get_height() == F]
    assert len(windows) == 2  # the window and, dashed, the next one
    corners = sorted((x + 0.5, y + 0.5) for x, y in (w.get_xy() for w in windows))
    assert corners == [(1 * S, 1 * S), (2 * S, 1 * S)]  # padded coordinates: (j * S, i * S)
    cells = ax.get_images()[0].get_array()  # (H + 2P, W + 2P, 3)
    assert cells.shape[:2] == (H + 2 * P, W + 2 * P)
    is_pad = np.all(np.isclose(cells, to_rgb(PAD_COLOUR)), axis=-1)
    expected = np.ones((H + 2 * P, W + 2 * P), dtype=bool)
    expected[P:P + H, P:P + W] = False
    assert np.array_equal(is_pad, expected)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "zero padding" in legend and "input pixel" in legend
    assert ax.get_xlabel() and ax.get_ylabel()
    out = fig.axes[1].get_images()[0].get_array()  # (H', W', 3): the chosen pixel marked
    marked = np.argwhere(np.all(np.isclose(out, to_rgb(WINDOW_COLOUR)), axis=-1))
    assert out.shape[:2] == (3, 3) and marked.tolist() == [[1, 1]]
    assert fig.axes[1].get_title()


def test_plot_sliding_window_last_column_has_no_next_window():
    fig = plot_sliding_window(5, 5, 3, 1, 0, position=(2, 2))
    windows = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and p.get_width() == 3]
    assert len(windows) == 1
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "zero padding" not in legend  # pad = 0


def test_plot_coverage_marks_never_touched_pixels():
    H, W, F, stride, pad = 8, 8, 3, 3, 0
    fig = plot_coverage(H, W, F, stride, pad)
    assert isinstance(fig, Figure) and titles(fig)
    ax = fig.axes[0]
    hatched = [p for p in ax.patches if p.get_hatch()]
    missed = int(np.sum(coverage_map(H, W, F, stride, pad) == 0))
    assert missed > 0 and len(hatched) == missed
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "never touched" in legend and str(missed) in legend
    assert "windows touching the pixel" in colourbar_labels(fig)
    numbers = [t.get_text() for t in ax.texts]
    assert len(numbers) == H * W and numbers.count("0") == missed
    assert to_hex(hatched[0].get_edgecolor()) == WINDOW_COLOUR


def test_window_errors_name_the_argument():
    cases = [
        (lambda: coverage_map(5, 5, 7, 1, 0), ValueError, "F must fit"),
        (lambda: coverage_map(5, 5, 3, 0, 0), ValueError, "stride must be an integer >= 1"),
        (lambda: coverage_map(5, 5, 3, 1, -1), ValueError, "pad must be an integer >= 0"),
        (lambda: coverage_map(5.0, 5, 3, 1, 0), TypeError, "H must be an integer"),
        (lambda: coverage_map(5, 0, 3, 1, 0), ValueError, "W must be"),
        (lambda: plot_coverage(5, 5, True, 1, 0), TypeError, "F must be an integer"),
        (lambda: plot_sliding_window(5, 5, 3, 1, 0, position=(3, 0)), ValueError,
         r"position must be an output pixel.*3x3"),
        (lambda: plot_sliding_window(5, 5, 3, 1, 0, position=(0,)), TypeError, "position"),
        (lambda: plot_sliding_window(5, 5, 3, 1, 0, position=(0.0, 1)), TypeError, "position"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_plot_training_curves_separates_loss_and_accuracy():
    history = {"loss": [2.3, 1.5, 0.9, 0.7], "train_acc": [0.3, 0.6, 0.8],
               "val_acc": [0.3, 0.5, 0.7]}
    fig = plot_training_curves(history)
    assert isinstance(fig, Figure) and fig.get_suptitle()
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert [line.get_label() for line in loss_ax.get_lines()] == ["loss"]
    assert [line.get_label() for line in acc_ax.get_lines()] == ["train_acc", "val_acc"]
    assert list(loss_ax.get_lines()[0].get_ydata()) == history["loss"]
    assert loss_ax.get_xlabel() and acc_ax.get_xlabel()
    assert len(plot_training_curves({"loss": [1.0, 0.5]}).axes) == 1


def test_plot_errors_name_the_argument():
    rng = np.random.default_rng(0)
    cases = [
        (lambda: plot_images([1, 2]), TypeError, "images must be a numpy array"),
        (lambda: plot_images(rng.random((2, 2, 4, 4))), ValueError, "images must have 1"),
        (lambda: plot_images(rng.random((4, 4))), ValueError, "images must have shape"),
        (lambda: plot_images(rng.random((2, 4, 4)), labels=[1]), ValueError, "labels must"),
        (lambda: plot_images(rng.random((2, 4, 4)), ncols=0), ValueError, "ncols must"),
        (lambda: plot_images(rng.random((2, 4, 4)), title=3), TypeError, "title must"),
        (lambda: plot_images(np.full((1, 4, 4), np.nan)), ValueError, "images must contain"),
        (lambda: plot_filters(rng.random((2, 3, 3))), ValueError, r"w must have shape \(F, C"),
        (lambda: plot_activation_maps(rng.random((2, 3, 3, 3))), ValueError, "maps must have"),
        (lambda: plot_activation_maps(np.zeros((0, 3, 3))), ValueError, "maps must not be empty"),
        (lambda: plot_training_curves([1.0]), TypeError, "history must be a non-empty dict"),
        (lambda: plot_training_curves({}), TypeError, "history must be a non-empty dict"),
        (lambda: plot_training_curves({"loss": []}), ValueError, r"history\['loss'\]"),
        (lambda: plot_training_curves({"loss": ["a"]}), TypeError, r"history\['loss'\]"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_plot_maps_shared_and_separate_scales_and_photos():
    rng = np.random.default_rng(0)
    maps = {"a": rng.normal(size=(5, 6)), "b": 3 * rng.normal(size=(5, 6)),
            "photo": rng.random((3, 5, 6))}
    fig = plot_maps(maps, title="three")
    assert titles(fig)[:4] == ["three", "a", "b", "photo"]
    images = [ax.images[0] for ax in fig.axes if ax.get_title() in ("a", "b")]
    m = max(np.abs(maps["a"]).max(), np.abs(maps["b"]).max())
    assert all(im.get_clim() == pytest.approx((-m, m)) for im in images), "one symmetric scale"
    assert colourbar_labels(fig) == ["response"]
    fig = plot_maps({"a": maps["a"], "b": maps["b"]}, signed=False, shared=False, label="value")
    a, b = (ax.images[0] for ax in fig.axes if ax.get_title() in ("a", "b"))
    assert a.get_clim() == pytest.approx((maps["a"].min(), maps["a"].max()))
    assert b.get_clim() == pytest.approx((maps["b"].min(), maps["b"].max()))
    assert colourbar_labels(fig) == ["value", "value"]


def test_plot_maps_writes_values_and_takes_a_colour_map():
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    fig = plot_maps({"a": a, "mask": a > 0}, values=True, signed=False, cmap="Greens")
    panel = next(ax for ax in fig.axes if ax.get_title() == "a")
    assert sorted(t.get_text() for t in panel.texts) == ["-2", "0.5", "1", "3"]
    assert panel.images[0].get_cmap().name == "Greens"
    assert not plot_maps({"a": a}).axes[0].texts, "no values unless asked"


def test_plot_patches_one_row_per_channel_and_the_mean_last():
    patches = np.zeros((2, 3, 4, 4))
    patches[1] = 1.0
    patches[0, 0] = 0.9
    fig = plot_patches(patches, title="top", row_label="class")
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (2 * 5 - 1, 4 * 5 - 1)
    assert mosaic[0, 0] == pytest.approx(0.9) and mosaic[0, 15] == pytest.approx(0.3), "mean last"
    assert np.ma.is_masked(mosaic[4, 0]) or np.isnan(mosaic[4, 0]), "gaps between patches"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["class 0", "class 1"]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "mean"
    assert ax.get_title() == "top"


def test_filter_mosaic_puts_zero_at_grey_and_each_filter_in_its_place():
    filters = np.zeros((3, 3, 2, 2))
    filters[1, 0, 0, 0] = -4.0  # filter 1, red channel, top-left: the most negative
    out = filter_mosaic(filters, ncols=2)
    assert out.shape == (2 * 3 - 1, 2 * 3 - 1, 3)
    assert np.all(out[:2, :2] == 0.5), "an all-zero filter is grey"
    assert out[0, 3, 0] == 0.0 and out[0, 3, 1] == 0.5, "filter 1 sits right of filter 0"
    assert np.all(out[3:, 3:] == 1.0) and np.all(out[2] == 1.0), "gaps and the empty slot white"


def test_plot_templates_one_row_per_model_on_one_scale():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 6))
    fig = plot_templates({"model": w, "negated": -2 * w}, shape=(2, 3))
    panels = [ax for ax in fig.axes if ax.images and ax.images[0].get_array().shape == (2, 3)]
    assert len(panels) == 8
    m = 2 * np.abs(w).max()
    assert all(ax.images[0].get_clim() == pytest.approx((-m, m)) for ax in panels)
    assert [ax.get_title() for ax in panels[:4]] == ["class 0", "class 1", "class 2", "class 3"]
    assert colourbar_labels(fig)[-1] == "weight"


def test_plot_coverage_gallery_titles_and_counts():
    fig = plot_coverage_gallery([(7, 3, 3, 0), (5, 3, 1, 1)], ncols=2)
    assert titles(fig)[1:] == ["N=7 F=3 S=3 P=0: 2x2", "N=5 F=3 S=1 P=1: 5x5"]
    zeros = [t for t in fig.axes[0].texts if t.get_text() == "0"]
    assert len(zeros) == 13, "the 13 never-visited pixels are labelled 0"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: plot_maps([np.zeros((2, 2))]), TypeError, "maps must be a non-empty dict"),
        (lambda: plot_maps({}), TypeError, "maps must be a non-empty dict"),
        (lambda: plot_maps({1: np.zeros((2, 2))}), TypeError, "keys must be strings"),
        (lambda: plot_maps({"a": np.zeros((2, 2, 2))}), ValueError, "map \\(H, W\\) or a photo"),
        (lambda: plot_maps({"a": np.zeros(3)}), ValueError, "maps\\['a'\\] must have shape"),
        (lambda: plot_maps({"a": np.zeros((2, 2))}, signed="yes"), TypeError, "True or False"),
        (lambda: plot_templates({"m": np.zeros((2, 6))}, shape=(2, 2)), ValueError, "(K, H \\* W)"),
        (lambda: plot_templates({"m": np.zeros((2, 6))}, shape=6), TypeError, "pair of integers"),
        (lambda: plot_maps({"a": np.zeros((2, 2))}, values=1), TypeError, "values must be"),
        (lambda: plot_maps({"a": np.zeros((2, 2))}, cmap="nope"), ValueError, "colour map name"),
        (lambda: plot_patches(np.zeros((2, 3, 4, 5))), ValueError, "square"),
        (lambda: plot_patches(np.zeros((3, 4, 4))), ValueError, "\\(C, k, r, r\\)"),
        (lambda: filter_mosaic(np.zeros((2, 1, 3, 3))), ValueError, "\\(F, 3, P, P\\)"),
        (lambda: filter_mosaic(np.zeros((2, 3, 3, 3)), ncols=0), ValueError, "ncols"),
        (lambda: plot_coverage_gallery([]), TypeError, "non-empty list"),
        (lambda: plot_coverage_gallery([(7, 3, 1)]), TypeError, "tuple \\(N, F, S, P\\)"),
        (lambda: plot_coverage_gallery([(3, 5, 1, 0)]), ValueError, "F must fit"),
    ],
)
def test_new_plot_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()

"""Figures for the course: images, filters, maps, patches, sliding windows, training curves.

Every function returns a matplotlib Figure (made with pyplot, so it shows in notebooks by itself;
write `fig = plot_...(...)` or end the line with `;` to avoid a second copy as the cell's output).
plot_images shows uint8 images divided by 255 and rescales any other image with values outside
[0, 1] to [0, 1] on its own, so normalised data shows as it looks rather than as clipped numbers.
"""

import math
import numbers

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

__all__ = [
    "coverage_map",
    "plot_activation_maps",
    "plot_coverage",
    "filter_mosaic",
    "plot_coverage_gallery",
    "plot_filters",
    "plot_images",
    "plot_maps",
    "plot_patches",
    "plot_sliding_window",
    "plot_templates",
    "plot_training_curves",
]

PAD_COLOUR = "#d0d0d0"
INPUT_COLOUR = "#dbe9f6"
WINDOW_COLOUR = "#d62728"


def _check_int(v, name, minimum):
    """Return v as int, or raise naming the argument when it is not an int >= minimum."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {v}")
    return int(v)


def _check_array(a, name, ndims, shape_text):
    """Return a as a finite real ndarray with ndim in ndims, or raise naming the argument."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(a).__name__}")
    if a.ndim not in ndims:
        raise ValueError(f"{name} must have shape {shape_text}; got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)
            or a.dtype == np.bool_):
        raise TypeError(f"{name} must hold real numbers; got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {a.shape}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite numbers; it contains nan or inf")
    return a


def _check_title(title):
    """Raise unless title is None or a str."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None; got {type(title).__name__}")


def _check_window(H, W, F, stride, pad):
    """Validate window geometry; return (H, W, F, stride, pad, H_out, W_out)."""
    H = _check_int(H, "H", 1)
    W = _check_int(W, "W", 1)
    F = _check_int(F, "F", 1)
    stride = _check_int(stride, "stride", 1)
    pad = _check_int(pad, "pad", 0)
    if F > H + 2 * pad or F > W + 2 * pad:
        raise ValueError(
            f"F must fit in the padded input: F={F} but the padded input is "
            f"{H + 2 * pad}x{W + 2 * pad} (H={H}, W={W}, pad={pad})"
        )
    H_out = 1 + (H + 2 * pad - F) // stride
    W_out = 1 + (W + 2 * pad - F) // stride
    return H, W, F, stride, pad, H_out, W_out


def _grid(n, ncols, panel=1.4, extra_width=0.0):
    """Figure with n image panels on a grid of at most ncols columns; returns (fig, axes)."""
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel * ncols + extra_width, panel * nrows + 0.6), squeeze=False
    )
    axes = axes.ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _to_display(img):
    """(C, H, W) with C in {1, 3} -> (H, W) or (H, W, 3) in [0, 1]; rescales if out of range."""
    lo, hi = img.min(), img.max()
    if lo < 0 or hi > 1:
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)


def plot_images(images, labels=None, ncols=8, title=None):
    """Grid of images (N, C, H, W) with C in {1, 3}, or (N, H, W); labels: N captions."""
    is_uint8 = isinstance(images, np.ndarray) and images.dtype == np.uint8
    images = _check_array(images, "images", (3, 4), "(N, C, H, W) or (N, H, W)")
    if is_uint8:
        images = images / 255.0
    if images.ndim == 3:
        images = images[:, None]  # (N, 1, H, W)
    if images.shape[1] not in (1, 3):
        raise ValueError(
            f"images must have 1 (grey) or 3 (RGB) channels; got shape {images.shape}"
        )
    N = images.shape[0]
    if labels is not None:
        if isinstance(labels, str) or not hasattr(labels, "__len__") or len(labels) != N:
            raise ValueError(
                f"labels must be a sequence with one caption per image ({N}); got {labels!r:.80}"
            )
    ncols = _check_int(ncols, "ncols", 1)
    _check_title(title)
    fig, axes = _grid(N, ncols)
    for k, ax in enumerate(axes):
        shown = _to_display(images[k])
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1,
                  interpolation="nearest")
        if labels is not None:
            ax.set_title(str(labels[k]), fontsize=9)
    fig.suptitle(title if title is not None else f"{N} image{'s' if N != 1 else ''}")
    return fig


def plot_filters(w, ncols=8, title=None):
    """Conv filters w (F, C, HH, WW): RGB panels if C == 3, else one diverging panel per channel."""
    w = _check_array(w, "w", (4,), "(F, C, HH, WW)")
    F, C = w.shape[:2]
    ncols = _check_int(ncols, "ncols", 1)
    _check_title(title)
    default = f"{F} filters of shape {C}x{w.shape[2]}x{w.shape[3]}"
    if C == 3:
        fig, axes = _grid(F, ncols)
        for k, ax in enumerate(axes):
            f = w[k]
            lo, hi = f.min(), f.max()
            ax.imshow(((f - lo) / (hi - lo) if hi > lo else f * 0 + 0.5).transpose(1, 2, 0),
                      interpolation="nearest")
            ax.set_title(f"filter {k}", fontsize=9)
        fig.suptitle((title or default) + "\n(each filter scaled to its own min..max)")
        return fig
    m = float(np.abs(w).max()) or 1.0
    fig, axes = _grid(F * C, ncols, extra_width=1.0)
    im = None
    for k, ax in enumerate(axes):
        f, c = divmod(k, C)
        im = ax.imshow(w[f, c], cmap="RdBu_r", vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(f"filter {f}" if C == 1 else f"f{f} c{c}", fontsize=9)
    fig.colorbar(im, ax=list(axes), label="weight", shrink=0.8)
    fig.suptitle(title or default)
    return fig


def plot_activation_maps(maps, ncols=8, title=None):
    """Activation maps (C, H, W) of one image, one panel per channel on a shared colour scale."""
    maps = _check_array(maps, "maps", (3,), "(C, H, W)")
    ncols = _check_int(ncols, "ncols", 1)
    _check_title(title)
    C = maps.shape[0]
    lo, hi = float(maps.min()), float(maps.max())
    fig, axes = _grid(C, ncols, extra_width=1.0)
    im = None
    for k, ax in enumerate(axes):
        im = ax.imshow(maps[k], cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1,
                       interpolation="nearest")
        ax.set_title(f"channel {k}", fontsize=9)
    fig.colorbar(im, ax=list(axes), label="activation", shrink=0.8)
    fig.suptitle(title or f"{C} activation maps of size {maps.shape[1]}x{maps.shape[2]}")
    return fig


def coverage_map(H, W, F, stride, pad):
    """How many F x F windows (given stride, pad) touch each input pixel: int64 (H, W)."""
    H, W, F, stride, pad, H_out, W_out = _check_window(H, W, F, stride, pad)

    def counts(n, n_out):
        c = np.zeros(n + 2 * pad, dtype=np.int64)  # along one padded axis
        for i in range(n_out):
            c[i * stride:i * stride + F] += 1
        return c[pad:pad + n]  # (n,)

    return np.outer(counts(H, H_out), counts(W, W_out))  # (H, W): windows are products


def _cell_borders(ax, rows, cols):
    """Thin white lines between the cells of a rows x cols image on ax."""
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, cols - 0.5, colors="white", linewidth=1)
    ax.vlines(np.arange(cols + 1) - 0.5, -0.5, rows - 0.5, colors="white", linewidth=1)


def _padded_axes(ax, H, W, pad):
    """Set limits, ticks (input coordinates; padding is -1, H, ...) and labels on ax."""
    Hp, Wp = H + 2 * pad, W + 2 * pad
    ax.set_xlim(-0.5, Wp - 0.5)
    ax.set_ylim(Hp - 0.5, -0.5)
    ax.set_aspect("equal")
    step_x = math.ceil(Wp / 12)
    step_y = math.ceil(Hp / 12)
    ax.set_xticks(range(0, Wp, step_x), [str(c - pad) for c in range(0, Wp, step_x)])
    ax.set_yticks(range(0, Hp, step_y), [str(r - pad) for r in range(0, Hp, step_y)])
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")


def plot_sliding_window(H, W, F, stride, pad, position=(0, 0)):
    """Padded H x W input, the F x F window of output pixel position=(i, j), and the output grid."""
    H, W, F, stride, pad, H_out, W_out = _check_window(H, W, F, stride, pad)
    if (not isinstance(position, tuple | list) or len(position) != 2
            or any(isinstance(p, bool) or not isinstance(p, numbers.Integral) for p in position)):
        raise TypeError(f"position must be a pair of integers (i, j); got {position!r}")
    i, j = int(position[0]), int(position[1])
    if not (0 <= i < H_out and 0 <= j < W_out):
        raise ValueError(
            f"position must be an output pixel (i, j) with 0 <= i < {H_out} and 0 <= j < {W_out} "
            f"(the output is {H_out}x{W_out}); got {tuple(position)}"
        )
    Hp, Wp = H + 2 * pad, W + 2 * pad
    fig, (ax, ax_out) = plt.subplots(
        1, 2, figsize=(9, 4.8), gridspec_kw={"width_ratios": [Wp, max(W_out, 3)]}
    )
    inside = np.zeros((Hp, Wp), dtype=bool)
    inside[pad:pad + H, pad:pad + W] = True
    cells = np.where(inside[..., None], to_rgb(INPUT_COLOUR), to_rgb(PAD_COLOUR))  # (Hp, Wp, 3)
    ax.imshow(cells, interpolation="nearest")
    _cell_borders(ax, Hp, Wp)
    if Hp * Wp <= 400:
        for r, c in np.argwhere(~inside):
            ax.text(c, r, "0", ha="center", va="center", fontsize=8, color="#555555")
    r0, c0 = i * stride, j * stride  # window's top-left corner in padded coordinates
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), F, F, facecolor=WINDOW_COLOUR, alpha=0.25,
                           edgecolor=WINDOW_COLOUR, linewidth=2.5, clip_on=False, zorder=3))
    handles = [Patch(facecolor=INPUT_COLOUR, label="input pixel")]
    if pad:
        handles.append(Patch(facecolor=PAD_COLOUR, label="zero padding"))
    handles.append(Patch(facecolor=WINDOW_COLOUR, alpha=0.4, label=f"{F}x{F} window"))
    if j + 1 < W_out:  # where the window goes next: stride columns to the right
        ax.add_patch(Rectangle((c0 + stride - 0.5, r0 - 0.5), F, F, fill=False, linestyle="--",
                               edgecolor=WINDOW_COLOUR, linewidth=1.5, clip_on=False, zorder=3))
        handles.append(Line2D([], [], color=WINDOW_COLOUR, linestyle="--",
                              label=f"next window ({stride} to the right)"))
    _padded_axes(ax, H, W, pad)
    rows, cols = f"{r0 - pad}..{r0 - pad + F - 1}", f"{c0 - pad}..{c0 - pad + F - 1}"
    ax.set_title(f"input {H}x{W} with pad={pad}: window F={F} at rows {rows}, cols {cols}",
                 fontsize=9)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
              fontsize=8, frameon=False)
    out = np.full((H_out, W_out, 3), to_rgb("#eeeeee"))
    out[i, j] = to_rgb(WINDOW_COLOUR)
    ax_out.imshow(out, interpolation="nearest")
    _cell_borders(ax_out, H_out, W_out)
    step = math.ceil(max(H_out, W_out) / 12)
    ax_out.set_xticks(range(0, W_out, step))
    ax_out.set_yticks(range(0, H_out, step))
    ax_out.set_xlabel("output column j")
    ax_out.set_ylabel("output row i")
    ax_out.set_title(f"output {H_out}x{W_out}: pixel ({i}, {j})", fontsize=9)
    formula = f"H' = 1 + ({H} + 2*{pad} - {F}) // {stride} = {H_out}"
    if W != H:
        formula += f",  W' = 1 + ({W} + 2*{pad} - {F}) // {stride} = {W_out}"
    fig.suptitle(f"Sliding window: F={F}, stride={stride}, pad={pad}\n{formula}")
    fig.tight_layout()
    return fig


def plot_coverage(H, W, F, stride, pad):
    """Heat map of coverage_map(H, W, F, stride, pad) with counts; never-touched pixels hatched."""
    counts = coverage_map(H, W, F, stride, pad)  # (H, W), also validates
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * W + 1.5, 1.2 + 0.45 * H))
    im = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, int(counts.max())),
                   interpolation="nearest")
    bar = fig.colorbar(im, ax=ax, label="windows touching the pixel", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    if H * W <= 900:
        for r in range(H):
            for c in range(W):
                dark = counts[r, c] > 0.6 * counts.max()
                ax.text(c, r, str(counts[r, c]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    missed = np.argwhere(counts == 0)
    for r, c in missed:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///",
                               edgecolor=WINDOW_COLOUR, linewidth=1.5))
    handles = [Patch(facecolor="white", edgecolor=WINDOW_COLOUR, hatch="///",
                     label=f"never touched ({len(missed)} pixel{'s' if len(missed) != 1 else ''})")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8,
              frameon=False)
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
    ax.set_title(f"Coverage of a {H}x{W} input: F={F}, stride={stride}, pad={pad}")
    fig.tight_layout()
    return fig


def plot_training_curves(history):
    """Loss curves (left) and accuracy curves (right) from history: dict name -> list of floats."""
    if not isinstance(history, dict) or not history:
        raise TypeError(
            "history must be a non-empty dict name -> list of floats, "
            f"e.g. {{'loss': [...], 'train_acc': [...]}}; got {history!r:.80}"
        )
    series = {}
    for name, values in history.items():
        if not isinstance(name, str):
            raise TypeError(f"history keys must be strings; got {name!r}")
        try:
            v = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"history[{name!r}] must be a list of numbers") from e
        if v.ndim != 1 or v.size == 0:
            raise ValueError(
                f"history[{name!r}] must be a non-empty list of numbers; got {values!r:.80}"
            )
        series[name] = v
    accs = {k: v for k, v in series.items() if "acc" in k.lower()}
    losses = {k: v for k, v in series.items() if k not in accs}
    groups = [(g, label) for g, label in ((losses, "loss"), (accs, "accuracy")) if g]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4), squeeze=False)
    same_length = len({len(v) for v in series.values()}) == 1
    for ax, (group, label) in zip(axes[0], groups, strict=True):
        for name, v in group.items():
            ax.plot(np.arange(1, len(v) + 1), v, marker="o" if len(v) <= 30 else None,
                    markersize=3, label=name)
        ax.set_xlabel("epoch" if same_length or label == "accuracy" else "iteration")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.set_title(label.capitalize())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Training curves")
    fig.tight_layout()
    return fig


def _check_named_arrays(maps, name):
    """maps (a non-empty dict title -> array) as a list of (title, float array), or raise."""
    if not isinstance(maps, dict) or not maps:
        raise TypeError(
            f"{name} must be a non-empty dict title -> array; got {type(maps).__name__}"
        )
    found = []
    for title, a in maps.items():
        if not isinstance(title, str):
            raise TypeError(f"{name} keys must be strings (panel titles); got {title!r}")
        found.append((title, _check_array(a, f"{name}[{title!r}]", (2, 3), "(H, W) or (3, H, W)")))
    return found


def plot_maps(maps, ncols=None, signed=True, shared=True, title=None, label="response",
              values=False, cmap=None):
    """Panels of maps (H, W) on a colour scale and photos (3, H, W); maps: dict title -> array.

    signed: diverging colours symmetric around zero (red +, blue -), else viridis from min to max.
    shared: one colour scale and bar for all maps, else one bar per map.
    values: write each entry's value in its cell (for small maps). cmap: another colour map.
    """
    panels = _check_named_arrays(maps, "maps")
    if not isinstance(values, bool):
        raise TypeError(f"values must be True or False; got {values!r}")
    if cmap is not None and cmap not in plt.colormaps():
        raise ValueError(f"cmap must be a matplotlib colour map name; got {cmap!r}")
    for t, a in panels:
        if a.ndim == 3 and a.shape[0] != 3:
            raise ValueError(
                f"maps[{t!r}] must be a map (H, W) or a photo (3, H, W); got shape {a.shape}"
            )
    if not isinstance(signed, bool) or not isinstance(shared, bool):
        raise TypeError(f"signed and shared must be True or False; got {signed!r}, {shared!r}")
    _check_title(title)
    ncols = _check_int(len(panels) if ncols is None else ncols, "ncols", 1)
    flat = [a for _, a in panels if a.ndim == 2]

    def limits(arrays):
        lo = min(float(a.min()) for a in arrays)
        hi = max(float(a.max()) for a in arrays)
        if signed:
            m = max(abs(lo), abs(hi)) or 1.0
            return -m, m
        return lo, hi if hi > lo else lo + 1

    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols + 0.8, 3.0 * nrows + 0.6),
                             squeeze=False, layout="constrained")
    cmap = cmap or ("RdBu_r" if signed else "viridis")
    shown = []
    for ax, (t, a) in zip(axes.flat, panels, strict=False):
        if a.ndim == 3:
            ax.imshow(_to_display(a), interpolation="nearest")
        else:
            vmin, vmax = limits(flat if shared else [a])
            image = ax.imshow(a, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            shown.append(ax)
            if values:
                for (r, c), v in np.ndenumerate(a):
                    ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=8,
                            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0})
            if not shared:
                fig.colorbar(image, ax=ax, shrink=0.8, label=label)
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if shared and shown:
        fig.colorbar(image, ax=shown, shrink=0.8, label=label)
    fig.suptitle(title or f"{len(panels)} map{'s' if len(panels) != 1 else ''}")
    return fig


def plot_templates(weights, shape, title=None):
    """One row per entry of weights (name -> (K, D) array): each of its K rows drawn as an image.

    shape is the (H, W) of one template (H * W == D); all panels share one diverging scale.
    """
    rows = _check_named_arrays(weights, "weights")
    if (not isinstance(shape, tuple | list) or len(shape) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in shape)):
        raise TypeError(f"shape must be a pair of integers (H, W); got {shape!r}")
    H, W = int(shape[0]), int(shape[1])
    sizes = {a.shape for _, a in rows}
    if len(sizes) != 1 or rows[0][1].ndim != 2 or rows[0][1].shape[1] != H * W:
        raise ValueError(
            f"weights must all have the same shape (K, H * W) = (K, {H * W}); got {sorted(sizes)}"
        )
    _check_title(title)
    K = rows[0][1].shape[0]
    m = max(float(np.abs(a).max()) for _, a in rows) or 1.0
    fig, axes = plt.subplots(len(rows), K, figsize=(1.15 * K + 1.0, 1.4 * len(rows)),
                             squeeze=False, layout="constrained")
    for r, (name, a) in enumerate(rows):
        for k in range(K):
            ax = axes[r, k]
            image = ax.imshow(a[k].reshape(H, W), cmap="RdBu_r", vmin=-m, vmax=m,
                              interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"class {k}", fontsize=9)
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(title or f"Rows of the weights drawn as {H}x{W} images (red +, blue -)")
    return fig


def plot_coverage_gallery(settings, ncols=3):
    """Coverage maps of square inputs, one panel per setting (N, F, S, P), on one colour scale."""
    if not isinstance(settings, list | tuple) or not settings:
        raise TypeError(f"settings must be a non-empty list of (N, F, S, P); got {settings!r:.80}")
    for setting in settings:
        if not isinstance(setting, tuple | list) or len(setting) != 4:
            raise TypeError(f"each setting must be a tuple (N, F, S, P); got {setting!r}")
    ncols = min(_check_int(ncols, "ncols", 1), len(settings))
    covs = [coverage_map(N, N, F, S, P) for N, F, S, P in settings]  # also validates
    vmax = max(1, max(int(c.max()) for c in covs))
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols + 0.6, 3.2 * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for ax, (N, F, S, P), cov in zip(axes.flat, settings, covs, strict=False):
        image = ax.imshow(cov, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
        for (r, c), v in np.ndenumerate(cov):
            ax.text(c, r, v, ha="center", va="center", fontsize=8,
                    color="red" if v == 0 else "white" if v > 0.6 * vmax else "black",
                    fontweight="bold" if v == 0 else "normal")
        n_out = (N + 2 * P - F) // S + 1
        ax.set_title(f"N={N} F={F} S={S} P={P}: {n_out}x{n_out}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    fig.colorbar(image, ax=axes, shrink=0.8, label="windows per pixel (same scale in every panel)")
    fig.suptitle("Coverage maps, windows per pixel (red 0: never visited)")
    return fig


def _tile(tiles, gap):
    """Tiles (R, K, P, P, ...) as one image (R * (P+1) - 1, K * (P+1) - 1, ...), gap between."""
    R, K, P = tiles.shape[:3]
    out = np.full((R * (P + 1) - 1, K * (P + 1) - 1, *tiles.shape[4:]), gap, dtype=float)
    for r, k in np.ndindex(R, K):
        out[r * (P + 1):r * (P + 1) + P, k * (P + 1):k * (P + 1) + P] = tiles[r, k]
    return out


def plot_patches(patches, title=None, row_label="channel"):
    """Patches (C, k, r, r) in [0, 1] as one mosaic: a row per channel, its mean at the end."""
    patches = _check_array(patches, "patches", (4,), "(C, k, r, r)")
    C, k, r, r2 = patches.shape
    if r != r2:
        raise ValueError(f"patches must be square (C, k, r, r); got shape {patches.shape}")
    if not isinstance(row_label, str):
        raise TypeError(f"row_label must be a string; got {type(row_label).__name__}")
    _check_title(title)
    tiles = np.concatenate([patches, patches.mean(axis=1, keepdims=True)], axis=1)  # (C, k+1, r, r)
    mosaic = _tile(tiles, np.nan)  # NaN: the gaps
    inch = min(6.5 / mosaic.shape[1], 8.0 / mosaic.shape[0])  # per mosaic pixel
    fig, ax = plt.subplots(figsize=(inch * mosaic.shape[1] + 1.3, inch * mosaic.shape[0] + 0.9),
                           layout="constrained")
    ax.imshow(mosaic, cmap=plt.get_cmap("gray").with_extremes(bad="#9ecae1"),  # gaps in blue
              vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([c * (r + 1) + (r - 1) / 2 for c in range(C)],
                  [f"{row_label} {c}" for c in range(C)], fontsize=8)
    ax.set_xticks([slot * (r + 1) + (r - 1) / 2 for slot in range(k + 1)],
                  [str(slot + 1) for slot in range(k)] + ["mean"], fontsize=8)
    ax.set_xlabel("rank of the patch (1 = strongest)")
    ax.set_title(title or f"{k} patches per {row_label}", fontsize=10)
    return fig


def filter_mosaic(filters, ncols=16):
    """Colour filters (F, 3, P, P) side by side as one RGB image (H, W, 3), grey at zero.

    Each filter is scaled by its own largest magnitude, so 0 is mid-grey; white lines between.
    """
    filters = _check_array(filters, "filters", (4,), "(F, 3, P, P)")
    F, C, P, P2 = filters.shape
    if C != 3 or P != P2:
        raise ValueError(f"filters must have shape (F, 3, P, P); got {filters.shape}")
    ncols = min(_check_int(ncols, "ncols", 1), F)
    nrows = math.ceil(F / ncols)
    scale = np.abs(filters).max(axis=(1, 2, 3), keepdims=True)  # (F, 1, 1, 1)
    shown = 0.5 + 0.5 * filters / np.where(scale > 0, scale, 1.0)  # (F, 3, P, P) in [0, 1]
    tiles = np.ones((nrows * ncols, P, P, 3))  # empty slots white
    tiles[:F] = shown.transpose(0, 2, 3, 1)
    return _tile(tiles.reshape(nrows, ncols, P, P, 3), 1.0)  # (H, W, 3)

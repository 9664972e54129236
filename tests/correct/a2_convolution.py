"""Correct solutions of assignment 2 written in other ways; each must get full marks."""

from tests.correct import Variant

CONV_LOOPS = '''    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top : top + HH, left : left + WW]  # (C, HH, WW)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]'''
BACKWARD_LOOPS = '''    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top : top + HH, left : left + WW]  # (C, HH, WW)
                    dw[f] += dout[n, f, i, j] * window
                    dx_pad[n, :, top : top + HH, left : left + WW] += dout[n, f, i, j] * w[f]'''
POOL_ARGMAX = '''                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + r, left + s] += dout[n, c, i, j]'''
POOL_LOOPS = '''    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + PH, left : left + PW]  # (PH, PW)
''' + POOL_ARGMAX

VARIANTS = [
    Variant(
        name="black_formatted_output_size",
        story="conv_output_size formatted by black: continuation lines begin with `%` and `!=`.",
        cells=(
            ("conv_output_size", '''
def conv_output_size(N, F, S, P):
    for name, value, low in (("N", N, 1), ("F", F, 1), ("S", S, 1), ("P", P, 0)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < low
        ):
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    if F > N + 2 * P:
        raise ValueError(f"F = {F} is larger than the padded input N + 2P = {N + 2 * P}")
    if (
        (N + 2 * P - F)
        % S
        != 0
    ):
        raise ValueError(
            f"the windows do not tile: (N + 2P - F) % S = ({N} + 2*{P} - {F}) % {S} = "
            f"{(N + 2 * P - F) % S} (N={N}, F={F}, S={S}, P={P})"
        )
    return 1 + (N + 2 * P - F) // S
'''),
        ),
        needs="continuation lines that begin with % or != are Python, not magics",
    ),
    Variant(
        name="tensordot_over_windows",
        story="Loops over output positions only; np.tensordot does every image and filter at once.",
        edits=(
            ("conv_forward_naive", CONV_LOOPS, '''    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b'''),
        ),
    ),
    Variant(
        name="sliding_window_view_and_einsum",
        story="A view of all windows (sliding_window_view), einsum per image and filter.",
        edits=(
            ("conv_forward_naive", CONV_LOOPS, '''    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    for n in range(N):
        for f in range(F):
            out[n, f] = np.einsum("chwkl,ckl->hw", windows[n], w[f]) + b[f]'''),
        ),
    ),
    Variant(
        name="scalar_loops_backward",
        story="The backward pass with seven nested loops over scalars, as in many tutorials.",
        edits=(
            ("conv_backward_naive", BACKWARD_LOOPS, '''    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    for c in range(C):
                        for k in range(HH):
                            for l in range(WW):
                                r, s = i * stride + k, j * stride + l
                                dw[f, c, k, l] += g * x_pad[n, c, r, s]
                                dx_pad[n, c, r, s] += g * w[f, c, k, l]'''),
        ),
    ),
    Variant(
        name="add_at_pool_backward",
        story="Max-pool backward looping over positions only, scattering with np.add.at.",
        edits=(
            ("max_pool_backward_naive", POOL_LOOPS, '''    images, channels = np.indices((N, C))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride : i * stride + PH, j * stride : j * stride + PW]
            r, s = np.unravel_index(window.reshape(N, C, -1).argmax(axis=2), (PH, PW))
            np.add.at(dx, (images, channels, i * stride + r, j * stride + s), dout[:, :, i, j])'''),
        ),
    ),
    Variant(
        name="ties_split_evenly",
        story="At ties, splits each window's gradient evenly among its tied maxima.",
        edits=(
            ("max_pool_backward_naive", POOL_ARGMAX, '''                    mask = window == window.max()
                    dx[n, c, top : top + PH, left : left + PW] += (
                        mask * dout[n, c, i, j] / mask.sum()
                    )'''),
        ),
    ),
    Variant(
        name="ties_last_maximum",
        story="At ties, gives each window's gradient to its last maximum in row-major order.",
        edits=(
            ("max_pool_backward_naive", "np.unravel_index(np.argmax(window), window.shape)",
             "np.unravel_index(window.size - 1 - np.argmax(window.ravel()[::-1]), window.shape)"),
        ),
    ),
    Variant(
        name="float32_kept_and_timeit",
        story="Buffers in the inputs' dtype (float32 stays float32), %timeit in an extra cell.",
        edits=(
            ("conv_forward_naive", "out = np.zeros((N, F, H_out, W_out))",
             "out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))"),
            ("conv_backward_naive", "dx_pad = np.zeros(x_pad.shape)",
             "dx_pad = np.zeros(x_pad.shape, dtype=np.result_type(dout, w))"),
            ("conv_backward_naive", "dw = np.zeros(w.shape)",
             "dw = np.zeros(w.shape, dtype=np.result_type(dout, x))"),
        ),
        extra=(
            ("conv_forward_naive", '''x32 = np.ones((1, 2, 5, 5), dtype=np.float32)
out32, _ = conv_forward_naive(x32, np.ones((3, 2, 3, 3), np.float32), np.zeros(3, np.float32),
                              {"stride": 1, "pad": 1})
print(out32.dtype, out32.shape)
%timeit -n 2 -r 1 conv_forward_naive(x32, np.ones((3, 2, 3, 3), np.float32), np.zeros(3, np.float32), {"stride": 1, "pad": 1})
'''),
        ),
        needs="IPython line magics (%timeit runs)",
    ),
    Variant(
        name="scratch_cell_reads_a_tests_output",
        story="A scratch cell after a test prints the `out` the test made (as one does while "
        "debugging) and defines the helper the backward pass then uses.",
        edits=(
            ("max_pool_backward_naive", POOL_ARGMAX,
             POOL_ARGMAX.replace("np.unravel_index(np.argmax(window), window.shape)",
                                 "first_max_position(window)")),
        ),
        extra=(
            ("test_max_pool_forward_values", '''# what did the test above pool?
print("pooled by the test:", out.ravel())


def first_max_position(window):
    return np.unravel_index(np.argmax(window), window.shape)
'''),
        ),
        needs="a test cell's visible part leaves its names for later cells, as in the kernel",
    ),
]

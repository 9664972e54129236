"""Plausible wrong solutions of assignment 2 (convolution and pooling) and the tests they fail."""

from tests.mutants import Mutant

NUMERICAL_CONV_BACKWARD = """x, w, b, conv_param = cache
    grads = []
    for k, value in enumerate((x, w, b)):
        value = np.array(value, dtype=np.float64)
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            args = [np.array(a, dtype=np.float64) for a in (x, w, b)]
            args[k][index] = value[index] + 1e-5
            plus = conv_forward_naive(*args, conv_param)[0]
            args[k][index] = value[index] - 1e-5
            minus = conv_forward_naive(*args, conv_param)[0]
            grad[index] = np.sum((plus - minus) * dout) / 2e-5
        grads.append(grad)
    return tuple(grads)"""

MEMOISED_NUMERICAL_CONV_BACKWARD = """x, w, b, conv_param = cache
    key = (x.tobytes(), w.tobytes(), b.tobytes(), np.asarray(dout).tobytes())
    if key in _MEMO:
        return _MEMO[key]
    grads = []
    for k, value in enumerate((x, w, b)):
        value = np.array(value, dtype=np.float64)
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            args = [np.array(a, dtype=np.float64) for a in (x, w, b)]
            args[k][index] = value[index] + 1e-5
            plus = conv_forward_naive(*args, conv_param)[0]
            args[k][index] = value[index] - 1e-5
            minus = conv_forward_naive(*args, conv_param)[0]
            grad[index] = np.sum((plus - minus) * dout) / 2e-5
        grads.append(grad)
    _MEMO[key] = tuple(grads)
    return _MEMO[key]"""

# every backward test checks that the backward is analytic: a numerical one loses them all
NUMERICAL_BACKWARD_FAILS = frozenset(
    {
        "test_conv_backward_db",
        "test_conv_backward_dw",
        "test_conv_backward_dx",
        "test_conv_backward_shapes",
        "test_conv_backward_timing",
    }
)

MUTANTS = [
    Mutant(
        name="output_size_ignores_padding",
        story="Computes the output size as 1 + (N - F) // S, forgetting the padding.",
        cell="conv_output_size",
        edits=(("return 1 + (N + 2 * P - F) // S", "return 1 + (N - F) // S"),),
        fails=frozenset(
            {
                "test_conv_backward_db",
                "test_conv_backward_dw",
                "test_conv_backward_dx",
                "test_conv_backward_shapes",
                "test_conv_backward_timing",
                "test_conv_forward_shape",
                "test_conv_forward_stride_pad",
                "test_conv_forward_values",
                "test_conv_output_size_values",
            }
        ),
    ),
    Mutant(
        name="output_size_floors_silently",
        story="Rounds the number of windows down instead of raising when they do not tile.",
        cell="conv_output_size",
        edits=(("if remainder:", "if False:"),),
        fails=frozenset(
            {
                "test_conv_forward_validation",
                "test_conv_output_size_errors",
                "test_max_pool_validation",
            }
        ),
    ),
    Mutant(
        name="conv_forward_flipped_kernel",
        story="Flips the filter (true convolution) instead of cross-correlating.",
        cell="conv_forward_naive",
        edits=(("np.sum(window * w[f])", "np.sum(window * w[f, :, ::-1, ::-1])"),),
        fails=frozenset(
            {
                "test_conv_backward_dw",
                "test_conv_backward_dx",
                "test_conv_forward_stride_pad",
                "test_conv_forward_values",
            }
        ),
    ),
    Mutant(
        name="conv_forward_ignores_stride",
        story="Moves the window by one pixel whatever the stride.",
        cell="conv_forward_naive",
        edits=(("top, left = i * stride, j * stride", "top, left = i, j"),),
        fails=frozenset({"test_conv_forward_stride_pad"}),
    ),
    Mutant(
        name="conv_forward_width_from_height",
        story="Copy-pastes the height line and computes W' from H and HH.",
        cell="conv_forward_naive",
        edits=(
            (
                "W_out = conv_output_size(W, WW, stride, pad)",
                "W_out = conv_output_size(H, HH, stride, pad)",
            ),
        ),
        fails=frozenset(
            {
                "test_conv_backward_db",
                "test_conv_backward_dw",
                "test_conv_backward_dx",
                "test_conv_forward_shape",
                "test_conv_forward_stride_pad",
                "test_conv_forward_values",
            }
        ),
    ),
    Mutant(
        name="conv_forward_no_channel_check",
        story="Does not check that w has as many channels as x.",
        cell="conv_forward_naive",
        edits=(("if w.shape[1] != x.shape[1]:", "if False:"),),
        fails=frozenset({"test_conv_forward_validation"}),
    ),
    Mutant(
        name="conv_forward_no_param_check",
        story="Reads conv_param['stride'] and ['pad'] without checking that they are there.",
        cell="conv_forward_naive",
        edits=(
            (
                'if not isinstance(conv_param, dict) or not {"stride", "pad"} <= set(conv_param):',
                "if False:",
            ),
        ),
        fails=frozenset({"test_conv_forward_validation"}),
    ),
    Mutant(
        name="conv_forward_bias_of_first_filter",
        story="Adds b[0] to every filter's output instead of b[f].",
        cell="conv_forward_naive",
        edits=(("np.sum(window * w[f]) + b[f]", "np.sum(window * w[f]) + b[0]"),),
        fails=frozenset(
            {"test_conv_backward_db", "test_conv_forward_stride_pad", "test_conv_forward_values"}
        ),
    ),
    Mutant(
        name="conv_backward_keeps_padding",
        story="Returns the gradient of the padded input, forgetting to cut the padding off.",
        cell="conv_backward_naive",
        edits=(("dx = dx_pad[:, :, pad : pad + H, pad : pad + W]", "dx = dx_pad"),),
        fails=frozenset({"test_conv_backward_dx", "test_conv_backward_shapes"}),
    ),
    Mutant(
        name="conv_backward_ignores_stride",
        story="Forgets the stride in the backward pass (the forward pass uses it).",
        cell="conv_backward_naive",
        edits=(("top, left = i * stride, j * stride", "top, left = i, j"),),
        fails=frozenset({"test_conv_backward_dw", "test_conv_backward_dx"}),
    ),
    Mutant(
        name="conv_backward_dw_overwritten",
        story="Writes dw[f] = ... instead of accumulating with +=.",
        cell="conv_backward_naive",
        edits=(("dw[f] += dout[n, f, i, j] * window", "dw[f] = dout[n, f, i, j] * window"),),
        fails=frozenset({"test_conv_backward_dw"}),
    ),
    Mutant(
        name="conv_backward_dx_overwritten",
        story="Writes the window of dx_pad with = instead of +=, losing overlapping contributions.",
        cell="conv_backward_naive",
        edits=(
            (
                "dx_pad[n, :, top : top + HH, left : left + WW] += dout[n, f, i, j] * w[f]",
                "dx_pad[n, :, top : top + HH, left : left + WW] = dout[n, f, i, j] * w[f]",
            ),
        ),
        fails=frozenset({"test_conv_backward_dx"}),
    ),
    Mutant(
        name="conv_backward_db_wrong_axes",
        story="Sums dout over the filters and positions for db instead of the batch and positions.",
        cell="conv_backward_naive",
        edits=(("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(1, 2, 3))"),),
        fails=frozenset({"test_conv_backward_db", "test_conv_backward_shapes"}),
    ),
    Mutant(
        name="conv_backward_db_mean",
        story="Averages dout over the batch for db instead of summing it.",
        cell="conv_backward_naive",
        edits=(("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3)).mean(axis=0)"),),
        fails=frozenset({"test_conv_backward_db"}),
    ),
    Mutant(
        name="conv_backward_numerical",
        story="Computes the gradients numerically with the forward pass: right, but far too slow.",
        cell="conv_backward_naive",
        edits=(("x, w, b, conv_param = cache", NUMERICAL_CONV_BACKWARD),),
        fails=NUMERICAL_BACKWARD_FAILS,
    ),
    Mutant(
        name="conv_backward_numerical_memoised",
        story="Computes the gradients numerically and remembers them, so a repeated call is free.",
        cell="conv_backward_naive",
        edits=(
            ("def conv_backward_naive", "_MEMO = {}\n\n\ndef conv_backward_naive"),
            ("x, w, b, conv_param = cache", MEMOISED_NUMERICAL_CONV_BACKWARD),
        ),
        fails=NUMERICAL_BACKWARD_FAILS,
        may_stop=frozenset({"test_conv_backward_timing"}),  # validate may run out of time there
    ),
    Mutant(
        name="conv_backward_numerical_spots_the_timed_input",
        story="Computes the gradients numerically, but answers zeros at once for inputs that look "
        "like a timing test's (many images, 2x2 filters, stride 2).",
        cell="conv_backward_naive",
        edits=(
            (
                "x, w, b, conv_param = cache",
                NUMERICAL_CONV_BACKWARD.replace(
                    "    grads = []\n",
                    '    if conv_param["stride"] == 2 and w.shape[2:] == (2, 2) and len(x) >= 6:\n'
                    "        return np.zeros(x.shape), np.zeros(w.shape), np.zeros(b.shape)\n"
                    "    grads = []\n",
                    1,
                ),
            ),
        ),
        fails=NUMERICAL_BACKWARD_FAILS,
    ),
    Mutant(
        name="conv_backward_numerical_forward_dodges_the_timed_input",
        story="Computes the gradients numerically, and has the forward raise on inputs that look "
        "like a timing test's, so that the backward is never timed.",
        cell="conv_backward_naive",
        edits=(("x, w, b, conv_param = cache", NUMERICAL_CONV_BACKWARD),),
        also=(
            (
                "conv_forward_naive",
                (
                    (
                        "    N, C, H, W = x.shape\n",
                        "    N, C, H, W = x.shape\n"
                        '    if stride == 2 and w.shape[2:] == (2, 2) and N >= 6:\n'
                        '        raise ValueError("too large")\n',
                    ),
                ),
            ),
        ),
        fails=NUMERICAL_BACKWARD_FAILS,
    ),
    Mutant(
        name="max_pool_forward_ignores_stride",
        story="Moves the pooling window by one pixel whatever the stride.",
        cell="max_pool_forward_naive",
        edits=(("top, left = i * stride, j * stride", "top, left = i, j"),),
        fails=frozenset(
            {
                "test_max_pool_forward_values",
            }
        ),
    ),
    Mutant(
        name="max_pool_forward_square_output",
        story="Allocates the output as (N, C, H', H'), as if every input were square.",
        cell="max_pool_forward_naive",
        edits=(("out = np.zeros((N, C, H_out, W_out))", "out = np.zeros((N, C, H_out, H_out))"),),
        fails=frozenset(
            {
                "test_max_pool_backward_overlap",
                "test_max_pool_backward_ties",
                "test_max_pool_backward_values",
                "test_max_pool_forward_shape",
                "test_max_pool_forward_values",
            }
        ),
    ),
    Mutant(
        name="max_pool_forward_floor",
        story="Computes the output size with floor division and silently drops the last rows.",
        cell="max_pool_forward_naive",
        edits=(
            ("H_out = conv_output_size(H, PH, stride, 0)", "H_out = 1 + (H - PH) // stride"),
            ("W_out = conv_output_size(W, PW, stride, 0)", "W_out = 1 + (W - PW) // stride"),
        ),
        fails=frozenset({"test_max_pool_validation"}),
    ),
    Mutant(
        name="max_pool_forward_no_param_check",
        story="Reads the pool_param keys without checking that they are there.",
        cell="max_pool_forward_naive",
        edits=(
            ("if not isinstance(pool_param, dict) or not keys <= set(pool_param):", "if False:"),
        ),
        fails=frozenset({"test_max_pool_validation"}),
    ),
    Mutant(
        name="max_pool_backward_overwrites",
        story="Writes dx[...] = dout[...] instead of +=, losing gradient where windows overlap.",
        cell="max_pool_backward_naive",
        edits=(("dx[n, c, top + r, left + s] += dout", "dx[n, c, top + r, left + s] = dout"),),
        fails=frozenset(
            {
                "test_max_pool_backward_overlap",
                "test_max_pool_backward_values",
            }
        ),
    ),
    Mutant(
        name="max_pool_backward_all_ties",
        story="Routes the gradient to every entry equal to the maximum, so ties get it twice.",
        cell="max_pool_backward_naive",
        edits=(
            (
                "r, s = np.unravel_index(np.argmax(window), window.shape)\n"
                "                    dx[n, c, top + r, left + s] += dout[n, c, i, j]",
                "mask = window == window.max()  # (PH, PW)\n"
                "                    dx[n, c, top : top + PH, left : left + PW] += "
                "mask * dout[n, c, i, j]",
            ),
        ),
        fails=frozenset({"test_max_pool_backward_ties"}),
    ),
    Mutant(
        name="max_pool_backward_swaps_h_w",
        story="Splits the flat argmax into (row, column) dividing by the height, not the width.",
        cell="max_pool_backward_naive",
        edits=(
            (
                "np.unravel_index(np.argmax(window), window.shape)",
                "divmod(int(np.argmax(window)), PH)",
            ),
        ),
        fails=frozenset({"test_max_pool_backward_overlap", "test_max_pool_backward_values"}),
        # In a tied window the entry it picks is often a maximum too, which the ties test
        # accepts: whether that test fails depends on the hidden inputs' seed.
        may_fail=frozenset({"test_max_pool_backward_ties"}),
    ),
    Mutant(
        name="max_pool_backward_ignores_stride",
        story="Forgets the stride when locating each window in the backward pass.",
        cell="max_pool_backward_naive",
        edits=(("top, left = i * stride, j * stride", "top, left = i, j"),),
        fails=frozenset(
            {
                "test_max_pool_backward_overlap",
                "test_max_pool_backward_ties",
                "test_max_pool_backward_values",
            }
        ),
    ),
    Mutant(
        name="max_pool_backward_spreads_evenly",
        story="Spreads each upstream gradient evenly over its window, as for average pooling.",
        cell="max_pool_backward_naive",
        edits=(
            (
                "dx[n, c, top + r, left + s] += dout[n, c, i, j]",
                "dx[n, c, top : top + PH, left : left + PW] += dout[n, c, i, j] / (PH * PW)",
            ),
        ),
        fails=frozenset(
            {
                "test_max_pool_backward_overlap",
                "test_max_pool_backward_ties",
                "test_max_pool_backward_values",
            }
        ),
    ),
]

"""Plausible wrong solutions of assignment 3 (fast convolution, ConvNet) and the tests they fail."""

from tests.mutants import Mutant

PIXEL_LOOP_FORWARD = (  # the matrix product of conv_forward_fast, one output position at a time
    "    out = np.empty((F, N, H_out, W_out), dtype=cols.dtype)\n"
    "    for n in range(N):\n"
    "        for i in range(H_out):\n"
    "            for j in range(W_out):\n"
    "                out[:, n, i, j] = w.reshape(F, -1) @ windows[n, :, i, j].ravel()\n"
    "    out = out.reshape(F, N * H_out * W_out)\n"
)

CHANNEL_AND_POSITION_LOOP_FORWARD = (  # a loop the line counts see (channels) and the clock too
    "    out = np.zeros((F, N, H_out, W_out), dtype=cols.dtype)\n"
    "    for c in range(C):\n"
    "        for i in range(H_out):\n"
    "            for j in range(W_out):\n"
    "                patch = windows[:, c, i, j].reshape(N, -1)  # (N, HH * WW)\n"
    "                out[:, :, i, j] += w[:, c].reshape(F, -1) @ patch.T\n"
    "    out = out.reshape(F, N * H_out * W_out)\n"
)

FORGED_LINE_COUNT = (  # helpers.cost's line counter replaced by one that says 0
    "    import helpers.cost\n"
    "    helpers.cost._count_lines = lambda f, args, kw: (f(*args, **kw), 0)\n"
)

NUMERICAL_CONV_BACKWARD_FAST = """x_shape, w, cols, conv_param = cache
    F, C, HH, WW = w.shape
    N, _, H, W = x_shape
    S, P = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2:]
    windows = cols.reshape(C, HH, WW, N, H_out, W_out)
    x_pad = np.zeros((N, C, H + 2 * P, W + 2 * P))
    for i in range(HH):
        for j in range(WW):
            x_pad[:, :, i:i + S * H_out:S, j:j + S * W_out:S] = windows[:, i, j].swapaxes(0, 1)
    x = x_pad[:, :, P:P + H, P:P + W]
    b = np.zeros(F)
    grads = []
    for k, value in enumerate((x, w, b)):
        value = np.array(value, dtype=np.float64)
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            args = [np.array(a, dtype=np.float64) for a in (x, w, b)]
            args[k][index] = value[index] + 1e-5
            plus = conv_forward_fast(*args, conv_param)[0]
            args[k][index] = value[index] - 1e-5
            minus = conv_forward_fast(*args, conv_param)[0]
            grad[index] = np.sum((plus - minus) * dout) / 2e-5
        grads.append(grad)
    return tuple(grads)"""

MUTANTS = [
    Mutant(
        name="conv_forward_fast_swaps_window_axes",
        story="Orders the window axes of cols as (C, WW, HH), so each filter meets its transpose.",
        cell="conv_forward_fast",
        edits=(("windows.transpose(1, 4, 5, 0, 2, 3)", "windows.transpose(1, 5, 4, 0, 2, 3)"),),
        fails=frozenset(
            {
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
                "test_conv_forward_fast_stride",
                "test_conv_forward_fast_values",
                "test_convnet_accuracy",
                "test_convnet_grads",
                "test_convnet_loss",
                "test_convnet_scores",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_ignores_stride",
        story="Takes the first H' x W' window positions instead of every stride-th one.",
        cell="conv_forward_fast",
        edits=(("[:, :, ::S, ::S]", "[:, :, :H_out, :W_out]"),),
        fails=frozenset(
            {
                "test_conv_backward_fast_stride",
                "test_conv_forward_fast_stride",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_no_bias",
        story="Forgets to add the biases to the matrix product.",
        cell="conv_forward_fast",
        edits=(("    out += b[:, None]\n", ""),),
        fails=frozenset(
            {
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
                "test_conv_forward_fast_stride",
                "test_conv_forward_fast_values",
                "test_convnet_accuracy",
                "test_convnet_grads",
                "test_convnet_loss",
                "test_convnet_scores",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_float64",
        story="Converts the input to float64, so float32 inputs give float64 outputs.",
        cell="conv_forward_fast",
        edits=(("np.pad(x, ", "np.pad(x.astype(np.float64), "),),
        fails=frozenset(
            {
                "test_conv_backward_fast_shapes",
                "test_conv_forward_fast_shape",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_loops_over_pixels",
        story="Computes each output position's filter responses in a Python loop over the pixels.",
        cell="conv_forward_fast",
        edits=(
            (
                "    out = w.reshape(F, -1) @ cols  # (F, N * H' * W')\n",
                PIXEL_LOOP_FORWARD,
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
        may_fail=frozenset({"test_convnet_accuracy"}),  # training may outlast the cell's limit
        may_stop=frozenset({"train"}),
    ),
    Mutant(
        name="conv_forward_fast_loops_over_examples",
        story="Builds cols with sliding_window_view, but multiplies one example at a time.",
        cell="conv_forward_fast",
        edits=(
            (
                "    out = w.reshape(F, -1) @ cols  # (F, N * H' * W')\n",
                "    per_example = cols.reshape(-1, N, H_out * W_out)\n"
                "    out = np.stack([w.reshape(F, -1) @ per_example[:, n] for n in range(N)], 1)\n"
                "    out = out.reshape(F, N * H_out * W_out)\n",
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
    ),
    Mutant(
        name="conv_backward_fast_loops_over_filters",
        story="Computes dw one filter at a time.",
        cell="conv_backward_fast",
        edits=(
            (
                "    dw = (dout_rows @ cols.T).reshape(F, C, HH, WW)\n",
                "    dw = np.stack([dout_rows[f] @ cols.T for f in range(F)])\n"
                "    dw = dw.reshape(F, C, HH, WW)\n",
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
    ),
    Mutant(
        name="conv_forward_fast_no_bias_check",
        story="Only checks that b is 1-D, so a single bias is broadcast over all filters.",
        cell="conv_forward_fast",
        edits=(
            (
                "if b.shape != (F,):",
                "if b.ndim != 1:",
            ),
        ),
        fails=frozenset(
            {
                "test_conv_forward_fast_shape",
            }
        ),
    ),
    Mutant(
        name="conv_backward_fast_keeps_padding",
        story="Returns the gradient of the padded input: dx is too large by the padding.",
        cell="conv_backward_fast",
        edits=(("dx_pad[:, :, P:P + H, P:P + W].transpose", "dx_pad.transpose"),),
        fails=frozenset(
            {
                "test_conv_backward_fast_shapes",
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
            }
        ),
    ),
    Mutant(
        name="conv_backward_fast_db_wrong_axes",
        story="Sums dout over the filters and pixels for db, giving one value per example.",
        cell="conv_backward_fast",
        edits=(("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(1, 2, 3))"),),
        fails=frozenset(
            {
                "test_conv_backward_fast_shapes",
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
                "test_convnet_accuracy",
                "test_convnet_grads",
            }
        ),
    ),
    Mutant(
        name="conv_backward_fast_overwrites_overlaps",
        story="Assigns each offset's window gradients instead of adding them where windows meet.",
        cell="conv_backward_fast",
        edits=(("j:j + S * W_out:S] += dcols", "j:j + S * W_out:S] = dcols"),),
        fails=frozenset(
            {
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
            }
        ),
    ),
    Mutant(
        name="conv_backward_fast_col2im_ignores_stride",
        story="Scatters the window gradients back at every position instead of every stride-th.",
        cell="conv_backward_fast",
        edits=(
            ("[:, :, i:i + S * H_out:S, j:j + S * W_out:S]", "[:, :, i:i + H_out, j:j + W_out]"),
        ),
        fails=frozenset(
            {
                "test_conv_backward_fast_stride",
            }
        ),
    ),
    Mutant(
        name="max_pool_forward_fast_no_transpose",
        story="Reshapes x to (N, C, H', W', 4) directly, mixing pixels of different windows.",
        cell="max_pool_forward_fast",
        edits=(
            (
                "x.reshape(N, C, H_out, PH, W_out, PW).transpose(0, 1, 2, 4, 3, 5)",
                "x.reshape(N, C, H_out, PH, W_out, PW)",
            ),
        ),
        fails=frozenset(
            {
                "test_convnet_accuracy",
                "test_convnet_grads",
                "test_convnet_loss",
                "test_convnet_scores",
                "test_max_pool_backward_fast",
                "test_max_pool_forward_fast",
            }
        ),
    ),
    Mutant(
        name="max_pool_forward_fast_accepts_overlap",
        story="Only checks that the windows fit, so overlapping windows are pooled as if tiling.",
        cell="max_pool_forward_fast",
        edits=(
            (
                "if not (PH == PW == S and S >= 1 and H % PH == 0 and W % PW == 0):",
                "if H % PH != 0 or W % PW != 0:",
            ),
        ),
        fails=frozenset(
            {
                "test_max_pool_forward_fast",
            }
        ),
    ),
    Mutant(
        name="max_pool_fast_all_tied_maxima",
        story="Sends each window's whole gradient to every entry equal to its maximum.",
        cell="max_pool_forward_fast",
        edits=(
            (
                "cache = (x.shape, pool_param, argmax)",
                "cache = (x.shape, pool_param, windows == out[..., None])",
            ),
        ),
        also=(
            (
                "max_pool_backward_fast",
                (
                    (
                        "np.put_along_axis(dwindows, argmax[..., None], dout[..., None], axis=-1)",
                        "dwindows = argmax * dout[..., None]",
                    ),
                ),
            ),
        ),
        fails=frozenset({"test_max_pool_backward_fast"}),
    ),
    Mutant(
        name="max_pool_backward_fast_whole_window",
        story="Copies each window's gradient to all of its pixels, not only to the maximum.",
        cell="max_pool_backward_fast",
        edits=(
            (
                "np.put_along_axis(dwindows, argmax[..., None], dout[..., None], axis=-1)",
                "dwindows[...] = dout[..., None]",
            ),
        ),
        fails=frozenset(
            {
                "test_convnet_grads",
                "test_max_pool_backward_fast",
            }
        ),
    ),
    Mutant(
        name="convnet_random_biases",
        story="Initialises the biases with random numbers like the weights.",
        cell="convnet",
        edits=(
            ('"b1": np.zeros(F)', '"b1": weight_scale * rng.standard_normal(F)'),
            ('"b2": np.zeros(hidden_dim)', '"b2": weight_scale * rng.standard_normal(hidden_dim)'),
        ),
        fails=frozenset(
            {
                "test_convnet_init",
            }
        ),
    ),
    Mutant(
        name="convnet_conv_without_padding",
        story="Calls the convolution with pad 0, so the maps shrink and no longer fit W2.",
        cell="convnet",
        edits=(
            (
                "conv_forward_fast(X, W1, b1, self.conv_param)",
                'conv_forward_fast(X, W1, b1, {"stride": 1, "pad": 0})',
            ),
        ),
        fails=frozenset(
            {
                "test_convnet_accuracy",
                "test_convnet_grads",
                "test_convnet_loss",
                "test_convnet_scores",
            }
        ),
    ),
    Mutant(
        name="convnet_average_pooling",
        story="Pools with the average of each 2x2 window instead of its maximum.",
        cell="convnet",
        edits=(
            (
                "pooled, pool_cache = max_pool_forward_fast(conv, self.pool_param)",
                "pooled = (conv[:, :, 0::2, 0::2] + conv[:, :, 0::2, 1::2] + conv[:, :, 1::2, 0::2]"
                " + conv[:, :, 1::2, 1::2]) / 4",
            ),
            (
                "dconv = max_pool_backward_fast(dpooled, pool_cache)",
                "dconv = np.repeat(np.repeat(dpooled, 2, axis=2), 2, axis=3) / 4",
            ),
        ),
        fails=frozenset(
            {
                "test_convnet_accuracy",
                "test_convnet_grads",
                "test_convnet_loss",
                "test_convnet_scores",
            }
        ),
    ),
    Mutant(
        name="convnet_reg_without_half",
        story="Adds reg * sum(W ** 2) to the loss, without the factor 0.5 (the gradients have it).",
        cell="convnet",
        edits=(("loss += 0.5 * self.reg * (", "loss += self.reg * ("),),
        fails=frozenset(
            {
                "test_convnet_loss",
            }
        ),
    ),
    Mutant(
        name="convnet_no_reg_in_grads",
        story="Adds the regularisation to the loss but forgets its gradient.",
        cell="convnet",
        edits=(
            ('grads["W1"] += self.reg * W1\n', ""),
            ('grads["W2"] += self.reg * W2\n', ""),
            ('grads["W3"] += self.reg * W3\n', ""),
        ),
        fails=frozenset(
            {
                "test_convnet_grads",
            }
        ),
    ),
    Mutant(
        name="train_gradient_ascent",
        story="Adds the gradient in the momentum update, climbing the loss instead of descending.",
        cell="train",
        edits=(("- learning_rate * grads[name]", "+ learning_rate * grads[name]"),),
        fails=frozenset(
            {
                "test_convnet_accuracy",
            }
        ),
    ),
    Mutant(
        name="receptive_field_accepts_zero",
        story="Accepts 0 as a kernel size or stride (it checks value < 0 instead of value < 1).",
        cell="receptive_field",
        edits=(
            (
                "or value < 1:",
                "or value < 0:",
            ),
        ),
        fails=frozenset(
            {
                "test_receptive_field_stride1",
            }
        ),
    ),
    Mutant(
        name="train_no_validation_history",
        story="Trains well but never records the validation accuracy in history.",
        cell="train",
        edits=(
            (
                'history["val_acc"].append(np.mean',
                "(np.mean",
            ),
        ),
        fails=frozenset(
            {
                "test_convnet_accuracy",
            }
        ),
    ),
    Mutant(
        name="receptive_field_counts_whole_kernel",
        story="Starts from 0 pixels and adds kernel_size * jump per layer: one pixel too many.",
        cell="receptive_field",
        edits=(
            ("size, jump = 1, 1", "size, jump = 0, 1"),
            ("size += (kernel - 1) * jump", "size += kernel * jump"),
        ),
        fails=frozenset(
            {
                "test_receptive_field_stride1",
                "test_receptive_field_strides",
            }
        ),
    ),
    Mutant(
        name="receptive_field_jump_too_early",
        story="Multiplies the jump by the layer's own stride before growing the receptive field.",
        cell="receptive_field",
        edits=(
            (
                "        size += (kernel - 1) * jump  # the kernel's extra taps reach further by "
                "`jump` pixels each\n        jump *= stride",
                "        jump *= stride\n        size += (kernel - 1) * jump",
            ),
        ),
        fails=frozenset(
            {
                "test_receptive_field_strides",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_tiling_check",
        story="Brings a2's conv_output_size along, which raises when the windows do not tile.",
        cell="conv_forward_fast",
        edits=(
            ("H_out = 1 + (H + 2 * P - HH) // S", "H_out = conv_output_size(H, HH, S, P)"),
            ("W_out = 1 + (W + 2 * P - WW) // S", "W_out = conv_output_size(W, WW, S, P)"),
        ),
        fails=frozenset(
            {
                "test_conv_forward_fast_shape",
                "test_conv_forward_fast_stride",
                "test_conv_backward_fast_shapes",
                "test_conv_backward_fast_stride",
            }
        ),
    ),
    Mutant(
        name="conv_forward_fast_loops_and_forges_line_count",
        story="Loops over the channels and the output positions (cheap on one-channel digits), "
        "and replaces helpers.cost's line counter with one that says 0, so the line checks "
        "pass: the grader's own clock catches the loop.",
        cell="conv_forward_fast",
        edits=(
            (
                "    out = w.reshape(F, -1) @ cols  # (F, N * H' * W')\n",
                FORGED_LINE_COUNT + CHANNEL_AND_POSITION_LOOP_FORWARD,
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
        may_fail=frozenset({"test_convnet_accuracy"}),  # training may outlast the cell's limit
        may_stop=frozenset({"train"}),
    ),
    Mutant(
        name="conv_forward_fast_loops_over_positions",
        story="Loops over the output positions only, each one a matrix product over all the "
        "examples, channels and filters at once: no loop the line counts can see grow.",
        cell="conv_forward_fast",
        edits=(
            (
                "    out = w.reshape(F, -1) @ cols  # (F, N * H' * W')\n",
                "    out = np.empty((F, N, H_out, W_out), dtype=cols.dtype)\n"
                "    for i in range(H_out):\n"
                "        for j in range(W_out):\n"
                "            window = windows[:, :, i, j].reshape(N, -1)  # (N, C * HH * WW)\n"
                "            out[:, :, i, j] = w.reshape(F, -1) @ window.T\n"
                "    out = out.reshape(F, N * H_out * W_out)\n",
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
        may_fail=frozenset({"test_convnet_accuracy"}),  # training may outlast the cell's limit
        may_stop=frozenset({"train"}),
    ),
    Mutant(
        name="conv_forward_fast_loops_forges_and_slows_the_baseline",
        story="Loops over the channels and positions, forges the line counter, and sleeps on "
        "inputs with 16x16 filters (few output positions), hoping a self-made baseline hides "
        "the loop.",
        cell="conv_forward_fast",
        edits=(
            (
                "    out = w.reshape(F, -1) @ cols  # (F, N * H' * W')\n",
                "    import time\n"
                + FORGED_LINE_COUNT
                + "    if w.shape[-1] == 16:\n"
                "        time.sleep(0.05)\n"
                + CHANNEL_AND_POSITION_LOOP_FORWARD,
            ),
        ),
        fails=frozenset({"test_conv_fast_speed"}),
        may_fail=frozenset({"test_convnet_accuracy"}),  # training may outlast the cell's limit
        may_stop=frozenset({"train"}),
    ),
    Mutant(
        name="conv_backward_fast_numerical",
        story="Rebuilds x from cols and computes the gradients numerically with the fast forward.",
        cell="conv_backward_fast",
        edits=(("x_shape, w, cols, conv_param = cache", NUMERICAL_CONV_BACKWARD_FAST),),
        fails=frozenset(
            {
                "test_conv_backward_fast_shapes",
                "test_conv_backward_fast_stride",
                "test_conv_backward_fast_values",
                "test_conv_fast_speed",
                "test_convnet_accuracy",
            }
        ),
        may_stop=frozenset({"train"}),  # training with it may outlast the cell's limit
    ),
    Mutant(
        name="convnet_regularises_biases",
        story="Adds the biases to the L2 regularisation, in the loss and in their gradients.",
        cell="convnet",
        edits=(
            ("np.sum(W3**2))", "np.sum(W3**2) + np.sum(b1**2) + np.sum(b2**2) + np.sum(b3**2))"),
            (
                'grads["W3"] += self.reg * W3',
                'grads["W3"] += self.reg * W3\n'
                '        for name, bias in (("b1", b1), ("b2", b2), ("b3", b3)):\n'
                '            grads[name] += self.reg * bias',
            ),
        ),
        fails=frozenset({"test_convnet_loss", "test_convnet_grads"}),
    ),
]

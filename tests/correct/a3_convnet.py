"""Correct solutions of assignment 3 written in other ways; each must get full marks."""

from tests.correct import Variant

CHECKS = '''    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W); got shape {x.shape}")
    if w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(f"w must be (F, C, HH, WW) with C = {x.shape[1]}; got shape {w.shape}")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},); got shape {b.shape}")
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    if HH > H + 2 * P or WW > W + 2 * P:
        raise ValueError(f"w {w.shape} is larger than x {x.shape} padded by {P}")
    H_out, W_out = 1 + (H + 2 * P - HH) // S, 1 + (W + 2 * P - WW) // S
    x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
'''

AS_STRIDED_FORWARD = '''
from numpy.lib.stride_tricks import as_strided


def conv_forward_fast(x, w, b, conv_param):
''' + CHECKS + '''    sN, sC, sH, sW = x_pad.strides
    windows = as_strided(x_pad, shape=(C, HH, WW, N, H_out, W_out),
                         strides=(sC, sH, sW, sN, sH * S, sW * S), writeable=False)
    cols = windows.reshape(C * HH * WW, N * H_out * W_out)  # a copy
    out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(F, N, H_out, W_out)
    return out.transpose(1, 0, 2, 3), (x.shape, w, cols, conv_param)  # a view, not a copy
'''

ADD_AT_BACKWARD = '''
def conv_backward_fast(dout, cache):
    x_shape, w, cols, conv_param = cache
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2:]
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    db = dout_rows.sum(axis=1)
    dw = (dout_rows @ cols.T).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ dout_rows).reshape(C, HH, WW, N, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * P, W + 2 * P), dtype=dcols.dtype)
    c, k, l, n, i, j = np.indices(dcols.shape, sparse=True)
    np.add.at(dx_pad, (n, c, i * S + k, j * S + l), dcols)
    return dx_pad[:, :, P:P + H, P:P + W], dw, db
'''

EINSUM_FORWARD = '''
def conv_forward_fast(x, w, b, conv_param):
''' + CHECKS + '''    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::S, ::S]
    out = np.einsum("nchwkl,fckl->nfhw", windows, w, optimize=True) + b[None, :, None, None]
    return out, (x_pad, w, conv_param, x.shape)
'''

EINSUM_BACKWARD = '''
def conv_backward_fast(dout, cache):
    x_pad, w, conv_param, (N, C, H, W) = cache
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2:]
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::S, ::S]
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfhw,nchwkl->fckl", dout, windows, optimize=True)
    dx_pad = np.zeros(x_pad.shape, dtype=np.result_type(dout, w))
    for k in range(HH):  # one step per filter offset, not per pixel
        for l in range(WW):
            dx_pad[:, :, k:k + S * H_out:S, l:l + S * W_out:S] += np.tensordot(
                dout, w[:, :, k, l], axes=([1], [0])
            ).transpose(0, 3, 1, 2)
    return dx_pad[:, :, P:P + H, P:P + W], dw, db
'''

TIES_EVENLY_FORWARD = '''
def max_pool_forward_fast(x, pool_param):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D; got shape {x.shape}")
    PH, PW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    if not (PH == PW == S and S >= 1 and H % S == 0 and W % S == 0):
        raise ValueError(f"only square windows that tile x {x.shape}; got {pool_param}")
    windows = x.reshape(N, C, H // S, S, W // S, S)  # a view
    out = windows.max(axis=(3, 5))
    return out, (windows, out)
'''

OFFSET_LOOP_FORWARD = '''
def conv_forward_fast(x, w, b, conv_param):
''' + CHECKS + '''    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w))
    for k in range(HH):  # one matrix product per filter offset: no loop over pixels
        for l in range(WW):
            patch = x_pad[:, :, k:k + S * H_out:S, l:l + S * W_out:S]  # (N, C, H', W')
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, k, l])
    out += b[None, :, None, None]
    cols = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::S, ::S]
    cols = cols.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, -1)
    return out, (x.shape, w, cols, conv_param)
'''

TIES_EVENLY_BACKWARD = '''
def max_pool_backward_fast(dout, cache):
    windows, out = cache
    mask = windows == out[:, :, :, None, :, None]
    share = (mask / mask.sum(axis=(3, 5), keepdims=True)).astype(dout.dtype)
    dx = share * dout[:, :, :, None, :, None]  # ties split evenly
    N, C, H_out, S, W_out, _ = windows.shape
    return dx.reshape(N, C, H_out * S, W_out * S)
'''

VARIANTS = [
    Variant(
        name="as_strided_and_add_at",
        story="im2col with as_strided, col2im with np.add.at; out returned as a transposed view.",
        cells=(("conv_forward_fast", AS_STRIDED_FORWARD), ("conv_backward_fast", ADD_AT_BACKWARD)),
        needs="non-contiguous arrays cross to the judge",
    ),
    Variant(
        name="einsum_and_tensordot",
        story="The fast layer with np.einsum on a window view; dx by tensordot per filter offset.",
        cells=(("conv_forward_fast", EINSUM_FORWARD), ("conv_backward_fast", EINSUM_BACKWARD)),
    ),
    Variant(
        name="loop_over_filter_offsets",
        story="The forward adds one matrix product per filter offset (HH * WW of them), as "
        "col2im does: the loop the task allows.",
        cells=(("conv_forward_fast", OFFSET_LOOP_FORWARD),),
    ),
    Variant(
        name="pool_ties_split_evenly",
        story="Max pooling by reshaping; at ties the gradient is split evenly among the maxima.",
        cells=(("max_pool_forward_fast", TIES_EVENLY_FORWARD),
               ("max_pool_backward_fast", TIES_EVENLY_BACKWARD)),
    ),
    Variant(
        name="receptive_field_array",
        story="receptive_field returns a numpy array (empty for no layers).",
        edits=(("receptive_field", "    return sizes", "    return np.array(sizes, dtype=int)"),),
        needs="zero-size arrays cross to the judge",
    ),
    Variant(
        name="magics_in_training",
        story="%%time on the training cell, %matplotlib inline in an extra cell, epoch prints.",
        edits=(
            ("train", "history = {", "%%time\nhistory = {"),
            ("train", '    history["val_acc"].append(np.mean(np.argmax(model.loss(X_val), axis=1) == y_val))',
             '    history["val_acc"].append(np.mean(np.argmax(model.loss(X_val), axis=1) == y_val))\n'
             '    print("epoch", epoch, "val", history["val_acc"][-1])'),
        ),
        extra=(("earlier_layers", "%matplotlib inline\nprint('layers ready')"),),
        needs="IPython magics (%%time runs its body, %matplotlib runs)",
    ),
    Variant(
        name="float32_training",
        story="Trains on float32 images with float32 parameters and velocities.",
        edits=(
            ("train", "rng = np.random.default_rng(0)",
             "rng = np.random.default_rng(0)\n"
             "X_train32 = X_train.astype(np.float32)\n"
             "model.params = {k: v.astype(np.float32) for k, v in model.params.items()}"),
            ("train", "model.loss(X_train[batch], y_train[batch])",
             "model.loss(X_train32[batch], y_train[batch])"),
            ("train", "- learning_rate * grads[name]",
             "- np.float32(learning_rate) * grads[name].astype(np.float32)"),
        ),
    ),
    Variant(
        name="another_honest_configuration",
        story="Plain momentum SGD with learning rate 0.1, minibatches of 64, no regularisation.",
        edits=(
            ("train", "weight_scale=0.1, reg=1e-3, seed=0)", "weight_scale=0.1, reg=0.0, seed=1)"),
            ("train", "rng = np.random.default_rng(0)", "rng = np.random.default_rng(1)"),
            ("train", "0.05, 0.9, 32, 15", "0.1, 0.9, 64, 15"),
        ),
    ),
]

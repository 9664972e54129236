"""Figure 1: the reference fast convolution against the naive one, PyTorch and matmul peak."""

from __future__ import annotations

import numpy as np

from .common import Row, Section, blas_threads, interleaved, median, paired_ratio, seconds
from .common import verdict as judged

# (name, x shape, w shape, stride, pad)
CASES = [
    ("7x7", (50, 3, 32, 32), (32, 3, 7, 7), 1, 3),
    ("3x3", (64, 16, 28, 28), (32, 16, 3, 3), 1, 1),
]
QUICK_CASES = [("3x3 tiny", (4, 3, 8, 8), (4, 3, 3, 3), 1, 1)]
DTYPES = ("float64", "float32")
TORCH_LIMIT = {"float64": 1.0, "float32": 2.0}  # fast time / torch time must stay under this
SPEEDUP_TARGET = 100.0  # naive time / fast time
PEAK_SHARE_TARGET = 0.35
NO_TORCH = "torch not installed: pip install -e '.[bench]'"
AGREEMENT = {"float64": 1e-9, "float32": 1e-3}  # largest relative error accepted between results


def conv_flops(x_shape, w_shape, stride: int, pad: int) -> int:
    """Floating-point operations of one forward pass: 2*N*F*C*HH*WW*H'*W'."""
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    return 2 * N * F * C * HH * WW * Ho * Wo


def load_torch():
    """PyTorch set to numpy's BLAS thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(blas_threads())
    return torch


def _fast_pass(forward, backward, x, w, b, param, dout):
    def run():
        _, cache = forward(x, w, b, param)
        return backward(dout, cache)

    return run


def _torch_pass(torch, x, w, b, stride, pad, dout):
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    dt = torch.from_numpy(dout.copy())

    def run():
        for t in (xt, wt, bt):
            t.grad = None
        out = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
        out.backward(dt)
        return xt.grad, wt.grad, bt.grad

    return run


def _matmul(n: int, dtype: str):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    c = np.empty((n, n), dtype)
    return lambda: np.matmul(a, b, out=c)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-12, float(np.max(np.abs(a) + np.abs(b)))))


def run(quick: bool = False, fast=None, naive=None) -> Section:
    """Time forward + backward of every case and dtype; `fast`/`naive` default to the references."""
    section = Section("conv", "Fast convolution (a3 reference)")
    if fast is None or naive is None:
        from instructor.reference import load_reference

        fast = fast or load_reference("a3_convnet")
        naive = naive or load_reference("a2_convolution")
    torch = load_torch()
    cases = QUICK_CASES if quick else CASES
    rounds, naive_rounds, naive_n = (3, 2, 1) if quick else (7, 3, 1)
    mm_n = 128 if quick else 2048
    section.data.update(
        blas_threads=blas_threads(),
        torch=torch.__version__ if torch else None,
        torch_threads=torch.get_num_threads() if torch else None,
        matmul_size=mm_n,
        rounds=rounds,
        cases={},
    )
    if torch is None:
        section.notes.append(NO_TORCH)
    else:
        section.notes.append(
            f"PyTorch {torch.__version__} CPU set to {torch.get_num_threads()} threads = numpy's "
            f"BLAS threads ({blas_threads()}, threadpoolctl)."
        )
    section.notes.append(
        f"Times are medians over {rounds} interleaved rounds (fast, PyTorch and a {mm_n}^2 matmul "
        "in turns, each round: 1 warm-up + best of 3); ratios are medians of per-round ratios."
    )
    for name, xs, ws, stride, pad in cases:
        for dtype in DTYPES:
            label = f"conv {name} {dtype}"
            data = _measure(
                fast, naive, torch, xs, ws, stride, pad, dtype, rounds, naive_rounds, naive_n, mm_n
            )
            section.data["cases"][label] = data
            section.rows.extend(_rows(label, data, dtype))
            for other in ("naive", "torch"):
                err = data.get(f"rel_error_vs_{other}")
                if err is not None and err > AGREEMENT[dtype]:
                    section.notes.append(
                        f"{label}: fast and {other} disagree (rel. error {err:.1e})"
                    )
    return section


def _measure(fast, naive, torch, xs, ws, stride, pad, dtype, rounds, naive_rounds, naive_n, mm_n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = (rng.standard_normal(ws) * 0.1).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    param = {"stride": stride, "pad": pad}
    out, _ = fast.conv_forward_fast(x, w, b, param)
    dout = rng.standard_normal(out.shape).astype(dtype)
    flops = 3 * conv_flops(xs, ws, stride, pad)  # forward + backward (2x forward)
    data = {
        "x": list(xs),
        "w": list(ws),
        "stride": stride,
        "pad": pad,
        "dtype": dtype,
        "flops_fwd_bwd": flops,
        "fast_out_dtype": str(out.dtype),
    }

    competitors = {
        "fast": _fast_pass(fast.conv_forward_fast, fast.conv_backward_fast, x, w, b, param, dout),
        "matmul": _matmul(mm_n, dtype),
    }
    if torch is not None:
        competitors["torch"] = _torch_pass(torch, x, w, b, stride, pad, dout)
        grads = competitors["torch"]()
        mine = competitors["fast"]()
        data["rel_error_vs_torch"] = max(
            _rel(a, g.numpy()) for a, g in zip(mine, grads, strict=True)
        )
    times = interleaved(competitors, rounds, inner=3)
    data["times"] = times
    data["fast_s"] = median(times["fast"])
    data["gflops"] = flops / data["fast_s"] / 1e9
    data["matmul_gflops"] = 2 * mm_n**3 / median(times["matmul"]) / 1e9
    data["peak_share"] = 1 / paired_ratio(
        [t / flops for t in times["fast"]], [t / (2 * mm_n**3) for t in times["matmul"]]
    )
    if torch is not None:
        data["torch_s"] = median(times["torch"])
        data["fast_over_torch"] = paired_ratio(times["fast"], times["torch"])

    n = min(naive_n, xs[0])
    small = x[:n], dout[:n]
    pair = {
        "naive": _fast_pass(
            naive.conv_forward_naive, naive.conv_backward_naive, small[0], w, b, param, small[1]
        ),
        "fast": competitors["fast"],
    }
    naive_out, _ = naive.conv_forward_naive(small[0], w, b, param)
    data["rel_error_vs_naive"] = _rel(naive_out, out[:n])
    slow = interleaved(pair, naive_rounds, inner=1, warmup=False)
    scale = xs[0] / n
    data.update(naive_images=n, naive_scale=scale, naive_times=slow["naive"])
    data["naive_s"] = median(slow["naive"]) * scale
    data["speedup_vs_naive"] = paired_ratio([t * scale for t in slow["naive"]], slow["fast"])
    return data


def _rows(label, d, dtype) -> list[Row]:
    scaled = (
        f" (naive timed on {d['naive_images']} image(s), scaled x{d['naive_scale']:g})"
        if d["naive_scale"] != 1
        else ""
    )
    rows = [
        Row(
            f"{label}: fwd+bwd vs naive",
            f">= {SPEEDUP_TARGET:g}x faster",
            f"fast {seconds(d['fast_s'])}, naive {seconds(d['naive_s'])}{scaled}",
            f"{d['speedup_vs_naive']:.0f}x",
            judged(d["speedup_vs_naive"] >= SPEEDUP_TARGET),
            d["speedup_vs_naive"],
        ),
    ]
    limit = TORCH_LIMIT[dtype]
    target = "no slower than PyTorch" if limit == 1 else f"within {limit:g}x of PyTorch"
    if "torch_s" in d:
        rows.append(
            Row(
                f"{label}: fwd+bwd vs PyTorch",
                target,
                f"fast {seconds(d['fast_s'])}, torch {seconds(d['torch_s'])}",
                f"{d['fast_over_torch']:.2f}x torch's time",
                judged(d["fast_over_torch"] <= limit),
                d["fast_over_torch"],
            )
        )
    else:
        rows.append(Row(f"{label}: fwd+bwd vs PyTorch", target, NO_TORCH, "", "skipped"))
    rows.append(
        Row(
            f"{label}: share of matmul peak",
            f">= {PEAK_SHARE_TARGET:.0%}",
            f"{d['gflops']:.1f} of {d['matmul_gflops']:.0f} GFLOP/s",
            f"{d['peak_share']:.0%}",
            judged(d["peak_share"] >= PEAK_SHARE_TARGET),
            d["peak_share"],
        )
    )
    return rows

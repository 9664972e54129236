"""BLAS threads sized to the machine: one per process, as the grader runs student code.

On a small machine numpy's BLAS starts a thread per core in every kernel, and the threads of two
kernels (or of a kernel and the grader) fight over the cores: a3's training then runs several
times slower than with one thread. Importing `helpers` inside a Jupyter kernel calls
`limit_blas_threads()`; set CONVNETS_BLAS_THREADS=N to choose another number.
"""

from __future__ import annotations

import os
import sys

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads() -> int:
    """The number of BLAS threads the course uses: CONVNETS_BLAS_THREADS, else 1."""
    value = os.environ.get("CONVNETS_BLAS_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"CONVNETS_BLAS_THREADS must be a positive integer; got {value!r}")
    return threads


def blas_environment(threads: int | None = None) -> dict[str, str]:
    """The environment variables that size BLAS before numpy loads (for kernels and workers)."""
    threads = blas_threads() if threads is None else threads
    return {name: str(threads) for name in VARIABLES}


def limit_blas_threads(threads: int | None = None) -> int:
    """Limit BLAS to `threads` in this process, now and for libraries loaded later; returns it."""
    threads = blas_threads() if threads is None else threads
    os.environ.update(blas_environment(threads))  # libraries not loaded yet read these
    if "numpy" in sys.modules:  # already loaded: its BLAS has started its threads
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
    return threads


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel."""
    return "ipykernel" in sys.modules

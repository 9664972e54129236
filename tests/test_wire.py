"""The wire format: every value numpy can return crosses as data; nothing decodes as a callable."""

import os
import subprocess

import numpy as np
import pytest

from instructor.engine import proxy, wire
from instructor.engine.worker import Worker

DTYPES = [
    "bool", "float16", "float32", "float64", "complex64", "complex128",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", ">f8", ">i4",
]  # fmt: skip
SHAPES = [(), (0,), (3, 0), (0, 4, 2), (2, 3), (1, 1, 1, 1)]


def roundtrip(value, special=None):
    """Encode as the worker does, pack, unpack and decode as the judge does."""
    worker = Worker.__new__(Worker)
    worker.handles, worker.origins = {}, {}
    encoder = wire.Encoder(worker._fallback)
    tree = encoder.encode_or_fallback(value)
    frame = wire.pack({"ok": {"value": tree}}, encoder.buffers)
    msg, buffers = wire.unpack(frame)
    link = proxy.Link(None)
    return wire.Decoder(buffers, special or link.special).decode(msg["ok"]["value"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_every_numeric_dtype_and_shape_crosses_exactly(dtype, shape):
    value = (np.arange(int(np.prod(shape))) % 3).astype(dtype).reshape(shape)
    got = roundtrip(value)
    assert type(got) is np.ndarray and got.shape == shape and got.dtype == value.dtype
    assert np.array_equal(got, value) and got.flags.writeable


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, ::2],
        lambda a: a.T,
        lambda a: a[::-1],
        lambda a: a[1:1],
        lambda a: a[:, :0],
        lambda a: np.lib.stride_tricks.sliding_window_view(a, (2, 2)),
        lambda a: np.broadcast_to(a[0], (5, 4)),
        lambda a: a[0, 0, ...],
    ],
    ids=["strided", "transposed", "reversed", "empty-slice", "empty-axis", "windows", "broadcast",
         "0-d view"],
)  # fmt: skip
def test_views_cross_as_their_values(view):
    value = view(np.arange(12.0).reshape(3, 4))
    got = roundtrip(value)
    assert got.shape == value.shape and np.array_equal(got, value)


def test_numpy_scalars_types_and_dtypes_cross_as_the_judges_own():
    values = [np.float16(1.5), np.int8(-3), np.uint64(2**63), np.bool_(True), np.complex64(1j)]
    for value in values:
        got = roundtrip(value)
        assert type(got) is type(value) and got == value
    for kind in (np.float32, np.int64, np.bool_, float, int):
        assert roundtrip(kind) is kind
    assert roundtrip(np.dtype("float32")) == np.dtype("float32")
    assert roundtrip([np.float64, np.dtype("<i2"), (np.zeros((0, 2)), 1)])[2][0].shape == (0, 2)


def test_a_call_returning_an_empty_array_keeps_its_other_outputs():
    got = roundtrip((np.zeros((2, 0, 3)), np.ones(3), np.array(7.0)))
    assert [g.shape for g in got] == [(2, 0, 3), (3,), ()]


@pytest.mark.parametrize(
    "value, words",
    [
        (np.array(["a", "b"]), "array of dtype <U1, shape (2,)"),
        (np.array([object(), 1], dtype=object), "array of dtype object, shape (2,)"),
        (np.zeros(2, dtype=[("a", "f8")]), "<student ndarray>"),  # field names: student text
    ],
    ids=["strings", "objects", "records"],
)
def test_arrays_that_are_not_numbers_become_handles_that_say_what_they_are(value, words):
    got = roundtrip(value)
    assert isinstance(got, proxy.Proxy) and words in repr(got)
    with pytest.raises(TypeError, match="cannot use as an array"):
        np.asarray(got)


@pytest.mark.parametrize(
    "obj",
    [os.fork, os.system, subprocess.Popen, exec, eval, print, np.save, np.load, open],
    ids=lambda f: getattr(f, "__name__", "f"),
)
def test_functions_of_trusted_modules_never_decode_as_the_judges_own(obj):
    got = roundtrip(obj)
    assert isinstance(got, proxy.Proxy), got


def test_named_function_nodes_are_refused():
    for node in (["F", "os", "fork", 1], ["F", "builtins", "exec"], ["M", "os"]):
        with pytest.raises(wire.WireError):
            wire.Decoder([], proxy.Link(None).special).decode(node)


def test_only_numpy_helpers_and_math_modules_map_to_the_judges_own():
    import math
    import sys

    assert roundtrip(np) is np and roundtrip(np.linalg) is np.linalg and roundtrip(math) is math
    for module in (os, subprocess, sys):
        assert isinstance(roundtrip(module), proxy.Proxy)


def test_the_decoder_checks_sizes_before_it_allocates():
    frame = wire.pack({"ok": ["A", "<f8", [2**20, 2**20], 0]}, [b"\0" * 8])
    msg, buffers = wire.unpack(frame)
    with pytest.raises(wire.WireError, match="disagree"):
        wire.Decoder(buffers, None).decode(msg["ok"])
    with pytest.raises(wire.WireError, match="shape"):
        wire.Decoder(buffers, None).decode(["A", "<f8", [-1], 0])


def test_a_value_larger_than_the_cap_travels_as_a_handle():
    big = np.zeros(wire.MAX_VALUE // 8 + 1)
    got = roundtrip(big)
    assert isinstance(got, proxy.Proxy) and "MB" in repr(got)


def test_oversized_frames_are_refused_before_reading_them():
    r, w = os.pipe()
    try:
        os.write(w, wire.HEADER.pack(wire.MAX_MESSAGE, 1))
        with pytest.raises(wire.WireError, match="exceeds"):
            wire.Channel(r, w).recv_frame(deadline=None)
    finally:
        os.close(r)
        os.close(w)


def test_a_proxy_quotes_no_student_words_but_the_worker_array_description():
    link = proxy.Link(None)
    leak = "Seen_0_4417"
    assert leak not in repr(proxy.Proxy(link, 1, leak, leak))
    assert leak not in repr(proxy.Proxy(link, 1, "ndarray", f"array of dtype {leak}, shape (2,)"))
    assert repr(proxy.Proxy(link, 1, "ndarray", "array of dtype <f8, shape (2, 3)")) == (
        "<student array of dtype <f8, shape (2, 3)>")
    assert repr(proxy.Proxy(link, 1, "function", "conv_forward")) == "<student function>"


@pytest.mark.parametrize("params, label", [
    (["x"], "x"), (["dout"], "dout"), (["seen_0_4417_and_more"], "argument 1"),
    (["Seen"], "argument 1"), ([], "argument 1"),
])
def test_a_modified_argument_is_named_by_a_short_parameter_name_only(params, label):
    assert proxy.ArgPath(0).label(params) == label

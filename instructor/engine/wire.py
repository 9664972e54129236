"""A data-only wire format between grading processes: framed JSON plus raw array bytes."""

from __future__ import annotations

import json
import math
import os
import re
import select
import struct
import sys
import time

MAX_MESSAGE = 128 * 2**20  # bytes in one frame: larger frames are refused before reading them
MAX_VALUE = MAX_MESSAGE // 2  # bytes of data in one copied value: larger ones travel as handles
MAX_DEPTH = 64
MAX_NODES = 200_000
HEADER = struct.Struct("!II")  # (JSON length, blob length)
DTYPE = re.compile(r"^[<>|=][biufc][0-9]{1,2}$")
PLAIN_SCALARS = (type(None), bool, int, float, str)


class WireError(Exception):
    """A message that is malformed, oversized or not plain data."""


class TooLarge(WireError):
    """A value too big or too deep to send as a copy."""


class Channel:
    """Framed messages over a pair of pipe file descriptors (one reader, one writer)."""

    def __init__(self, rfd: int, wfd: int):
        self.rfd, self.wfd = rfd, wfd
        self._frame: bytearray | None = None
        self._got = 0

    def send(self, msg: dict, buffers: list | None = None, deadline: float | None = None) -> None:
        """Send one message whose "_b" table gives the lengths of `buffers`."""
        for part in pack_parts(msg, buffers or []):
            self.send_frame(part, deadline)

    def send_frame(self, frame, deadline: float | None = None) -> None:
        """Send already packed bytes (a whole frame, or its parts in order).

        With a deadline (and a non-blocking descriptor), a reader that stops reading before it
        raises TimeoutError instead of blocking the writer for good.
        """
        view = memoryview(frame).cast("B")
        while view:
            if deadline is not None:
                wait = max(0.0, deadline - time.monotonic())
                if not select.select([], [self.wfd], [], wait)[1]:
                    raise TimeoutError("the reader stopped reading")
            try:
                written = os.write(self.wfd, view)
            except BlockingIOError:
                continue
            view = view[written:]

    def recv(self, deadline: float | None = None) -> tuple[dict, list] | None:
        """The next message and its buffers; None on deadline; EOFError when the peer is gone."""
        frame = self.recv_frame(deadline)
        return None if frame is None else unpack(frame)

    def recv_frame(self, deadline: float | None = None, alive=None) -> bytearray | None:
        """The next raw frame, read with a size cap; None on deadline (call again to resume)."""
        if self._frame is None:
            self._frame, self._got = bytearray(HEADER.size), 0
        if len(self._frame) == HEADER.size and self._got < HEADER.size:
            if not self._fill(deadline, alive):
                return None
            json_len, blob_len = HEADER.unpack(self._frame)
            if json_len + blob_len > MAX_MESSAGE:
                raise WireError(f"message of {json_len + blob_len} bytes exceeds the cap")
            header, self._frame = self._frame, bytearray(HEADER.size + json_len + blob_len)
            self._frame[: HEADER.size] = header
        if not self._fill(deadline, alive):
            return None
        frame, self._frame = self._frame, None
        return frame

    def relay(self, dest: Channel, deadline: float | None = None, alive=None) -> str:
        """Move the next frame to `dest` in the kernel (os.splice), checking only its size.

        Returns "ok", "timeout" (nothing sent yet) or "partial" (dest got part of a frame).
        """
        if self._frame is None:
            self._frame, self._got = bytearray(HEADER.size), 0
        if not self._fill(deadline, alive):
            return "timeout"
        json_len, blob_len = HEADER.unpack(self._frame)
        left = json_len + blob_len
        if left > MAX_MESSAGE:
            raise WireError(f"message of {left} bytes exceeds the cap")
        dest.send_frame(self._frame)
        self._frame = None
        while left:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.rfd], [], [], wait)
            if not ready:
                return "partial"
            moved = os.splice(self.rfd, dest.wfd, left)
            if moved == 0:
                raise EOFError("peer closed the pipe")
            left -= moved
        return "ok"

    def _fill(self, deadline, alive) -> bool:
        view = memoryview(self._frame)
        while self._got < len(self._frame):
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if alive is not None:
                wait = 0.2 if wait is None else min(wait, 0.2)
            ready, _, _ = select.select([self.rfd], [], [], wait)
            if not ready:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if alive is not None and not alive():
                    raise EOFError("peer exited")
                continue
            n = os.readv(self.rfd, [view[self._got :]])
            if n == 0:
                raise EOFError("peer closed the pipe")
            self._got += n
        return True


def byte_view(data) -> memoryview:
    """A flat view of the bytes of `data` (bytes, or a C-contiguous array of any shape or dtype)."""
    view = memoryview(data)
    if view.format == "B" and view.ndim == 1:
        return view
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        return memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    return view.cast("B")


def pack_parts(msg: dict, buffers: list) -> list:
    """A frame as parts: header and JSON (with the buffer lengths under "_b"), then buffers."""
    views = [byte_view(b) for b in buffers]
    msg = dict(msg, _b=[len(v) for v in views])
    head = json.dumps(msg, separators=(",", ":")).encode()
    blob_len = sum(len(v) for v in views)
    if len(head) + blob_len > MAX_MESSAGE:
        raise TooLarge(f"message of {len(head) + blob_len} bytes exceeds {MAX_MESSAGE}")
    return [HEADER.pack(len(head), blob_len) + head, *views]


def pack(msg: dict, buffers: list) -> bytes:
    """One frame as bytes."""
    return b"".join(pack_parts(msg, buffers))


def unpack(frame: bytes) -> tuple[dict, list[memoryview]]:
    """Split a frame into its JSON message and its buffers, checking every length."""
    try:
        json_len, blob_len = HEADER.unpack_from(frame)
        msg = json.loads(frame[HEADER.size : HEADER.size + json_len])
    except (ValueError, struct.error, RecursionError) as exc:
        raise WireError(f"unreadable message: {exc}") from None
    lengths = msg.get("_b") if isinstance(msg, dict) else None
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
        raise WireError("message without a valid buffer table")
    if sum(lengths) != blob_len or len(frame) != HEADER.size + json_len + blob_len:
        raise WireError("message buffer lengths do not add up")
    view, buffers, offset = memoryview(frame)[HEADER.size + json_len :], [], 0
    for n in lengths:
        buffers.append(view[offset : offset + n])
        offset += n
    return msg, buffers


def collect_arrays(value, found: list) -> None:
    """Append to `found` every ndarray in value and in its nested lists, tuples and dict values."""
    np = sys.modules.get("numpy")
    if np is not None and type(value) is np.ndarray:
        found.append(value)
    elif type(value) in (list, tuple):
        for v in value:
            collect_arrays(v, found)
    elif type(value) is dict:
        for v in value.values():
            collect_arrays(v, found)


def _numpy():
    """numpy, imported only when an array actually travels (the worker may never need it)."""
    import numpy

    return numpy


def is_plain_array(value) -> bool:
    """An ndarray of bool/int/float/complex numbers (no objects, records or strings)."""
    np = sys.modules.get("numpy")
    return (
        np is not None
        and type(value) is np.ndarray
        and value.dtype.kind in "biufc"
        and value.dtype.fields is None
        and value.dtype.subdtype is None
    )


class Encoder:
    """Turns plain data into a JSON tree plus buffers; `fallback(obj)` handles everything else.

    `track(array) -> int`, when given, names each array sent so that later changes made by
    the receiver can be written back into it.
    """

    def __init__(self, fallback, limit: int = MAX_VALUE, track=None):
        self.fallback, self.limit, self.track = fallback, limit, track
        self.buffers: list = []
        self.size = self.nodes = 0

    def encode_or_fallback(self, value):
        """The JSON tree of `value`, or its fallback when it cannot be copied (too large, odd)."""
        state = len(self.buffers), self.size, self.nodes
        try:
            return self.encode(value)
        except Exception:  # noqa: BLE001 - student objects may raise anything while encoded
            del self.buffers[state[0] :]
            self.size, self.nodes = state[1], state[2]
            return self.fallback(value)

    def encode(self, value, depth: int = 0):
        """The JSON tree of `value`."""
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise TooLarge("value too deep or with too many items")
        kind = type(value)
        if kind in PLAIN_SCALARS:
            if kind is str:
                self._grow(len(value))
            return value if kind is not int or abs(value) < 1 << 53 else ["I", str(value)]
        if kind is complex:
            return ["C", value.real, value.imag]
        if kind is bytes:
            return ["B", self._buffer(value)]
        if kind is list or kind is tuple:
            return ["L" if kind is list else "T", [self.encode(v, depth + 1) for v in value]]
        if kind is dict and all(type(k) in PLAIN_SCALARS for k in value):
            keys = [self.encode(k, depth + 1) for k in value]
            return ["D", keys, [self.encode(v, depth + 1) for v in value.values()]]
        if kind is slice:
            return ["S", [self.encode(getattr(value, a), depth + 1) for a in _SLICE]]
        if kind is type:
            for name, known in scalar_types().items():
                if value is known:
                    return ["TY", name]
        np = sys.modules.get("numpy")
        if np is None:
            return self.fallback(value)
        if is_plain_array(value):
            data = value if value.flags.c_contiguous else value.copy(order="C")  # any shape
            node = ["A", data.dtype.str, list(data.shape), self._buffer(_flat_bytes(np, data))]
            return node + [self.track(value)] if self.track else node
        if isinstance(value, np.generic) and is_plain_array(np.asarray(value)):
            data = np.array(value)
            return ["N", data.dtype.str, self._buffer(_flat_bytes(np, data))]
        if isinstance(value, np.dtype) and is_plain_array(np.empty(0, value)):
            return ["DT", value.str]
        return self.fallback(value)

    def _buffer(self, data) -> int:
        self._grow(byte_view(data).nbytes)
        self.buffers.append(data)
        return len(self.buffers) - 1

    def _grow(self, n: int) -> None:
        self.size += n
        if self.size > self.limit:
            raise TooLarge(f"value larger than {self.limit} bytes")


_SLICE = ("start", "stop", "step")


def _flat_bytes(np, data):
    """The bytes of a contiguous array as a flat uint8 array (no memoryview casts)."""
    return data.reshape(-1).view(np.uint8)


def scalar_types() -> dict:
    """The number types that may cross by name: Python's and numpy's, from a fixed table."""
    table = {"bool": bool, "int": int, "float": float, "complex": complex}
    np = sys.modules.get("numpy")
    if np is not None:
        for name in NUMPY_TYPES:
            table[f"numpy.{name}"] = getattr(np, name)
    return table


NUMPY_TYPES = (
    *("bool_", "float16", "float32", "float64", "complex64", "complex128"),
    *("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
)


class Decoder:
    """Rebuilds plain data from a JSON tree and buffers; `special(tag, node)` builds handles.

    `track(array, origin)`, when given, hears of every array that names its origin.
    """

    def __init__(self, buffers: list, special, track=None):
        self.buffers, self.special, self.track = buffers, special, track
        self.nodes = 0

    def decode(self, node, depth: int = 0):
        """The value of a JSON tree, validating every node."""
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise WireError("value too deep or with too many items")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is not list or not node or type(node[0]) is not str:
            raise WireError(f"unexpected node of type {type(node).__name__}")
        tag, args = node[0], node[1:]
        if tag in ("L", "T") and len(args) == 1 and type(args[0]) is list:
            items = [self.decode(v, depth + 1) for v in args[0]]
            return items if tag == "L" else tuple(items)
        if tag == "D" and len(args) == 2 and all(type(a) is list for a in args):
            keys = [self.decode(k, depth + 1) for k in args[0]]
            if len(keys) != len(args[1]) or not all(type(k) in PLAIN_SCALARS for k in keys):
                raise WireError("dict with invalid keys")
            return dict(zip(keys, (self.decode(v, depth + 1) for v in args[1]), strict=True))
        if tag == "I" and len(args) == 1 and type(args[0]) is str and len(args[0]) < 4000:
            return int(args[0])
        if tag == "C" and len(args) == 2 and all(type(a) in (int, float) for a in args):
            return complex(args[0], args[1])
        if tag == "B" and len(args) == 1:
            return bytes(self._buffer(args[0]))
        if tag == "S" and len(args) == 1 and type(args[0]) is list and len(args[0]) == 3:
            parts = [self.decode(v, depth + 1) for v in args[0]]
            if not all(p is None or type(p) is int for p in parts):
                raise WireError("slice with non-integer bounds")
            return slice(*parts)
        if tag == "A" and len(args) in (3, 4):
            array = self._array(args[0], args[1], args[2])
            if len(args) == 4 and type(args[3]) is int and self.track is not None:
                self.track(array, args[3])
            return array
        if tag == "N" and len(args) == 2:
            return self._array(args[0], [], args[1])[()]
        if tag == "DT" and len(args) == 1:
            return self._dtype(args[0])
        if tag == "TY" and len(args) == 1 and type(args[0]) is str:
            if args[0].startswith("numpy."):
                _numpy()
            kind = scalar_types().get(args[0])
            if kind is None:
                raise WireError(f"unknown number type {args[0][:40]!r}")
            return kind
        return self.special(tag, args)

    def _buffer(self, index) -> memoryview:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise WireError("buffer index out of range")
        return self.buffers[index]

    def _dtype(self, dtype):
        if type(dtype) is not str or not DTYPE.match(dtype):
            raise WireError(f"array dtype {str(dtype)[:40]!r} is not a plain numeric dtype")
        np = _numpy()
        dt = np.dtype(dtype)
        if dt.kind not in "biufc" or dt.fields is not None:
            raise WireError(f"array dtype {dtype!r} is not a plain numeric dtype")
        return dt

    def _array(self, dtype, shape, index):
        dt = self._dtype(dtype)
        np = _numpy()
        if (
            type(shape) is not list
            or len(shape) > 32
            or not all(type(n) is int and 0 <= n <= MAX_MESSAGE for n in shape)
        ):
            raise WireError("array shape must be a list of non-negative integers")
        data = self._buffer(index)
        if math.prod(shape) * dt.itemsize != len(data):  # checked before anything is allocated
            raise WireError("array shape and buffer length disagree")
        if len(data) == 0:
            return np.zeros(shape, dtype=dt)
        return np.frombuffer(data, dtype=dt).reshape(shape).copy()


def exception_info(exc: BaseException) -> list:
    """[type name, message, whether the type is a builtin] of an exception, safely."""
    try:
        message = str(exc)[:2000]
    except BaseException:  # noqa: B036 - student code may raise anything from __str__
        message = "<message unavailable>"
    kind = type(exc)
    return [str(kind.__name__)[:100], message, kind.__module__ == "builtins"]

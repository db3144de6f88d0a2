"""Length-prefixed pickle frames between the grader and the worker.

Frames from the grader to the worker are trusted and use plain pickle. Frames from the
worker are hostile input:
- every read has a deadline (half a frame never blocks the grader);
- a frame larger than `MAX_FRAME` is refused before anything is allocated for it;
- the worker sends only builtin data: arrays travel as (tag, dtype string, shape, bytes)
  and are rebuilt by `decode`, which accepts only plain numeric, bool and text dtypes and
  checks that the bytes match the shape, so no crafted dtype or object ever reaches NumPy;
- `SafeUnpickler` resolves no global but `complex`, so unpickling cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import select
import struct
import time

_HEADER = struct.Struct("!Q")
# Results are arrays of a few thousand numbers; 64 MiB is far above any exercise's answer and
# far below the grader's memory (under nbgrader the grader is the notebook kernel).
MAX_FRAME = 64 << 20
MAX_DEPTH = 20
_ARRAY, _SCALAR = "\x00nnfs:ndarray", "\x00nnfs:scalar"
# little-endian (or byte-order free) plain dtypes; text up to 4096 characters
_DTYPE = re.compile(r"^(\|b1|[<|][iu][1248]|<f[248]|<c(8|16)|<U[0-9]{1,4}|\|S[0-9]{1,4})$")


class ProtocolError(Exception):
    """The other side closed the channel or sent something that is not a frame."""


class FrameTimeout(ProtocolError):
    """No complete frame before the deadline."""


class FrameRejected(ProtocolError):
    """A complete frame that is not acceptable data (too large, forged, not plain data)."""


def write_frame(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise FrameTimeout("no complete frame before the deadline")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise ProtocolError("channel closed")
        view[got : got + len(chunk)] = chunk
        got += len(chunk)
    return bytes(buf)


def read_raw_frame(fd: int, deadline: float | None = None, limit: int | None = None) -> bytes:
    """One frame's payload; `deadline` is a time.monotonic() value, `limit` a size cap."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if limit is not None and size > limit:
        raise FrameRejected(
            f"a result of {size} bytes is larger than the {limit >> 20} MiB allowed"
        )
    return _read_exact(fd, size, deadline)


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) == ("builtins", "complex"):
            return complex
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def loads_untrusted(data: bytes) -> object:
    return SafeUnpickler(io.BytesIO(data)).load()


# -- arrays across the boundary ----------------------------------------------------------------
def encode(obj: object, depth: int = 0) -> object:
    """Worker side: the same data with every NumPy array and scalar as a tagged tuple."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise TypeError(f"a result nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, np.ndarray):
        a = obj if obj.dtype.isnative else obj.astype(obj.dtype.newbyteorder("="))
        return (_ARRAY, a.dtype.str, tuple(int(n) for n in a.shape), a.tobytes(order="C"))
    if isinstance(obj, np.generic):
        return (_SCALAR, obj.dtype.str, obj.tobytes())
    if isinstance(obj, tuple):
        return tuple(encode(x, depth + 1) for x in obj)
    if isinstance(obj, list):
        return [encode(x, depth + 1) for x in obj]
    if isinstance(obj, dict):
        return {encode(k, depth + 1): encode(v, depth + 1) for k, v in obj.items()}
    return obj


def _dtype(text: object):
    import numpy as np

    if not isinstance(text, str) or not _DTYPE.match(text):
        raise FrameRejected(f"dtype {str(text)[:40]!r} is not a plain numeric or text dtype")
    return np.dtype(text)


def decode(obj: object, depth: int = 0) -> object:
    """Grader side: rebuild arrays from `encode`'s tuples, checking every size first."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise FrameRejected(f"data nested more than {MAX_DEPTH} levels deep")
    if type(obj) is tuple and obj and obj[0] == _ARRAY and len(obj) == 4:
        _, dt, shape, data = obj
        dtype = _dtype(dt)
        if (
            type(shape) is not tuple
            or len(shape) > 32
            or not all(type(n) is int and 0 <= n for n in shape)
            or type(data) is not bytes
        ):
            raise FrameRejected("an array whose shape or data is malformed")
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != len(data):
            raise FrameRejected("an array whose data does not match its shape")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if type(obj) is tuple and obj and obj[0] == _SCALAR and len(obj) == 3:
        _, dt, data = obj
        dtype = _dtype(dt)
        if type(data) is not bytes or len(data) != dtype.itemsize:
            raise FrameRejected("a malformed NumPy scalar")
        return np.frombuffer(data, dtype=dtype)[0]
    if type(obj) in (tuple, list):
        return type(obj)(decode(x, depth + 1) for x in obj)
    if type(obj) is dict:
        return {decode(k, depth + 1): decode(v, depth + 1) for k, v in obj.items()}
    if obj is None or type(obj) in (bool, int, float, complex, str, bytes):
        return obj
    raise FrameRejected(f"an object of type {type(obj).__name__}")


def changed(before: object, after: object) -> bool:
    """Does an input as it was before a call differ from the same input after it?"""
    import numpy as np

    try:
        if isinstance(before, np.ndarray):
            return (
                not isinstance(after, np.ndarray)
                or before.shape != after.shape
                or not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
            )
        if isinstance(before, list | tuple):
            return (
                not isinstance(after, list | tuple)
                or len(before) != len(after)
                or any(changed(b, a) for b, a in zip(before, after))
            )
        if isinstance(before, dict):
            return (
                not isinstance(after, dict)
                or before.keys() != after.keys()
                or any(changed(before[k], after[k]) for k in before)
            )
        if isinstance(before, float) and isinstance(after, float) and before != before:
            return after == after  # NaN stays NaN
        return bool(before != after)
    except Exception:
        return True

"""ONNX Runtime through its C API: the part of ``onnxruntime.InferenceSession`` the function uses.

Library file of ``lambda_function.py`` (copied next to it into the image). ``Session(path)``
has ``get_inputs()``, ``get_outputs()`` and ``run(output_names, {input_name: x})`` as
``onnxruntime.InferenceSession`` has; ``x`` is any float32 buffer (a ``memoryview`` from
``preprocess.py``, a NumPy array) and the outputs come back as nested lists of floats. It
calls ``libonnxruntime.so`` (shipped in the ``onnxruntime`` wheel) with ``ctypes``, so the
image needs neither ORT's Python binding nor NumPy (README, "Performance": what that saves).
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_int, c_int64, c_size_t, c_void_p
from pathlib import Path
from typing import Any, NamedTuple

# the OrtApi version asked for: ORT 1.11 or newer serves it; everything used below is older
API_VERSION = 11
FLOAT = 1  # ONNXTensorElementDataType
LEVELS = {
    "ORT_DISABLE_ALL": 0,
    "ORT_ENABLE_BASIC": 1,
    "ORT_ENABLE_EXTENDED": 2,
    "ORT_ENABLE_ALL": 99,
}

# (position in the OrtApi struct of onnxruntime_c_api.h, argument types). The struct only
# ever grows at its end, so a position never moves; all but the last are in "version 1".
# Each returns an OrtStatus* (NULL: success) unless listed in VOID.
GET_ERROR_MESSAGE = 2  # returns a char*, not a status
API = {
    "CreateEnv": (3, [c_int, c_char_p, c_void_p]),
    "CreateSession": (7, [c_void_p, c_char_p, c_void_p, c_void_p]),
    "Run": (9, [c_void_p, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p]),
    "CreateSessionOptions": (10, [c_void_p]),
    "EnableCpuMemArena": (18, [c_void_p]),
    "DisableCpuMemArena": (19, [c_void_p]),
    "SetSessionGraphOptimizationLevel": (23, [c_void_p, c_int]),
    "SetIntraOpNumThreads": (24, [c_void_p, c_int]),
    "SetInterOpNumThreads": (25, [c_void_p, c_int]),
    "SessionGetInputCount": (30, [c_void_p, c_void_p]),
    "SessionGetOutputCount": (31, [c_void_p, c_void_p]),
    "SessionGetInputTypeInfo": (33, [c_void_p, c_size_t, c_void_p]),
    "SessionGetOutputTypeInfo": (34, [c_void_p, c_size_t, c_void_p]),
    "SessionGetInputName": (36, [c_void_p, c_size_t, c_void_p, c_void_p]),
    "SessionGetOutputName": (37, [c_void_p, c_size_t, c_void_p, c_void_p]),
    "CreateTensorWithDataAsOrtValue": (
        49,
        [c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_int, c_void_p],
    ),
    "GetTensorMutableData": (51, [c_void_p, c_void_p]),
    "CastTypeInfoToTensorInfo": (55, [c_void_p, c_void_p]),
    "GetTensorElementType": (60, [c_void_p, c_void_p]),
    "GetDimensionsCount": (61, [c_void_p, c_void_p]),
    "GetDimensions": (62, [c_void_p, c_void_p, c_size_t]),
    "GetSymbolicDimensions": (63, [c_void_p, c_void_p, c_size_t]),
    "GetTensorTypeAndShape": (65, [c_void_p, c_void_p]),
    "CreateCpuMemoryInfo": (69, [c_int, c_int, c_void_p]),
    "AllocatorFree": (76, [c_void_p, c_void_p]),
    "GetAllocatorWithDefaultOptions": (78, [c_void_p]),
    "ReleaseEnv": (92, [c_void_p]),
    "ReleaseStatus": (93, [c_void_p]),
    "ReleaseSession": (95, [c_void_p]),
    "ReleaseValue": (96, [c_void_p]),
    "ReleaseTypeInfo": (98, [c_void_p]),
    "ReleaseTensorTypeAndShapeInfo": (99, [c_void_p]),
    "ReleaseSessionOptions": (100, [c_void_p]),
    "AddSessionConfigEntry": (130, [c_void_p, c_char_p, c_char_p]),
}
VOID = {name for name in API if name.startswith("Release")}


class OrtError(RuntimeError):
    """An error ONNX Runtime reported, with its message."""


class NodeArg(NamedTuple):
    """A graph input or output as ``onnxruntime`` describes it: a symbolic dimension is its
    name (``"N"``) or None, as the Python binding gives it."""

    name: str
    shape: list
    type: str


def library_path() -> Path:
    """``onnxruntime/capi/libonnxruntime.so.*`` of the installed wheel, found on ``sys.path``
    without importing ``onnxruntime`` (that would load its binding and NumPy)."""
    for entry in sys.path:
        found = sorted(Path(entry or ".").glob("onnxruntime/capi/libonnxruntime.so*"))
        if found:
            return found[-1]
    raise FileNotFoundError(
        "no onnxruntime/capi/libonnxruntime.so on sys.path: install onnxruntime"
    )


class _Api:
    """The C functions by name, each raising ``OrtError`` when it returns a status."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        lib.OrtGetApiBase.restype = POINTER(c_void_p)
        base = lib.OrtGetApiBase()  # {GetApi, GetVersionString}
        get_api = ctypes.CFUNCTYPE(c_void_p, ctypes.c_uint32)(base[0])
        table = get_api(API_VERSION)
        if not table:
            version = ctypes.CFUNCTYPE(c_char_p)(base[1])().decode()
            raise OrtError(f"{path}: ONNX Runtime {version} does not serve API {API_VERSION}")
        table = ctypes.cast(table, POINTER(c_void_p))
        self.lib = lib  # kept: the functions live as long as the library
        self.GetErrorMessage = ctypes.CFUNCTYPE(c_char_p, c_void_p)(table[GET_ERROR_MESSAGE])
        for name, (index, args) in API.items():
            restype = None if name in VOID else c_void_p
            fn = ctypes.CFUNCTYPE(restype, *args)(table[index])
            setattr(self, name, fn if name in VOID else self._checked(fn))
        self.env = c_void_p()
        self.CreateEnv(3, b"lambda", byref(self.env))  # log level 3: errors only
        self.cpu = c_void_p()
        self.CreateCpuMemoryInfo(0, 0, byref(self.cpu))  # device allocator, default memory
        self.allocator = c_void_p()
        self.GetAllocatorWithDefaultOptions(byref(self.allocator))

    def _checked(self, fn):
        def call(*args):
            status = fn(*args)
            if status:
                message = self.GetErrorMessage(status).decode(errors="replace")
                self.ReleaseStatus(status)
                raise OrtError(message)

        return call


_api: _Api | None = None


def api() -> _Api:
    """The library, loaded once per process (the environment with it)."""
    global _api
    if _api is None:
        _api = _Api(library_path())
    return _api


class Session:
    """An ONNX Runtime session on one model file, CPU only.

    The keyword arguments have the names of ``onnxruntime.SessionOptions``' attributes
    (``graph_optimization_level`` as its enum's name, e.g. "ORT_ENABLE_ALL"); ``config``
    holds session configuration entries (``add_session_config_entry``)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        graph_optimization_level: str = "ORT_ENABLE_ALL",
        intra_op_num_threads: int = 0,
        inter_op_num_threads: int = 0,
        enable_cpu_mem_arena: bool = True,
        config: dict[str, str] | None = None,
    ) -> None:
        self._api = a = api()
        if graph_optimization_level not in LEVELS:
            raise ValueError(f"graph_optimization_level {graph_optimization_level!r} unknown")
        opts = c_void_p()
        a.CreateSessionOptions(byref(opts))
        try:
            a.SetSessionGraphOptimizationLevel(opts, LEVELS[graph_optimization_level])
            a.SetIntraOpNumThreads(opts, int(intra_op_num_threads))
            a.SetInterOpNumThreads(opts, int(inter_op_num_threads))
            (a.EnableCpuMemArena if enable_cpu_mem_arena else a.DisableCpuMemArena)(opts)
            for key, value in (config or {}).items():
                a.AddSessionConfigEntry(opts, key.encode(), value.encode())
            self._session = c_void_p()
            a.CreateSession(a.env, os.fsencode(path), opts, byref(self._session))
        finally:
            a.ReleaseSessionOptions(opts)
        self._inputs = self._nodes(
            a.SessionGetInputCount, a.SessionGetInputName, a.SessionGetInputTypeInfo
        )
        self._outputs = self._nodes(
            a.SessionGetOutputCount, a.SessionGetOutputName, a.SessionGetOutputTypeInfo
        )

    def __del__(self) -> None:
        if getattr(self, "_session", None):
            self._api.ReleaseSession(self._session)
            self._session = None

    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def _nodes(self, count_fn, name_fn, info_fn) -> list[NodeArg]:
        a, count = self._api, c_size_t()
        count_fn(self._session, byref(count))
        nodes = []
        for i in range(count.value):
            raw = c_void_p()
            name_fn(self._session, i, a.allocator, byref(raw))
            name = ctypes.string_at(raw.value).decode()
            a.AllocatorFree(a.allocator, raw)
            info = c_void_p()
            info_fn(self._session, i, byref(info))
            try:
                tensor = c_void_p()
                a.CastTypeInfoToTensorInfo(info, byref(tensor))
                if not tensor.value:  # a sequence or map: not served
                    nodes.append(NodeArg(name, [], "not a tensor"))
                    continue
                shape, element = _shape(a, tensor, symbolic=True)
            finally:
                a.ReleaseTypeInfo(info)
            nodes.append(
                NodeArg(name, shape, "tensor(float)" if element == FLOAT else f"tensor({element})")
            )
        return nodes

    def run(self, output_names: list[str] | None, feed: dict[str, Any]) -> list:
        """The outputs named (all when None) for the inputs in ``feed``, each a nested list of
        floats in its shape, as ``InferenceSession.run`` returns arrays."""
        a = self._api
        names = [n.name for n in self._outputs] if output_names is None else list(output_names)
        buffers, values = [], (c_void_p * len(feed))()
        outs = (c_void_p * len(names))()
        try:
            for i, (name, x) in enumerate(feed.items()):
                view = memoryview(x)
                if view.format not in ("f", "<f", "=f") or not view.c_contiguous:
                    raise ValueError(f"input {name!r}: a C-contiguous float32 buffer expected")
                flat = view.cast("B")
                buf = (
                    (ctypes.c_char * flat.nbytes).from_buffer_copy(flat)
                    if flat.readonly
                    else (ctypes.c_char * flat.nbytes).from_buffer(flat)
                )
                dims = (c_int64 * view.ndim)(*view.shape)
                buffers.append((buf, dims))  # alive until Run: ORT reads them in place
                a.CreateTensorWithDataAsOrtValue(
                    a.cpu,
                    buf,
                    flat.nbytes,
                    dims,
                    view.ndim,
                    FLOAT,
                    byref(values, i * ctypes.sizeof(c_void_p)),
                )
            in_names = (c_char_p * len(feed))(*(n.encode() for n in feed))
            out_names = (c_char_p * len(names))(*(n.encode() for n in names))
            a.Run(self._session, None, in_names, values, len(feed), out_names, len(names), outs)
            return [_to_lists(a, c_void_p(v)) for v in outs]
        finally:
            for v in (*values, *outs):
                if v:
                    a.ReleaseValue(v)


def _shape(a: _Api, info: c_void_p, symbolic: bool = False) -> tuple[list, int]:
    """(dimensions, element type) of an OrtTensorTypeAndShapeInfo."""
    n, element = c_size_t(), c_int()
    a.GetTensorElementType(info, byref(element))
    a.GetDimensionsCount(info, byref(n))
    dims = (c_int64 * n.value)()
    a.GetDimensions(info, dims, n.value)
    shape: list = list(dims)
    if symbolic and any(d < 0 for d in shape):
        names = (c_char_p * n.value)()
        a.GetSymbolicDimensions(info, names, n.value)
        shape = [d if d >= 0 else ((names[i] or b"").decode() or None) for i, d in enumerate(shape)]
    return shape, element.value


def _to_lists(a: _Api, value: c_void_p) -> Any:
    """A float tensor OrtValue's data, copied out as nested lists."""
    info = c_void_p()
    a.GetTensorTypeAndShape(value, byref(info))
    try:
        shape, element = _shape(a, info)
    finally:
        a.ReleaseTensorTypeAndShapeInfo(info)
    if element != FLOAT:
        raise OrtError(f"output element type {element}: only float outputs are served")
    data = c_void_p()
    a.GetTensorMutableData(value, byref(data))
    count = math.prod(shape)
    flat = memoryview(ctypes.string_at(data.value, 4 * count) if count else b"").cast("f")
    if not shape:
        return flat[0]
    return flat.cast("B").cast("f", shape).tolist() if count else []

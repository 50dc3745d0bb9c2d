"""gguf_write.py - a small GGUF v3 writer for the training tool (spec: shared/spec/gguf.md).

Writes metadata (u32, f32, bool, string, arrays of those) and F32/F16 tensors, aligned to 32
bytes, to a temporary file that is renamed over the target only when complete. Tensors are
given as NumPy arrays in PyTorch's row-major [rows, cols] layout; GGUF's ne order is the
reverse ([cols, rows]), so `y = W x` keeps meaning what it means in pippa.
"""

import os
import struct

import numpy as np

ALIGN = 32
VT_U32, VT_I32, VT_F32, VT_BOOL, VT_STR, VT_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class Writer:
    def __init__(self):
        self.kv = []
        self.tensors = []

    def u32(self, key, v):
        self.kv.append((key, struct.pack("<I", VT_U32) + struct.pack("<I", v)))

    def f32(self, key, v):
        self.kv.append((key, struct.pack("<I", VT_F32) + struct.pack("<f", v)))

    def bool(self, key, v):
        self.kv.append((key, struct.pack("<I", VT_BOOL) + struct.pack("<B", 1 if v else 0)))

    def str(self, key, v):
        self.kv.append((key, struct.pack("<I", VT_STR) + _str(v)))

    def arr_str(self, key, vals):
        body = b"".join(_str(v) for v in vals)
        self.kv.append((key, struct.pack("<IIQ", VT_ARR, VT_STR, len(vals)) + body))

    def arr_f32(self, key, vals):
        a = np.asarray(vals, dtype="<f4")
        self.kv.append((key, struct.pack("<IIQ", VT_ARR, VT_F32, a.size) + a.tobytes()))

    def arr_i32(self, key, vals):
        a = np.asarray(vals, dtype="<i4")
        self.kv.append((key, struct.pack("<IIQ", VT_ARR, VT_I32, a.size) + a.tobytes()))

    def tensor(self, name, arr, f16=False):
        a = np.ascontiguousarray(arr, dtype="<f2" if f16 else "<f4")
        self.tensors.append((name, a, GGML_F16 if f16 else GGML_F32))

    def write(self, path):
        head = bytearray(b"GGUF")
        head += struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for k, v in self.kv:
            head += _str(k) + v
        off = 0
        offsets = []
        for name, a, t in self.tensors:
            head += _str(name) + struct.pack("<I", a.ndim)
            for d in reversed(a.shape):
                head += struct.pack("<Q", d)
            head += struct.pack("<IQ", t, off)
            offsets.append(off)
            off += (a.nbytes + ALIGN - 1) // ALIGN * ALIGN
        head += b"\0" * ((-len(head)) % ALIGN)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(head)
            for (name, a, t), o in zip(self.tensors, offsets):
                f.write(a.tobytes())
                f.write(b"\0" * ((-a.nbytes) % ALIGN))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

"""gguf_reader.py - independent pure-Python + NumPy GGUF v2/v3 reader and dequantizer.

Purpose: a second, unrelated implementation of the GGUF format and the ggml block formats,
used by the tests to cross-check pippa (it never calls pippa). Written from
shared/spec/gguf.md sections 1-4 and shared/spec/quant-formats.md sections 1-3.

Invariants:
  * Parsing is strict about bounds: any read past the end of the file raises GGUFError with
    a "file: where: what" message. Counts are checked against the remaining bytes before
    anything is allocated.
  * Dequantization follows ggml's float32 arithmetic (scale*q, then +/- min as a separate
    float32 operation, no fused multiply-add), so values are bit-identical to ggml's
    to_float (checked against shared/fixtures/dequant-ref.json by tests/test_reference.py).
  * Tensor arrays come back in NumPy order: shape = reversed ne (ne[0] is the last, contiguous
    axis), so a weight [n_in, n_out] in ggml order is an (n_out, n_in) matrix W with y = W @ x.

Usage:
    r = GGUFReader("fx.gguf")
    r.kv["gemma3.block_count"]          # python value (arrays: list or numpy array)
    r.kv_type["gemma3.block_count"]     # value type id (4 = UINT32)
    r.tensors["token_embd.weight"].ne   # [256, 4096]
    W = r.tensor("blk.0.attn_q.weight") # float32 ndarray, shape (256, 256)
    rows = r.tensor_rows("token_embd.weight", [2, 651])  # dequantize only some rows
"""

import mmap
import os
import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# value types (gguf.md 2.1)
VT_UINT8, VT_INT8, VT_UINT16, VT_INT16, VT_UINT32, VT_INT32, VT_FLOAT32, VT_BOOL, \
    VT_STRING, VT_ARRAY, VT_UINT64, VT_INT64, VT_FLOAT64 = range(13)
VT_NAMES = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
            "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"]
_VT_FMT = {VT_UINT8: "<B", VT_INT8: "<b", VT_UINT16: "<H", VT_INT16: "<h", VT_UINT32: "<I",
           VT_INT32: "<i", VT_FLOAT32: "<f", VT_BOOL: "<B", VT_UINT64: "<Q", VT_INT64: "<q",
           VT_FLOAT64: "<d"}
_VT_NP = {VT_UINT8: "<u1", VT_INT8: "<i1", VT_UINT16: "<u2", VT_INT16: "<i2", VT_UINT32: "<u4",
          VT_INT32: "<i4", VT_FLOAT32: "<f4", VT_BOOL: "<u1", VT_UINT64: "<u8", VT_INT64: "<i8",
          VT_FLOAT64: "<f8"}

# ggml tensor types (gguf.md 4): id -> (name, block elements, bytes per block)
TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
}
TYPE_IDS = {v[0]: k for k, v in TYPES.items()}


class GGUFError(Exception):
    pass


class TensorInfo:
    __slots__ = ("name", "ne", "type", "offset", "n_elements", "nbytes", "abs_offset")

    def __init__(self, name, ne, ttype, offset):
        self.name, self.ne, self.type, self.offset = name, ne, ttype, offset
        self.n_elements = int(np.prod(ne, dtype=np.int64)) if ne else 1
        _, blck, bsz = TYPES[ttype]
        self.nbytes = self.n_elements // blck * bsz
        self.abs_offset = 0

    @property
    def type_name(self):
        return TYPES[self.type][0]

    @property
    def shape(self):
        return tuple(reversed(self.ne))


class GGUFReader:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 24:
                raise GGUFError(f"{self.name}: not a GGUF file ({size} bytes)")
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.size = size
        self._pos = 0
        self.kv = {}
        self.kv_type = {}        # key -> value type id
        self.kv_arr_type = {}    # key -> element type id for arrays
        self.tensors = {}        # name -> TensorInfo, insertion = file order
        self._parse()

    # ---- low-level reads -------------------------------------------------------------
    def _need(self, n, what):
        if n < 0 or self._pos + n > self.size:
            raise GGUFError(f"{self.name}: {what}: needs {n} bytes at offset {self._pos}, "
                            f"file has {self.size}")

    def _scalar(self, vt, what):
        fmt = _VT_FMT[vt]
        n = struct.calcsize(fmt)
        self._need(n, what)
        (v,) = struct.unpack_from(fmt, self._mm, self._pos)
        self._pos += n
        return v

    def _u32(self, what):
        return self._scalar(VT_UINT32, what)

    def _u64(self, what):
        return self._scalar(VT_UINT64, what)

    def _str(self, what):
        n = self._u64(what + " length")
        self._need(n, what)
        b = bytes(self._mm[self._pos:self._pos + n])
        self._pos += n
        return b.decode("utf-8", errors="surrogateescape")

    def _value(self, vt, what):
        if vt == VT_STRING:
            return self._str(what)
        if vt == VT_BOOL:
            return self._scalar(vt, what) != 0
        if vt in _VT_FMT:
            return self._scalar(vt, what)
        raise GGUFError(f"{self.name}: {what}: unknown value type {vt}")

    # ---- structure -------------------------------------------------------------------
    def _parse(self):
        if bytes(self._mm[0:4]) != GGUF_MAGIC:
            raise GGUFError(f"{self.name}: not a GGUF file (bad magic)")
        self._pos = 4
        self.version = self._u32("version")
        if self.version & 0xFFFF == 0:
            raise GGUFError(f"{self.name}: wrong endianness (version 0x{self.version:08x})")
        if self.version not in (2, 3):
            raise GGUFError(f"{self.name}: unsupported GGUF version {self.version}")
        n_tensors = self._u64("tensor count")
        n_kv = self._u64("kv count")
        if n_kv > (self.size - self._pos) // 12:
            raise GGUFError(f"{self.name}: kv count {n_kv} exceeds the file size")
        if n_tensors > (self.size - self._pos) // 24:
            raise GGUFError(f"{self.name}: tensor count {n_tensors} exceeds the file size")
        for i in range(n_kv):
            key = self._str(f"kv {i} key")
            where = f"key '{key}'"
            if key in self.kv:
                raise GGUFError(f"{self.name}: {where}: duplicate key")
            vt = self._u32(where + " type")
            if vt == VT_ARRAY:
                et = self._u32(where + " array type")
                count = self._u64(where + " array count")
                self.kv_arr_type[key] = et
                if et == VT_ARRAY:
                    raise GGUFError(f"{self.name}: {where}: nested arrays are not supported")
                if et == VT_STRING:
                    if count > (self.size - self._pos) // 8:
                        raise GGUFError(f"{self.name}: {where}: array count {count} exceeds "
                                        f"the file size")
                    val = [self._str(f"{where}[{j}]") for j in range(count)]
                elif et in _VT_NP:
                    esz = np.dtype(_VT_NP[et]).itemsize
                    if count > (self.size - self._pos) // esz:
                        raise GGUFError(f"{self.name}: {where}: array count {count} exceeds "
                                        f"the file size")
                    val = np.frombuffer(self._mm, dtype=_VT_NP[et], count=count,
                                        offset=self._pos).copy()
                    if et == VT_BOOL:
                        val = val != 0
                    self._pos += count * esz
                else:
                    raise GGUFError(f"{self.name}: {where}: unknown array type {et}")
            elif vt in _VT_FMT or vt == VT_STRING:
                val = self._value(vt, where)
            else:
                raise GGUFError(f"{self.name}: {where}: unknown value type {vt}")
            self.kv[key] = val
            self.kv_type[key] = vt

        align = DEFAULT_ALIGNMENT
        if "general.alignment" in self.kv:
            if self.kv_type["general.alignment"] != VT_UINT32:
                raise GGUFError(f"{self.name}: key 'general.alignment': expected UINT32")
            align = self.kv["general.alignment"]
            if align == 0 or align & (align - 1):
                raise GGUFError(f"{self.name}: key 'general.alignment': {align} is not a "
                                f"power of two")
        self.alignment = align

        infos = []
        for i in range(n_tensors):
            name = self._str(f"tensor {i} name")
            where = f"tensor '{name}'"
            n_dims = self._u32(where + " n_dims")
            if n_dims > 4:
                raise GGUFError(f"{self.name}: {where}: n_dims {n_dims} > 4")
            ne = [self._scalar(VT_INT64, where + " ne") for _ in range(n_dims)]
            if any(d <= 0 for d in ne):
                raise GGUFError(f"{self.name}: {where}: bad dimension {ne}")
            ttype = self._u32(where + " type")
            off = self._u64(where + " offset")
            if ttype not in TYPES:
                raise GGUFError(f"{self.name}: {where}: unknown tensor type {ttype}")
            if ne and ne[0] % TYPES[ttype][1]:
                raise GGUFError(f"{self.name}: {where}: ne[0]={ne[0]} not a multiple of "
                                f"{TYPES[ttype][1]} ({TYPES[ttype][0]})")
            if name in self.tensors:
                raise GGUFError(f"{self.name}: {where}: duplicate tensor name")
            if off % align:
                raise GGUFError(f"{self.name}: {where}: offset {off} not aligned to {align}")
            ti = TensorInfo(name, ne, ttype, off)
            self.tensors[name] = ti
            infos.append(ti)
        self.data_offset = (self._pos + align - 1) // align * align
        for ti in infos:
            ti.abs_offset = self.data_offset + ti.offset
            if ti.abs_offset + ti.nbytes > self.size:
                raise GGUFError(f"{self.name}: tensor '{ti.name}': data [{ti.abs_offset}, "
                                f"{ti.abs_offset + ti.nbytes}) lies past the end of the file "
                                f"({self.size} bytes)")

    # ---- convenience -----------------------------------------------------------------
    def get(self, key, default=None):
        return self.kv.get(key, default)

    def raw(self, name):
        ti = self.tensors[name]
        return np.frombuffer(self._mm, dtype=np.uint8, count=ti.nbytes, offset=ti.abs_offset)

    def tensor(self, name, dtype=np.float32):
        """Whole tensor dequantized, NumPy shape = reversed ne."""
        ti = self.tensors[name]
        out = dequantize(self.raw(name), ti.type, ti.n_elements)
        return out.reshape(ti.shape).astype(dtype, copy=False)

    def tensor_rows(self, name, rows, dtype=np.float32):
        """Rows (ne[0] elements each) of a 2-D tensor, dequantized: shape (len(rows), ne[0])."""
        ti = self.tensors[name]
        _, blck, bsz = TYPES[ti.type]
        row_bytes = ti.ne[0] // blck * bsz
        raw = self.raw(name)
        n_rows = ti.n_elements // ti.ne[0]
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
            raise GGUFError(f"{self.name}: tensor '{name}': row out of range [0, {n_rows})")
        sel = raw.reshape(n_rows, row_bytes)[rows].reshape(-1)
        out = dequantize(sel, ti.type, rows.size * ti.ne[0])
        return out.reshape(rows.size, ti.ne[0]).astype(dtype, copy=False)

    def n_rows(self, name):
        ti = self.tensors[name]
        return ti.n_elements // ti.ne[0]

    def close(self):
        self._mm.close()


# ---- dequantization (quant-formats.md 1-3), all float32 arithmetic ---------------------
def _f16(b):
    """(nb, 2k) uint8 -> (nb, k) float32 via binary16."""
    return np.ascontiguousarray(b).view("<f2").astype(np.float32)


def _blocks(raw, bsz, n_elem, blck):
    nb = n_elem // blck
    if raw.size != nb * bsz:
        raise GGUFError(f"dequantize: {raw.size} bytes for {n_elem} elements "
                        f"(expected {nb * bsz})")
    return raw.reshape(nb, bsz)


def _nibbles32(qs):
    """(nb, 16) bytes -> (nb, 32) nibbles: element j = low nibble of qs[j], j+16 = high."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _deq_q4_0(b):
    d = _f16(b[:, 0:2])
    q = _nibbles32(b[:, 2:18]).astype(np.int8) - np.int8(8)
    return q.astype(np.float32) * d


def _deq_q4_1(b):
    d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    q = _nibbles32(b[:, 4:20]).astype(np.float32)
    return q * d + m


def _q5_high(qh_bytes):
    h = np.ascontiguousarray(qh_bytes).view("<u4")  # (nb, 1)
    return ((h >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


def _deq_q5_0(b):
    d = _f16(b[:, 0:2])
    q = _nibbles32(b[:, 6:22]) | (_q5_high(b[:, 2:6]) << 4)
    return (q.astype(np.int8) - np.int8(16)).astype(np.float32) * d


def _deq_q5_1(b):
    d, m = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    q = _nibbles32(b[:, 8:24]) | (_q5_high(b[:, 4:8]) << 4)
    return q.astype(np.float32) * d + m


def _deq_q8_0(b):
    d = _f16(b[:, 0:2])
    return b[:, 2:34].view(np.int8).astype(np.float32) * d


_SH2 = np.array([0, 2, 4, 6], dtype=np.uint8)


def _q2bits(qs):
    """(nb, 64) bytes -> (nb, 256) 2-bit values: element e = h*128 + k*32 + l reads
    qs[32h + l] >> 2k."""
    nb = qs.shape[0]
    q = (qs.reshape(nb, 2, 1, 32) >> _SH2.reshape(1, 1, 4, 1)) & 3
    return q.reshape(nb, 256)


def _deq_q2_k(b):
    nb = b.shape[0]
    sc = b[:, 0:16]
    d, dmin = _f16(b[:, 80:82]), _f16(b[:, 82:84])
    dl = d * (sc & 0xF).astype(np.float32)          # (nb, 16)
    ml = dmin * (sc >> 4).astype(np.float32)
    q = _q2bits(b[:, 16:80]).astype(np.float32).reshape(nb, 16, 16)
    return (dl[:, :, None] * q - ml[:, :, None]).reshape(nb, 256)


def _q3k_scales(s12):
    nb = s12.shape[0]
    s = np.arange(16)
    low = np.where(s < 8, s12[:, s % 8] & 0xF, s12[:, s % 8] >> 4)
    high = (s12[:, 8 + (s % 4)] >> (2 * (s // 4)).astype(np.uint8)) & 3
    return ((low | (high << 4)).astype(np.int16) - 32).reshape(nb, 16)


def _deq_q3_k(b):
    nb = b.shape[0]
    hmask = b[:, 0:32]
    d = _f16(b[:, 108:110])
    dl = d * _q3k_scales(b[:, 96:108]).astype(np.float32)          # (nb, 16)
    q2 = _q2bits(b[:, 32:96]).reshape(nb, 2, 4, 32).astype(np.int8)
    shift = (4 * np.arange(2).reshape(2, 1) + np.arange(4).reshape(1, 4)).astype(np.uint8)
    hb = (hmask.reshape(nb, 1, 1, 32) >> shift.reshape(1, 2, 4, 1)) & 1
    q = q2 - np.where(hb != 0, 0, 4).astype(np.int8)
    q = q.astype(np.float32).reshape(nb, 16, 16)
    return (dl[:, :, None] * q).reshape(nb, 256)


def _k4_scale_min(s12):
    """(nb, 12) -> sc (nb, 8), m (nb, 8) six-bit values (Q4_K/Q5_K)."""
    b = s12
    sc = np.empty((b.shape[0], 8), dtype=np.uint8)
    m = np.empty((b.shape[0], 8), dtype=np.uint8)
    sc[:, 0:4] = b[:, 0:4] & 63
    m[:, 0:4] = b[:, 4:8] & 63
    sc[:, 4:8] = (b[:, 8:12] & 0xF) | ((b[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (b[:, 8:12] >> 4) | ((b[:, 4:8] >> 6) << 4)
    return sc, m


def _k4_low(qs):
    """(nb, 128) -> (nb, 8, 32) low 4-bit values: sub-block 2c = low nibbles of chunk c."""
    nb = qs.shape[0]
    c = qs.reshape(nb, 4, 1, 32)
    q = np.concatenate([c & 0xF, c >> 4], axis=2)  # (nb, 4, 2, 32)
    return q.reshape(nb, 8, 32)


def _deq_q4_k(b):
    nb = b.shape[0]
    d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    sc, m = _k4_scale_min(b[:, 4:16])
    d1 = d * sc.astype(np.float32)
    m1 = dmin * m.astype(np.float32)
    q = _k4_low(b[:, 16:144]).astype(np.float32)
    return (d1[:, :, None] * q - m1[:, :, None]).reshape(nb, 256)


def _deq_q5_k(b):
    nb = b.shape[0]
    d, dmin = _f16(b[:, 0:2]), _f16(b[:, 2:4])
    sc, m = _k4_scale_min(b[:, 4:16])
    d1 = d * sc.astype(np.float32)
    m1 = dmin * m.astype(np.float32)
    qh = b[:, 16:48].reshape(nb, 1, 32)
    hb = (qh >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & 1
    q = (_k4_low(b[:, 48:176]) | (hb << 4)).astype(np.float32)
    return (d1[:, :, None] * q - m1[:, :, None]).reshape(nb, 256)


def _deq_q6_k(b):
    nb = b.shape[0]
    ql = b[:, 0:128].reshape(nb, 2, 2, 32)          # (h, half-of-64, l)
    qh = b[:, 128:192].reshape(nb, 2, 1, 32)
    scales = b[:, 192:208].view(np.int8)            # (nb, 16)
    d = _f16(b[:, 208:210])
    # k = 0,1: low nibbles of ql[64h + 32k + l]; k = 2,3: high nibbles of ql[64h + 32(k-2) + l]
    low = np.concatenate([ql & 0xF, ql >> 4], axis=2)                  # (nb, 2, 4, 32)
    high = (qh >> _SH2.reshape(1, 1, 4, 1)) & 3                         # (nb, 2, 4, 32)
    q = ((low | (high << 4)).astype(np.int8) - np.int8(32)).astype(np.float32)
    ds = d * scales.astype(np.float32)                                  # (nb, 16)
    return (ds[:, :, None] * q.reshape(nb, 16, 16)).reshape(nb, 256)


_DEQ = {2: _deq_q4_0, 3: _deq_q4_1, 6: _deq_q5_0, 7: _deq_q5_1, 8: _deq_q8_0,
        10: _deq_q2_k, 11: _deq_q3_k, 12: _deq_q4_k, 13: _deq_q5_k, 14: _deq_q6_k}


def dequantize(raw, ttype, n_elem):
    """raw uint8 bytes of n_elem elements of type ttype -> flat float32 (float64 for F64)."""
    if ttype not in TYPES:
        raise GGUFError(f"dequantize: unknown tensor type {ttype}")
    name, blck, bsz = TYPES[ttype]
    raw = np.asarray(raw, dtype=np.uint8)
    if ttype == 0:
        return np.frombuffer(raw.tobytes(), dtype="<f4").astype(np.float32)
    if ttype == 1:
        return np.frombuffer(raw.tobytes(), dtype="<f2").astype(np.float32)
    if ttype == 30:
        u = np.frombuffer(raw.tobytes(), dtype="<u2").astype(np.uint32) << 16
        return u.view(np.float32)
    if ttype == 28:
        return np.frombuffer(raw.tobytes(), dtype="<f8").copy()
    if ttype in (24, 25, 26, 27):
        dt = {24: "<i1", 25: "<i2", 26: "<i4", 27: "<i8"}[ttype]
        return np.frombuffer(raw.tobytes(), dtype=dt).astype(np.float32)
    fn = _DEQ.get(ttype)
    if fn is None:
        raise GGUFError(f"dequantize: type {ttype} ({name}) is not supported")
    b = _blocks(raw, bsz, n_elem, blck)
    out = np.empty((b.shape[0], blck), dtype=np.float32)
    step = 1 << 14  # bound temporaries for big tensors
    for i in range(0, b.shape[0], step):
        out[i:i + step] = fn(b[i:i + step])
    return out.reshape(-1)


if __name__ == "__main__":
    import sys
    r = GGUFReader(sys.argv[1])
    print(f"GGUF v{r.version}, {len(r.kv)} kv, {len(r.tensors)} tensors, "
          f"alignment {r.alignment}, data at {r.data_offset}")
    for k, v in r.kv.items():
        s = repr(v if not isinstance(v, (list, np.ndarray)) or len(v) <= 8
                 else f"[{len(v)} x {VT_NAMES[r.kv_arr_type[k]]}]")
        print(f"  {k} ({VT_NAMES[r.kv_type[k]]}) = {s[:100]}")
    for t in r.tensors.values():
        print(f"  {t.name} {t.type_name} {t.ne} @{t.offset}")

#!/usr/bin/env python3
"""ktune's tuned CUDA attention (through kt.h, libkt.so) against PyTorch's
scaled_dot_product_attention, both timed in this process on the same GPU
with the same cold-L2 rotation.

    ktune tune --target cuda --problems data/llm_attention_cuda_shapes.txt \\
        --db attn.db
    python3 benchmarks/attention_sdpa.py --lib build/runtime/libkt.so \\
        --db attn.db [--json FILE]

Each attention signature with a tuned winner for cuda:0 in the results file
is timed through kt_attention_launch_cuda, and SDPA through each of its
backends (flash, memory-efficient, cuDNN, math) that accepts the shape; the
fastest backend is the reference. TFLOP/s count 4 * b * hq * sq * skv * d,
halved for causal. Decode rows (sq <= 16) also report the time against the
memory-bandwidth bound: the K and V bytes over the device-to-device copy
bandwidth measured here. Needs torch with CUDA; --check-bindings needs
neither (it loads the library and looks a signature up on the CPU).
"""

import argparse
import ctypes
import json
import math
import sys

KT_OK = 0


class KernelInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("template_name", ctypes.c_char_p),
        ("params", ctypes.c_char_p),
        ("time_ms", ctypes.c_double),
        ("grid_m", ctypes.c_int64),
        ("grid_n", ctypes.c_int64),
        ("tuned_problem", ctypes.c_char_p),
        ("fallback", ctypes.c_int),
        ("workspace_bytes", ctypes.c_uint64),
    ]


class ContextOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("results_path", ctypes.c_char_p),
        ("device", ctypes.c_char_p),
        ("num_threads", ctypes.c_int),
        ("check_validators", ctypes.c_int),
        ("record_misses", ctypes.c_int),
        ("misses_csv_path", ctypes.c_char_p),
        ("report_path", ctypes.c_char_p),
        ("load_on_first_use", ctypes.c_int),
        ("fallback", ctypes.c_int),
        ("jit", ctypes.c_int),
        ("jit_compiler", ctypes.c_char_p),
        ("jit_timeout_s", ctypes.c_double),
    ]


class Kt:
    """The few kt.h functions this script calls."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        lib = self.lib
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        lib.kt_context_options_init_sized.argtypes = [
            ctypes.POINTER(ContextOptions), ctypes.c_size_t]
        lib.kt_context_options_init_sized.restype = None
        lib.kt_context_create.argtypes = [
            ctypes.POINTER(ContextOptions), ctypes.POINTER(vp)]
        lib.kt_context_create.restype = ctypes.c_int
        lib.kt_context_destroy.argtypes = [vp]
        lib.kt_context_destroy.restype = None
        lib.kt_context_last_error.argtypes = [vp]
        lib.kt_context_last_error.restype = cp
        lib.kt_lookup.argtypes = [vp, cp, ctypes.POINTER(vp)]
        lib.kt_lookup.restype = ctypes.c_int
        lib.kt_kernel_get_info.argtypes = [vp, ctypes.POINTER(KernelInfo)]
        lib.kt_kernel_get_info.restype = ctypes.c_int
        lib.kt_attention_launch_cuda.argtypes = [
            vp, vp, vp, vp, vp, vp, vp, ctypes.c_float, vp]
        lib.kt_attention_launch_cuda.restype = ctypes.c_int
        self.ctx = None

    def open(self, results, device):
        opts = ContextOptions()
        # The library writes only this mirror's size (kt.h API 1.6).
        self.lib.kt_context_options_init_sized(
            ctypes.byref(opts), ctypes.sizeof(opts))
        # Keep the encoded strings alive as long as the options.
        self._keep = [results.encode(), device.encode()]
        opts.results_path = self._keep[0]
        opts.device = self._keep[1]
        opts.record_misses = 0
        ctx = ctypes.c_void_p()
        st = self.lib.kt_context_create(ctypes.byref(opts), ctypes.byref(ctx))
        if st != KT_OK:
            raise RuntimeError("kt_context_create(%s, %s): %s" % (
                results, device, self.error(None)))
        self.ctx = ctx

    def error(self, ctx):
        msg = self.lib.kt_context_last_error(ctx)
        return msg.decode() if msg else "(no message)"

    def lookup(self, signature):
        """(kernel, info) or (None, reason)."""
        kernel = ctypes.c_void_p()
        st = self.lib.kt_lookup(self.ctx, signature.encode(),
                                ctypes.byref(kernel))
        if st != KT_OK:
            return None, self.error(self.ctx)
        info = KernelInfo()
        info.struct_size = ctypes.sizeof(KernelInfo)
        self.lib.kt_kernel_get_info(kernel, ctypes.byref(info))
        return kernel, info

    def close(self):
        if self.ctx:
            self.lib.kt_context_destroy(self.ctx)
            self.ctx = None


def parse_signature(sig):
    """attn_<dt>_<layout>_b.._hq.._hkv.._sq.._skv.._d..[_causal]."""
    parts = sig.split("_")
    if len(parts) < 4 or parts[0] != "attn":
        raise ValueError("not an attention signature: " + sig)
    p = {"dtype": parts[1], "layout": parts[2], "causal": False}
    for f in parts[3:]:
        if f == "causal":
            p["causal"] = True
            continue
        for key in ("hkv", "hq", "skv", "sq", "b", "d"):
            if f.startswith(key) and f[len(key):].isdigit():
                p[key] = int(f[len(key):])
                break
        else:
            raise ValueError("bad field %r in %s" % (f, sig))
    return p


def flops(p):
    f = 4.0 * p["b"] * p["hq"] * p["sq"] * p["skv"] * p["d"]
    return f / 2 if p["causal"] else f


def signatures(db):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute(
        "SELECT DISTINCT problem_key FROM winners WHERE problem_key LIKE "
        "'attn_%' AND target LIKE 'cuda:%' ORDER BY problem_key").fetchall()
    return [r[0] for r in rows]


def time_ms(torch, fn, sets, min_ms=200.0):
    """Median per-launch time of batches (one launch per rotating set)."""
    for s in range(2):
        fn(s % sets)
    torch.cuda.synchronize()
    batches, spent = [], 0.0
    while len(batches) < 5 or (spent < min_ms and len(batches) < 100):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for s in range(sets):
            fn(s)
        end.record()
        end.synchronize()
        ms = start.elapsed_time(end)
        spent += ms
        batches.append(ms / sets)
    batches.sort()
    return batches[len(batches) // 2]


def copy_bandwidth(torch):
    """Device-to-device copy bandwidth, bytes read + written per second."""
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = time_ms(torch, lambda s: b.copy_(a), 1)
    return 2 * n / (ms * 1e-3)


def bench(kt, torch, sig, l2_bytes, bw):
    import torch.nn.functional as F
    p = parse_signature(sig)
    kernel, info = kt.lookup(sig)
    row = {"target": "cuda:0", "signature": sig, "b": p["b"], "hq": p["hq"],
           "hkv": p["hkv"], "sq": p["sq"], "skv": p["skv"], "d": p["d"],
           "causal": p["causal"], "ktune_tflops": 0.0, "ref_tflops": 0.0,
           "ratio": 0.0}
    if kernel is None:
        row["note"] = info
        return row
    row["winner"] = "%s %s" % (info.template_name.decode(),
                               info.params.decode())
    dt = {"bf16": torch.bfloat16, "f16": torch.float16}[p["dtype"]]
    b, hq, hkv, sq, skv, d = (p[k] for k in ("b", "hq", "hkv", "sq", "skv",
                                             "d"))
    bshd = p["layout"] == "BSHD"
    qshape = (b, sq, hq, d) if bshd else (b, hq, sq, d)
    kshape = (b, skv, hkv, d) if bshd else (b, hkv, skv, d)
    set_bytes = 2 * (2 * b * hq * sq * d + 2 * b * hkv * skv * d)
    sets = max(2, math.ceil(2 * l2_bytes / set_bytes))
    gen = torch.Generator(device="cuda").manual_seed(1)
    qs = [torch.rand(qshape, dtype=dt, device="cuda", generator=gen) * 2 - 1
          for _ in range(sets)]
    ks = [torch.rand(kshape, dtype=dt, device="cuda", generator=gen) * 2 - 1
          for _ in range(sets)]
    vs = [torch.rand(kshape, dtype=dt, device="cuda", generator=gen) * 2 - 1
          for _ in range(sets)]
    os_ = [torch.empty(qshape, dtype=dt, device="cuda") for _ in range(sets)]
    ws = None
    if info.workspace_bytes:
        ws = torch.zeros(info.workspace_bytes, dtype=torch.uint8,
                         device="cuda")

    def run_kt(s):
        st = kt.lib.kt_attention_launch_cuda(
            kt.ctx, kernel, torch.cuda.current_stream().cuda_stream,
            qs[s].data_ptr(), ks[s].data_ptr(), vs[s].data_ptr(),
            os_[s].data_ptr(), 0.0, ws.data_ptr() if ws is not None else None)
        if st != KT_OK:
            raise RuntimeError(kt.error(kt.ctx))

    # SDPA takes (b, h, s, d) views; BSHD tensors are transposed views. Its
    # causal mask is top-left aligned, equal to ktune's when sq == skv; for
    # decode rows (sq < skv) causal problems are skipped.
    def views(s):
        if bshd:
            return (qs[s].transpose(1, 2), ks[s].transpose(1, 2),
                    vs[s].transpose(1, 2))
        return qs[s], ks[s], vs[s]

    # Correctness first: ktune against SDPA's math on set 0.
    run_kt(0)
    q0, k0, v0 = views(0)
    gqa = hq != hkv
    kwargs = {"is_causal": p["causal"]}
    if gqa:
        kwargs["enable_gqa"] = True
    torch.cuda.synchronize()
    ref = F.scaled_dot_product_attention(q0.float(), k0.float(), v0.float(),
                                         **kwargs)
    got = os_[0].transpose(1, 2).float() if bshd else os_[0].float()
    err = (got - ref).abs().max().item()
    row["max_abs_err"] = err
    if not err < 2e-2:
        row["note"] = "numerics: max |ktune - sdpa| = %.3g" % err
        return row
    kt_ms = time_ms(torch, run_kt, sets)
    row["ktune_tflops"] = flops(p) / (kt_ms * 1e9)
    if sq <= 16:
        kv_bytes = 2 * b * hkv * skv * d * 2
        row["bound_ratio"] = kt_ms / (kv_bytes / bw * 1e3)

    from torch.nn.attention import SDPBackend, sdpa_kernel
    best, best_name = None, None
    if p["causal"] and sq != skv:
        row["note"] = "SDPA's causal mask is top-left aligned; not compared"
        return row
    for name in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION",
                 "MATH"):
        backend = getattr(SDPBackend, name, None)
        if backend is None:
            continue

        def run_ref(s):
            q, k, v = views(s)
            F.scaled_dot_product_attention(q, k, v, **kwargs)
        try:
            with sdpa_kernel(backend):
                ms = time_ms(torch, run_ref, sets)
        except RuntimeError:
            continue  # The backend does not take this shape.
        if best is None or ms < best:
            best, best_name = ms, name
    if best is not None:
        row["ref_tflops"] = flops(p) / (best * 1e9)
        row["ref_backend"] = best_name
        row["ratio"] = best / kt_ms
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", required=True, help="libkt.so")
    ap.add_argument("--db", required=True, help="results file tuned on cuda")
    ap.add_argument("--json", help="write the rows to this JSON file")
    ap.add_argument("--check-bindings", metavar="SIGNATURE",
                    help="load the library, open --db on the cpu, look "
                    "SIGNATURE up and print what kt.h says; no GPU needed")
    a = ap.parse_args()
    kt = Kt(a.lib)
    if a.check_bindings:
        kt.open(a.db, "cpu")
        kernel, info = kt.lookup(a.check_bindings)
        if kernel is None:
            print("lookup: %s" % info)
            return 1
        print("lookup: %s %s (%s)" % (info.template_name.decode(),
                                      info.params.decode(),
                                      info.tuned_problem.decode()))
        kt.close()
        return 0
    import torch
    if not torch.cuda.is_available():
        print("attention_sdpa: torch sees no CUDA device", file=sys.stderr)
        return 2
    kt.open(a.db, "cuda:0")
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    bw = copy_bandwidth(torch)
    print("attention_sdpa on %s, torch %s, copy bandwidth %.0f GB/s" % (
        props.name, torch.__version__, bw / 1e9))
    print("%-58s %10s %10s %7s %7s  %s" % ("problem", "ktune TF/s", "SDPA TF/s",
                                          "ratio", "/bound", "winner"))
    rows = []
    for sig in signatures(a.db):
        row = bench(kt, torch, sig, l2, bw)
        rows.append(row)
        print("%-58s %10.1f %10.1f %7.2f %7s  %s%s" % (
            sig, row["ktune_tflops"], row["ref_tflops"], row["ratio"],
            "%.2f" % row["bound_ratio"] if "bound_ratio" in row else "-",
            row.get("winner", ""),
            "  (%s)" % row["note"] if "note" in row else ""))
        sys.stdout.flush()
    ratios = [r["ratio"] for r in rows if r["ratio"] > 0]
    if ratios:
        print("geomean ratio (ktune / best SDPA backend) over %d shapes: %.3f"
              % (len(ratios),
                 math.exp(sum(math.log(x) for x in ratios) / len(ratios))))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    kt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

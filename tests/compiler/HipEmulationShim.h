// Force-included (clang -include) before a hip.gemm.mfma or
// hip.attention.mfma kernel text, or the tuner's AMD reference kernels, that
// the emulation test compiles as host C++: maps the AMDGPU builtins the text
// uses onto the emulator's hooks (HipEmulationHooks.h), which run one fiber
// per work-item and exchange the lanes' values of a wave at MFMAs,
// ds_bpermute and ballots. The text itself is unchanged except for one
// line, its `#define __shared__`, which the test points at KT_EMU_SHARED: LDS
// variables become statics in section kt_lds, shared by the fibers of the
// workgroup in flight (workgroups run one after another) and poisoned by the
// emulator before each workgroup. The test also appends kt_emu_threads(),
// which returns the text's KT_THREADS (defined by the test ahead of a text
// without one).
#pragma once

#include "HipEmulationHooks.h"

#include <cmath>
#include <type_traits>

static const kt_emu_hooks *kt_emu = nullptr;

extern "C" __attribute__((visibility("default"))) void
kt_emu_bind(const kt_emu_hooks *hooks) {
  kt_emu = hooks;
}

// The linker's bounds of section kt_lds (absent when the text declares no
// LDS).
extern "C" char __start_kt_lds[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_kt_lds[] __attribute__((weak, visibility("hidden")));

extern "C" __attribute__((visibility("default"))) void kt_emu_lds(char **begin,
                                                                  char **end) {
  *begin = __start_kt_lds;
  *end = __stop_kt_lds;
}

#define KT_EMU_SHARED static __attribute__((section("kt_lds")))
// The kernel's workgroup size attribute has no meaning on the host; the
// test checks the launch's threads against the text's KT_THREADS instead.
#define amdgpu_flat_work_group_size(lo, hi) unused

#define __builtin_amdgcn_workitem_id_x() kt_emu->workitemId()
#define __builtin_amdgcn_workgroup_id_x() kt_emu->workgroupId()
#define __builtin_amdgcn_workitem_id_y() kt_emu->workitemIdY()
#define __builtin_amdgcn_workgroup_id_y() kt_emu->workgroupIdY()
#define __builtin_amdgcn_grid_size_x() kt_emu->gridSizeX()
#define __builtin_amdgcn_s_barrier() kt_emu->barrier()
#define __builtin_amdgcn_fence(order, scope) kt_emu->fence(order, scope)
#define __builtin_amdgcn_ds_bpermute(addr, value)                              \
  kt_emu->bpermute(addr, value, __LINE__)
#define __builtin_amdgcn_ballot_w64(predicate)                                 \
  kt_emu->ballot((predicate) ? 1 : 0, __LINE__)
#define __builtin_amdgcn_exp2f(x) kt_emu_exp2f(x)

// v_exp_f32: 2^x (the hardware's is accurate to about 1 ulp).
static inline float kt_emu_exp2f(float x) { return std::exp2(x); }

// One MFMA with the operand types of the builtin it stands for (a kernel
// passing other vector types would not compile for the GPU either) and no
// CBSZ / ABID / BLGP modifiers, which the emulation does not model.
template <int M, int KV, int TYPE, class Elem, class A, class B, class C>
static inline C kt_emu_mfma(A a, B b, C c, int cbsz, int abid, int blgp,
                            int line) {
  typedef Elem In __attribute__((ext_vector_type(KV)));
  typedef float Acc __attribute__((ext_vector_type(M * M / 64)));
  static_assert(std::is_same_v<A, In> && std::is_same_v<B, In>,
                "MFMA operands A and B of the builtin's vector type");
  static_assert(std::is_same_v<C, Acc>, "MFMA accumulators of f32 x M*M/64");
  static_assert(sizeof(In) == 2 * KV, "16-bit operands");
  if (cbsz != 0 || abid != 0 || blgp != 0) {
    __builtin_trap();
  }
  C d;
  kt_emu->mfma(M, KV, TYPE, &a, &b, reinterpret_cast<const float *>(&c),
               reinterpret_cast<float *>(&d), line);
  return d;
}

// gfx950: 16x16x32 and 32x32x16, 8 K values per lane (bf16 as __bf16).
#define __builtin_amdgcn_mfma_f32_16x16x32_bf16(a, b, c, x, y, z)              \
  kt_emu_mfma<16, 8, KT_EMU_BF16, __bf16>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_16x16x32_f16(a, b, c, x, y, z)               \
  kt_emu_mfma<16, 8, KT_EMU_F16, _Float16>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_32x32x16_bf16(a, b, c, x, y, z)              \
  kt_emu_mfma<32, 8, KT_EMU_BF16, __bf16>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_32x32x16_f16(a, b, c, x, y, z)               \
  kt_emu_mfma<32, 8, KT_EMU_F16, _Float16>(a, b, c, x, y, z, __LINE__)
// gfx942: 16x16x16 and 32x32x8, 4 K values per lane (bf16 as short).
#define __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(a, b, c, x, y, z)            \
  kt_emu_mfma<16, 4, KT_EMU_BF16, short>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_16x16x16f16(a, b, c, x, y, z)                \
  kt_emu_mfma<16, 4, KT_EMU_F16, _Float16>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_32x32x8bf16_1k(a, b, c, x, y, z)             \
  kt_emu_mfma<32, 4, KT_EMU_BF16, short>(a, b, c, x, y, z, __LINE__)
#define __builtin_amdgcn_mfma_f32_32x32x8f16(a, b, c, x, y, z)                 \
  kt_emu_mfma<32, 4, KT_EMU_F16, _Float16>(a, b, c, x, y, z, __LINE__)

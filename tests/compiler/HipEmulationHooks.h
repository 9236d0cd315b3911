// The interface between a HIP kernel text compiled for the host with
// HipEmulationShim.h and the emulator that runs it (HipEmulation.cpp): the
// builtins that need the wave64 execution model are calls through this
// table. Plain C types only: both sides are compiled by different compilers.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// Operand element types of an MFMA.
enum { KT_EMU_BF16 = 0, KT_EMU_F16 = 1 };

struct kt_emu_hooks {
  /// __builtin_amdgcn_workitem_id_x / workgroup_id_x.
  unsigned (*workitemId)(void);
  unsigned (*workgroupId)(void);
  /// __builtin_amdgcn_workitem_id_y / workgroup_id_y (0 in a 1-D launch).
  unsigned (*workitemIdY)(void);
  unsigned (*workgroupIdY)(void);
  /// __builtin_amdgcn_grid_size_x: the grid's work-items in x (workgroups
  /// times work-items per workgroup, as the dispatch packet holds it).
  unsigned (*gridSizeX)(void);
  /// __builtin_amdgcn_s_barrier: returns when every work-item of the
  /// workgroup has arrived.
  void (*barrier)(void);
  /// __builtin_amdgcn_fence(order, scope).
  void (*fence)(int order, const char *scope);
  /// One MFMA of the calling lane's wave: an m x m block (16 or 32), kv K
  /// values of `type` per lane in `a` and `b` (16-bit patterns), m * m / 64
  /// f32 accumulators in `c`; the lane's results go to `d`. `line` is the
  /// call's source line: every lane of the wave must reach the same one.
  void (*mfma)(int m, int kv, int type, const void *a, const void *b,
               const float *c, float *d, int line);
  /// __builtin_amdgcn_ds_bpermute: the `value` of lane (addr / 4) % 64.
  int (*bpermute)(int addr, int value, int line);
  /// __builtin_amdgcn_ballot_w64: bit l set where lane l's `predicate` is
  /// nonzero (all 64 lanes active: the emulation has no EXEC mask).
  unsigned long long (*ballot)(int predicate, int line);
};

#ifdef __cplusplus
}
#endif

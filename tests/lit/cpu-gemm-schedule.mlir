// The cpu.gemm.mlir schedule on a ragged NN problem: register-tile panels,
// the contraction becomes outer-product FMAs on AVX2-sized vectors, and no
// per-tile accumulator copy is left after bufferisation.
// RUN: %ktune compile --problem gemm_f32_NN_30x40x24 --template cpu.gemm.mlir \
// RUN:   --config 'mr=6;nv=2;vw=8;mc=30;nc=32;kc=8;ku=2;order=1;pack=1;packb=1' \
// RUN:   --emit scheduled > %t
// RUN: %filecheck %s < %t
// RUN: %kt_opt '--pass-pipeline=builtin.module(func.func(canonicalize,cse,canonicalize))' %t \
// RUN:   | %filecheck %s --check-prefix=NOCOPY

// CHECK: func.func @kt_gemm
// CHECK: memref.alloc{{.*}}memref<5x24x6xf32>
// CHECK: memref.alloc{{.*}}memref<2x24x16xf32>
// CHECK: scf.for
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: func.func @kt_grid_m
// CHECK: arith.constant 1 : i64
// CHECK: func.func @kt_grid_n
// CHECK: arith.constant 2 : i64

// The accumulator tiles (6 x 16 and the 6 x 8 remainder) are not copied once
// the lowering's first clean-up (canonicalize, cse) ran.
// NOCOPY-NOT: linalg.copy {{.*}}memref<1x1x6x16xf32
// NOCOPY-NOT: linalg.copy {{.*}}memref<1x1x6x8xf32
// NOCOPY-NOT: memref.copy

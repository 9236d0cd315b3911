// The kt-cpu-lower pipeline: a kernel-shaped function (bare-pointer memrefs,
// vector FMAs, a small and a large scratch buffer) lowers to the LLVM
// dialect only; the small buffer goes on the stack, the large one is freed
// by the pipeline (ownership-based deallocation: inputs carry no deallocs).
// RUN: %kt_opt --kt-cpu-lower %s | %filecheck %s

// CHECK-LABEL: llvm.func @kernel
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: llvm.alloca
// CHECK: llvm.call @malloc
// CHECK: llvm.intr.fmuladd
// CHECK: llvm.call @free
// CHECK-NOT: memref.
// CHECK-NOT: vector.
func.func @kernel(%a: memref<64xf32>, %c: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %small = memref.alloc() : memref<16xf32>
  %big = memref.alloc() : memref<131072xf32>
  %x = vector.transfer_read %a[%c0], %pad : memref<64xf32>, vector<16xf32>
  vector.transfer_write %x, %small[%c0] : vector<16xf32>, memref<16xf32>
  vector.transfer_write %x, %big[%c0] : vector<16xf32>, memref<131072xf32>
  %y = vector.transfer_read %small[%c0], %pad : memref<16xf32>, vector<16xf32>
  %z = vector.transfer_read %big[%c0], %pad : memref<131072xf32>, vector<16xf32>
  %f = vector.fma %x, %y, %z : vector<16xf32>
  vector.transfer_write %f, %c[%c0] : vector<16xf32>, memref<64xf32>
  return
}

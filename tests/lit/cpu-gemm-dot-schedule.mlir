// The cpu.gemm.dot.mlir schedule on an NT problem: B is never copied, the
// register tile is one FMA on vector<mr x nr x vw>, and the lanes are summed
// once per output.
// RUN: %ktune compile --problem gemm_f32_NT_4x24x64 --template cpu.gemm.dot.mlir \
// RUN:   --config 'mr=2;nr=4;vw=8;mc=4;nc=24;kc=32;ku=1;order=0' \
// RUN:   --emit mlir | %filecheck %s --check-prefix=PAYLOAD
// RUN: %ktune compile --problem gemm_f32_NT_4x24x64 --template cpu.gemm.dot.mlir \
// RUN:   --config 'mr=2;nr=4;vw=8;mc=4;nc=24;kc=32;ku=1;order=0' \
// RUN:   --emit scheduled | %filecheck %s

// PAYLOAD: tensor.expand_shape {{.*}} into tensor<24x8x8xf32>
// PAYLOAD: math.fma
// PAYLOAD-NOT: linalg.transpose

// CHECK: func.func @kt_gemm
// CHECK-NOT: linalg.transpose
// CHECK: scf.for
// CHECK: math.fma {{.*}} : vector<2x4x8xf32>

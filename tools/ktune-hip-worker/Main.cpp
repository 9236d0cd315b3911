// ktune-hip-worker: measures AMD GEMM candidates for `ktune tune` in a
// process of its own, so a faulting or hanging kernel costs one candidate
// (protocol in tuner/include/ktune/tuner/GpuWorker.h). Links no LLVM: the
// tuner compiles the code objects.
#include "ktune/tuner/GpuWorker.h"

int main(int argc, char **argv) { return kt::runHipWorker(argc, argv); }

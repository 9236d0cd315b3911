/* kt-gemm-run: the inference side of ktune in plain C. Opens a tuned results
 * file through kt.h, looks up one f32 GEMM, runs it on the CPU with random
 * operands and checks the product against a naive triple loop.
 *
 *   kt-gemm-run RESULTS.db LAYOUT M N K      (LAYOUT: NN, NT, TN or TT)
 *
 * With KT_JIT_COMPILER set to a ktune executable, a tuned result without a
 * code object (e.g. in a CSV file) is compiled on first use (kt.h jit).
 *
 * Exit status: 0 correct, 1 wrong product, 2 usage or kt.h error,
 * 3 not found (nothing tuned for this problem on this machine). */
#include "kt/kt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float frand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

int main(int argc, char **argv) {
  if (argc != 6 || strlen(argv[2]) != 2) {
    fprintf(stderr, "usage: %s RESULTS.db LAYOUT M N K\n", argv[0]);
    return 2;
  }
  kt_gemm_desc d;
  kt_gemm_desc_init(&d);
  d.trans_a = argv[2][0] == 'T';
  d.trans_b = argv[2][1] == 'T';
  d.m = atoll(argv[3]);
  d.n = atoll(argv[4]);
  d.k = atoll(argv[5]);
  if (d.m <= 0 || d.n <= 0 || d.k <= 0) {
    fprintf(stderr, "kt-gemm-run: M, N and K must be positive\n");
    return 2;
  }

  kt_context_options o;
  kt_context_options_init(&o);
  o.results_path = argv[1];
  if (getenv("KT_JIT_COMPILER") != NULL) {
    o.jit = 1;
    o.jit_compiler = getenv("KT_JIT_COMPILER");
  }
  kt_context *ctx = NULL;
  kt_status st = kt_context_create(&o, &ctx);
  if (st != KT_OK) {
    fprintf(stderr, "kt-gemm-run: %s: %s\n", kt_status_string(st),
            kt_context_last_error(NULL));
    return 2;
  }
  kt_kernel *kernel = NULL;
  st = kt_gemm_lookup(ctx, &d, &kernel);
  if (st != KT_OK) {
    fprintf(stderr, "kt-gemm-run: %s: %s\n", kt_status_string(st),
            kt_context_last_error(ctx));
    kt_context_destroy(ctx);
    return st == KT_NOT_FOUND ? 3 : 2;
  }
  kt_kernel_info info;
  info.struct_size = sizeof info;
  kt_kernel_get_info(kernel, &info);

  const int64_t m = d.m, n = d.n, k = d.k;
  float *a = malloc(sizeof(float) * (size_t)(m * k));
  float *b = malloc(sizeof(float) * (size_t)(k * n));
  float *c = malloc(sizeof(float) * (size_t)(m * n));
  if (!a || !b || !c) {
    fprintf(stderr, "kt-gemm-run: out of memory\n");
    return 2;
  }
  unsigned seed = 1;
  for (int64_t i = 0; i < m * k; ++i)
    a[i] = frand(&seed);
  for (int64_t i = 0; i < k * n; ++i)
    b[i] = frand(&seed);
  for (int64_t i = 0; i < m * n; ++i)
    c[i] = frand(&seed);
  const float alpha = 1.5f, beta = 0.5f;
  float *c0 = malloc(sizeof(float) * (size_t)(m * n));
  memcpy(c0, c, sizeof(float) * (size_t)(m * n));

  st = kt_gemm_launch_cpu(ctx, kernel, a, b, c, alpha, beta);
  if (st != KT_OK) {
    fprintf(stderr, "kt-gemm-run: launch: %s\n", kt_context_last_error(ctx));
    return 2;
  }
  /* Naive reference in double; packed leading dimensions. */
  double worst = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        double x = d.trans_a ? a[p * m + i] : a[i * k + p];
        double y = d.trans_b ? b[j * k + p] : b[p * n + j];
        s += x * y;
        mag += fabs(x * y);
      }
      double want = alpha * s + beta * c0[i * n + j];
      double err = fabs(c[i * n + j] - want) / (1e-6 + 1e-5 * alpha * mag);
      if (err > worst)
        worst = err;
    }
  }
  printf("%s %s %lldx%lldx%lld: %s %s (tuned %.4f ms), error %.3f of "
         "tolerance: %s\n",
         argv[2], "f32", (long long)m, (long long)n, (long long)k,
         info.template_name, info.params, info.time_ms, worst,
         worst <= 1.0 ? "OK" : "WRONG");
  free(a);
  free(b);
  free(c);
  free(c0);
  kt_context_destroy(ctx);
  return worst <= 1.0 ? 0 : 1;
}

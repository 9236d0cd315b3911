/* A transformer block forward pass (a Llama-style decoder layer without
 * rotary embeddings) whose every GEMM and attention call goes through kt.h:
 *
 *   h = x + Wo attn(norm(x) Wqkv)          (causal, grouped-query)
 *   y = h + Wdown (silu(norm(h) Wgate) * norm(h) Wup)
 *
 * Each call looks up the tuned kernel for its exact problem; on KT_OK it
 * runs it, otherwise it runs this program's own plain C kernel (what an
 * engine's default would be). The output is checked against the same block
 * computed with the plain kernels only, and every call is reported as
 * tuned, fallback or missed.
 *
 *   kt-transformer-block RESULTS [--llama3-8b] [--tokens S]
 *   kt-transformer-block --print-problems [--llama3-8b] [--tokens S]
 *
 * --print-problems writes the block's problems as ktune signatures, to tune
 * with `ktune tune --problems FILE --db RESULTS`. Dimensions: a small
 * Llama-3-8B-like block by default (hidden 512, 8 query heads and 2
 * key/value heads of 64, MLP 1792); --llama3-8b uses Llama-3-8B's (hidden
 * 4096, 32 and 8 heads of 128, MLP 14336; 0.9 GB of weights).
 *
 * Exit status: 0 output correct, 1 wrong output, 2 usage or kt.h error. */
#include "kt/kt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int64_t hidden, heads, kv_heads, head_dim, ffn, tokens;
} dims;

typedef struct {
  int tuned, fallback, missed;
  int print; /* Report each call. */
} tally;

static float frand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *alloc_floats(int64_t n) {
  float *p = (float *)malloc((size_t)n * sizeof(float));
  if (p == NULL) {
    fprintf(stderr, "kt-transformer-block: out of memory (%lld floats)\n",
            (long long)n);
    exit(2);
  }
  return p;
}

static float *random_floats(int64_t n, float range, unsigned *seed) {
  float *p = alloc_floats(n);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = range * frand(seed);
  }
  return p;
}

/* The plain kernels (the engine's defaults and the reference). */

/* C[m,n] = A[m,k] * W[n,k]^T (an "NT" GEMM: x @ W.T). */
static void plain_gemm_nt(int64_t m, int64_t n, int64_t k, const float *a,
                          const float *w, float *c) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        acc += (double)a[i * k + p] * (double)w[j * k + p];
      }
      c[i * n + j] = (float)acc;
    }
  }
}

/* Causal grouped-query attention, BSHD, one batch, bottom-right aligned. */
static void plain_attention(const dims *d, const float *q, const float *k,
                            const float *v, float *o) {
  const int64_t s = d->tokens, hd = d->head_dim;
  const int64_t group = d->heads / d->kv_heads;
  const double scale = 1.0 / sqrt((double)hd);
  double *p = (double *)malloc((size_t)s * sizeof(double));
  for (int64_t h = 0; h < d->heads; ++h) {
    const int64_t kvh = h / group;
    for (int64_t i = 0; i < s; ++i) {
      const float *qi = q + (i * d->heads + h) * hd;
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        const float *kj = k + (j * d->kv_heads + kvh) * hd;
        double dot = 0;
        for (int64_t e = 0; e < hd; ++e) {
          dot += (double)qi[e] * (double)kj[e];
        }
        p[j] = dot * scale;
        mx = p[j] > mx ? p[j] : mx;
      }
      for (int64_t j = 0; j <= i; ++j) {
        p[j] = exp(p[j] - mx);
        sum += p[j];
      }
      float *oi = o + (i * d->heads + h) * hd;
      for (int64_t e = 0; e < hd; ++e) {
        double acc = 0;
        for (int64_t j = 0; j <= i; ++j) {
          acc += p[j] * (double)v[(j * d->kv_heads + kvh) * hd + e];
        }
        oi[e] = (float)(acc / sum);
      }
    }
  }
  free(p);
}

/* The calls through kt.h, falling back to the plain kernels. */

static const char *outcome(kt_context *ctx, kt_status st, kt_kernel *kernel,
                           tally *t) {
  if (st == KT_OK) {
    kt_kernel_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    kt_kernel_get_info(kernel, &info);
    if (info.fallback) {
      ++t->fallback;
      return "fallback";
    }
    ++t->tuned;
    return "tuned";
  }
  (void)ctx;
  ++t->missed;
  return "missed";
}

static void gemm_nt(kt_context *ctx, const char *name, int64_t m, int64_t n,
                    int64_t k, const float *a, const float *w, float *c,
                    tally *t) {
  kt_gemm_desc desc;
  kt_gemm_desc_init(&desc);
  desc.dtype = KT_F32;
  desc.trans_b = 1;
  desc.m = m;
  desc.n = n;
  desc.k = k;
  kt_kernel *kernel = NULL;
  kt_status st = ctx ? kt_gemm_lookup(ctx, &desc, &kernel) : KT_NOT_FOUND;
  if (st == KT_OK &&
      kt_gemm_launch_cpu(ctx, kernel, a, w, c, 1.0f, 0.0f) != KT_OK) {
    st = KT_INTERNAL;
  }
  const char *how = outcome(ctx, st, kernel, t);
  if (st != KT_OK) {
    plain_gemm_nt(m, n, k, a, w, c);
  }
  if (t->print) {
    printf("  %-10s gemm_f32_NT_%lldx%lldx%lld  %s\n", name, (long long)m,
           (long long)n, (long long)k, how);
  }
}

static void attention(kt_context *ctx, const dims *d, const float *q,
                      const float *k, const float *v, float *o, tally *t) {
  kt_attention_desc desc;
  kt_attention_desc_init(&desc);
  desc.dtype = KT_F32;
  desc.layout = KT_BSHD;
  desc.batch = 1;
  desc.heads_q = d->heads;
  desc.heads_kv = d->kv_heads;
  desc.seq_q = d->tokens;
  desc.seq_kv = d->tokens;
  desc.head_dim = d->head_dim;
  desc.causal = 1;
  kt_kernel *kernel = NULL;
  kt_status st = ctx ? kt_attention_lookup(ctx, &desc, &kernel) : KT_NOT_FOUND;
  if (st == KT_OK &&
      kt_attention_launch_cpu(ctx, kernel, q, k, v, o, 0.0f) != KT_OK) {
    st = KT_INTERNAL;
  }
  const char *how = outcome(ctx, st, kernel, t);
  if (st != KT_OK) {
    plain_attention(d, q, k, v, o);
  }
  if (t->print) {
    printf("  %-10s attn_f32_BSHD_b1_hq%lld_hkv%lld_sq%lld_skv%lld_d%lld_"
           "causal  %s\n",
           "attention", (long long)d->heads, (long long)d->kv_heads,
           (long long)d->tokens, (long long)d->tokens, (long long)d->head_dim,
           how);
  }
}

static void rms_norm(const dims *d, const float *x, float *out) {
  for (int64_t i = 0; i < d->tokens; ++i) {
    double ss = 0;
    for (int64_t e = 0; e < d->hidden; ++e) {
      ss += (double)x[i * d->hidden + e] * x[i * d->hidden + e];
    }
    const float inv = (float)(1.0 / sqrt(ss / (double)d->hidden + 1e-5));
    for (int64_t e = 0; e < d->hidden; ++e) {
      out[i * d->hidden + e] = x[i * d->hidden + e] * inv;
    }
  }
}

typedef struct {
  float *wqkv, *wo, *wgateup, *wdown;
} weights;

/* One forward pass; ctx NULL runs the plain kernels only (the reference). */
static void forward(kt_context *ctx, const dims *d, const weights *w,
                    const float *x, float *y, tally *t) {
  const int64_t s = d->tokens, hd = d->hidden;
  const int64_t qw = d->heads * d->head_dim, kvw = d->kv_heads * d->head_dim;
  const int64_t qkvw = qw + 2 * kvw;
  float *xn = alloc_floats(s * hd), *qkv = alloc_floats(s * qkvw);
  float *q = alloc_floats(s * qw), *k = alloc_floats(s * kvw);
  float *v = alloc_floats(s * kvw), *att = alloc_floats(s * qw);
  float *h = alloc_floats(s * hd), *gu = alloc_floats(s * 2 * d->ffn);
  float *act = alloc_floats(s * d->ffn);

  rms_norm(d, x, xn);
  gemm_nt(ctx, "qkv", s, qkvw, hd, xn, w->wqkv, qkv, t);
  for (int64_t i = 0; i < s; ++i) {
    memcpy(q + i * qw, qkv + i * qkvw, (size_t)qw * sizeof(float));
    memcpy(k + i * kvw, qkv + i * qkvw + qw, (size_t)kvw * sizeof(float));
    memcpy(v + i * kvw, qkv + i * qkvw + qw + kvw, (size_t)kvw * sizeof(float));
  }
  attention(ctx, d, q, k, v, att, t);
  gemm_nt(ctx, "out", s, hd, qw, att, w->wo, h, t);
  for (int64_t i = 0; i < s * hd; ++i) {
    h[i] += x[i];
  }
  rms_norm(d, h, xn);
  gemm_nt(ctx, "gate_up", s, 2 * d->ffn, hd, xn, w->wgateup, gu, t);
  for (int64_t i = 0; i < s; ++i) {
    for (int64_t e = 0; e < d->ffn; ++e) {
      const float g = gu[i * 2 * d->ffn + e];
      const float u = gu[i * 2 * d->ffn + d->ffn + e];
      act[i * d->ffn + e] = g / (1.0f + expf(-g)) * u;
    }
  }
  gemm_nt(ctx, "down", s, hd, d->ffn, act, w->wdown, y, t);
  for (int64_t i = 0; i < s * hd; ++i) {
    y[i] += h[i];
  }
  free(xn);
  free(qkv);
  free(q);
  free(k);
  free(v);
  free(att);
  free(h);
  free(gu);
  free(act);
}

static void print_problems(const dims *d) {
  const int64_t qkvw = (d->heads + 2 * d->kv_heads) * d->head_dim;
  const int64_t qw = d->heads * d->head_dim;
  printf("gemm_f32_NT_%lldx%lldx%lld\n", (long long)d->tokens, (long long)qkvw,
         (long long)d->hidden);
  printf("attn_f32_BSHD_b1_hq%lld_hkv%lld_sq%lld_skv%lld_d%lld_causal\n",
         (long long)d->heads, (long long)d->kv_heads, (long long)d->tokens,
         (long long)d->tokens, (long long)d->head_dim);
  printf("gemm_f32_NT_%lldx%lldx%lld\n", (long long)d->tokens,
         (long long)d->hidden, (long long)qw);
  printf("gemm_f32_NT_%lldx%lldx%lld\n", (long long)d->tokens,
         (long long)(2 * d->ffn), (long long)d->hidden);
  printf("gemm_f32_NT_%lldx%lldx%lld\n", (long long)d->tokens,
         (long long)d->hidden, (long long)d->ffn);
}

int main(int argc, char **argv) {
  dims d = {512, 8, 2, 64, 1792, 16};
  const char *results = NULL;
  int printOnly = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--llama3-8b") == 0) {
      d.hidden = 4096;
      d.heads = 32;
      d.kv_heads = 8;
      d.head_dim = 128;
      d.ffn = 14336;
    } else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) {
      d.tokens = atoll(argv[++i]);
    } else if (strcmp(argv[i], "--print-problems") == 0) {
      printOnly = 1;
    } else if (argv[i][0] != '-' && results == NULL) {
      results = argv[i];
    } else {
      fprintf(stderr,
              "usage: %s RESULTS [--llama3-8b] [--tokens S]\n"
              "       %s --print-problems [--llama3-8b] [--tokens S]\n",
              argv[0], argv[0]);
      return 2;
    }
  }
  if (d.tokens <= 0) {
    fprintf(stderr, "kt-transformer-block: --tokens must be positive\n");
    return 2;
  }
  if (printOnly) {
    print_problems(&d);
    return 0;
  }
  if (results == NULL) {
    fprintf(stderr, "kt-transformer-block: give a results file (or "
                    "--print-problems)\n");
    return 2;
  }

  kt_context_options o;
  kt_context_options_init(&o);
  o.results_path = results;
  kt_context *ctx = NULL;
  kt_status st = kt_context_create(&o, &ctx);
  if (st != KT_OK) {
    /* An engine keeps running on its defaults. */
    fprintf(stderr, "kt-transformer-block: %s: %s; running the plain kernels\n",
            kt_status_string(st), kt_context_last_error(NULL));
    ctx = NULL;
  }

  unsigned seed = 12345u;
  const int64_t qkvw = (d.heads + 2 * d.kv_heads) * d.head_dim;
  const int64_t qw = d.heads * d.head_dim;
  const float ws = 1.0f / sqrtf((float)d.hidden);
  weights w;
  w.wqkv = random_floats(qkvw * d.hidden, ws, &seed);
  w.wo = random_floats(d.hidden * qw, 1.0f / sqrtf((float)qw), &seed);
  w.wgateup = random_floats(2 * d.ffn * d.hidden, ws, &seed);
  w.wdown = random_floats(d.hidden * d.ffn, 1.0f / sqrtf((float)d.ffn), &seed);
  float *x = random_floats(d.tokens * d.hidden, 1.0f, &seed);
  float *y = alloc_floats(d.tokens * d.hidden);
  float *ref = alloc_floats(d.tokens * d.hidden);

  printf("transformer block: %lld tokens, hidden %lld, %lld/%lld heads of "
         "%lld, MLP %lld\n",
         (long long)d.tokens, (long long)d.hidden, (long long)d.heads,
         (long long)d.kv_heads, (long long)d.head_dim, (long long)d.ffn);
  tally t = {0, 0, 0, 1}, none = {0, 0, 0, 0};
  forward(ctx, &d, &w, x, y, &t);
  printf("calls: %d tuned, %d fallback, %d missed (missed calls ran the "
         "plain kernels)\n",
         t.tuned, t.fallback, t.missed);
  forward(NULL, &d, &w, x, ref, &none);

  double worst = 0, scale = 0;
  for (int64_t i = 0; i < d.tokens * d.hidden; ++i) {
    double e = fabs((double)y[i] - (double)ref[i]);
    worst = e > worst || e != e ? e : worst;
    scale = fabs((double)ref[i]) > scale ? fabs((double)ref[i]) : scale;
  }
  const int ok = worst <= 1e-3 * (scale > 1.0 ? scale : 1.0);
  printf("output vs the plain reference: max |error| %.3g (largest output "
         "%.3g): %s\n",
         worst, scale, ok ? "OK" : "WRONG");
  kt_context_destroy(ctx);
  free(w.wqkv);
  free(w.wo);
  free(w.wgateup);
  free(w.wdown);
  free(x);
  free(y);
  free(ref);
  return ok ? 0 : 1;
}

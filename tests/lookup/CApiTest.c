// Proves kt.h is a C11 header and checks the C API's error paths from C.
#include "kt/kt.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int passed = 0;
static int failed = 0;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (cond) {                                                                \
      ++passed;                                                                \
    } else {                                                                   \
      ++failed;                                                                \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                          \
  } while (0)

/// True if the calling thread's last error is non-empty and contains `part`.
static int lastErrorMentions(const char *part) {
  const char *error = kt_context_last_error(NULL);
  return error != NULL && error[0] != '\0' && strstr(error, part) != NULL;
}

static void testVersionAndStatusStrings(void) {
  EXPECT(kt_api_version() == KT_API_VERSION);
  EXPECT(strcmp(kt_status_string(KT_OK), "KT_OK") == 0);
  EXPECT(strcmp(kt_status_string(KT_NOT_FOUND), "KT_NOT_FOUND") == 0);
  EXPECT(strcmp(kt_status_string(KT_INVALID_ARGUMENT), "KT_INVALID_ARGUMENT") ==
         0);
  EXPECT(strcmp(kt_status_string(KT_UNAVAILABLE), "KT_UNAVAILABLE") == 0);
  EXPECT(strcmp(kt_status_string(KT_INTERNAL), "KT_INTERNAL") == 0);
  EXPECT(strcmp(kt_status_string((kt_status)42), "KT_UNKNOWN_STATUS") == 0);
}

static void testOptionsInit(void) {
  kt_context_options opts;
  memset(&opts, 0xff, sizeof opts);
  kt_context_options_init(&opts);
  EXPECT(opts.struct_size == sizeof(kt_context_options));
  EXPECT(opts.results_path == NULL);
  EXPECT(opts.device == NULL);
  EXPECT(opts.num_threads == 0);
  EXPECT(opts.check_validators == 1);
  (kt_context_options_init)(NULL);
  kt_context_options_init_sized(NULL, sizeof opts);

  kt_gemm_desc desc;
  memset(&desc, 0xff, sizeof desc);
  kt_gemm_desc_init(&desc);
  EXPECT(desc.struct_size == sizeof(kt_gemm_desc));
  EXPECT(desc.dtype == KT_F32);
  EXPECT(desc.trans_a == 0 && desc.trans_b == 0);
  EXPECT(desc.m == 0 && desc.n == 0 && desc.k == 0);
  EXPECT(desc.lda == 0 && desc.ldb == 0 && desc.ldc == 0);
  EXPECT(desc.out_f32 == 0);
}

/// True if bytes [from, to) of `p` are all `value`.
static int bytesAre(const void *p, size_t from, size_t to, int value) {
  const unsigned char *b = (const unsigned char *)p;
  for (size_t i = from; i < to; ++i) {
    if (b[i] != (unsigned char)value) {
      return 0;
    }
  }
  return 1;
}

/// The _init_sized functions write exactly the caller's size: an older
/// caller's smaller struct is not overrun, a newer caller's larger one is
/// zeroed past this library's fields. The functions of the macros' names
/// (for programs built against headers before 1.6) write the 1.5 struct.
static void testInitSizes(void) {
  union {
    kt_context_options opts;
    kt_gemm_desc gemm;
    kt_attention_desc attn;
    unsigned char bytes[512];
  } buf;
  /* API 1.0's kt_context_options ends after check_validators. */
  const size_t optsV1 =
      offsetof(kt_context_options, check_validators) + sizeof(int);
  memset(&buf, 0xab, sizeof buf);
  kt_context_options_init_sized(&buf.opts, optsV1);
  EXPECT(buf.opts.struct_size == optsV1);
  EXPECT(buf.opts.results_path == NULL && buf.opts.device == NULL);
  EXPECT(buf.opts.num_threads == 0 && buf.opts.check_validators == 1);
  EXPECT(bytesAre(&buf, optsV1, sizeof buf, 0xab));
  /* A later header's larger struct. */
  memset(&buf, 0xab, sizeof buf);
  kt_context_options_init_sized(&buf.opts, sizeof buf.opts + 24);
  EXPECT(buf.opts.struct_size == sizeof buf.opts + 24);
  EXPECT(buf.opts.jit_timeout_s == 300.0 && buf.opts.fallback == 1);
  EXPECT(bytesAre(&buf, sizeof buf.opts, sizeof buf.opts + 24, 0));
  EXPECT(bytesAre(&buf, sizeof buf.opts + 24, sizeof buf, 0xab));
  /* Too small to hold struct_size: nothing written. */
  memset(&buf, 0xab, sizeof buf);
  kt_context_options_init_sized(&buf.opts, 4);
  EXPECT(bytesAre(&buf, 0, sizeof buf, 0xab));
  /* The function for older programs: the 1.5 struct (this header's). */
  memset(&buf, 0xab, sizeof buf);
  (kt_context_options_init)(&buf.opts);
  EXPECT(buf.opts.struct_size == sizeof(kt_context_options));
  EXPECT(buf.opts.record_misses == 1 && buf.opts.jit == 0);
  EXPECT(bytesAre(&buf, sizeof(kt_context_options), sizeof buf, 0xab));

  /* kt_gemm_desc before out_f32 (API 1.0-1.3). */
  const size_t gemmV1 = offsetof(kt_gemm_desc, ldc) + sizeof(int64_t);
  memset(&buf, 0xab, sizeof buf);
  kt_gemm_desc_init_sized(&buf.gemm, gemmV1);
  EXPECT(buf.gemm.struct_size == gemmV1 && buf.gemm.dtype == KT_F32);
  EXPECT(buf.gemm.m == 0 && buf.gemm.ldc == 0);
  EXPECT(bytesAre(&buf, gemmV1, sizeof buf, 0xab));
  memset(&buf, 0xab, sizeof buf);
  (kt_gemm_desc_init)(&buf.gemm);
  EXPECT(buf.gemm.struct_size == sizeof(kt_gemm_desc));
  EXPECT(buf.gemm.out_f32 == 0);
  EXPECT(bytesAre(&buf, sizeof(kt_gemm_desc), sizeof buf, 0xab));

  memset(&buf, 0xab, sizeof buf);
  kt_attention_desc_init_sized(&buf.attn, sizeof(kt_attention_desc));
  EXPECT(buf.attn.struct_size == sizeof(kt_attention_desc));
  EXPECT(buf.attn.dtype == KT_F32 && buf.attn.layout == KT_BSHD);
  EXPECT(buf.attn.causal == 0 && buf.attn.head_dim == 0);
  EXPECT(bytesAre(&buf, sizeof(kt_attention_desc), sizeof buf, 0xab));
  memset(&buf, 0xab, sizeof buf);
  (kt_attention_desc_init)(&buf.attn);
  EXPECT(buf.attn.struct_size == sizeof(kt_attention_desc));
  EXPECT(bytesAre(&buf, sizeof(kt_attention_desc), sizeof buf, 0xab));
}

static void testMissingResultsFile(void) {
  const char *path = "/nonexistent-ktune-dir/results.db";
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = path;
  kt_context *ctx = (kt_context *)&opts; // Must be overwritten with NULL.
  kt_status status = kt_context_create(&opts, &ctx);
  EXPECT(status == KT_NOT_FOUND || status == KT_UNAVAILABLE);
  EXPECT(ctx == NULL);
  EXPECT(lastErrorMentions(path));
  printf("missing file: %s: %s\n", kt_status_string(status),
         kt_context_last_error(NULL));
}

static void testCreateArguments(void) {
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = "/nonexistent-ktune-dir/results.db";
  kt_context *ctx = NULL;

  EXPECT(kt_context_create(NULL, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("options"));
  EXPECT(kt_context_create(&opts, NULL) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("out_ctx"));

  opts.struct_size = 4;
  EXPECT(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("struct_size"));
  opts.struct_size = sizeof opts;

  opts.results_path = NULL;
  EXPECT(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("results_path"));
  opts.results_path = "/nonexistent-ktune-dir/results.db";

  opts.device = "cuda:sm_90a"; /* An arch, not a device ordinal. */
  EXPECT(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("cuda:sm_90a"));
  opts.device = "hip:gfx942"; /* An arch, not a device ordinal. */
  EXPECT(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("hip:gfx942"));
  /* Without a HIP runtime: unavailable, naming the device; with one, the
     missing results file. */
  opts.device = "hip:0";
  {
    kt_status s = kt_context_create(&opts, &ctx);
    EXPECT(s == KT_UNAVAILABLE || s == KT_NOT_FOUND);
    EXPECT(lastErrorMentions(s == KT_UNAVAILABLE ? "hip:0" : "results"));
  }
  opts.device = "abacus";
  EXPECT(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("abacus"));
  /* Without a CUDA driver: unavailable, naming the device; with one, the
     missing results file. */
  opts.device = "cuda:0";
  {
    kt_status s = kt_context_create(&opts, &ctx);
    EXPECT(s == KT_UNAVAILABLE || s == KT_NOT_FOUND);
    EXPECT(lastErrorMentions(s == KT_UNAVAILABLE ? "cuda:0" : "results"));
  }
  opts.device = "cuda:9999";
  {
    kt_status s = kt_context_create(&opts, &ctx);
    EXPECT(s == KT_UNAVAILABLE);
    EXPECT(lastErrorMentions("cuda:9999"));
  }
  EXPECT(ctx == NULL);

  kt_context_destroy(NULL);
}

static void testNullHandles(void) {
  kt_gemm_desc desc;
  kt_gemm_desc_init(&desc);
  desc.m = 8;
  desc.n = 8;
  desc.k = 8;
  kt_kernel *kernel = (kt_kernel *)&desc; // Must be overwritten with NULL.
  EXPECT(kt_gemm_lookup(NULL, &desc, &kernel) == KT_INVALID_ARGUMENT);
  EXPECT(kernel == NULL);
  EXPECT(lastErrorMentions("ctx"));
  EXPECT(kt_gemm_lookup(NULL, &desc, NULL) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("out_kernel"));

  float a = 1, b = 1, c = 0;
  EXPECT(kt_gemm_launch_cpu(NULL, NULL, &a, &b, &c, 1.0f, 0.0f) ==
         KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("ctx"));

  kt_kernel_info info;
  info.struct_size = sizeof info;
  EXPECT(kt_kernel_get_info(NULL, &info) == KT_INVALID_ARGUMENT);
  EXPECT(lastErrorMentions("kernel"));
}

int main(void) {
  testVersionAndStatusStrings();
  testOptionsInit();
  testInitSizes();
  testMissingResultsFile();
  testCreateArguments();
  testNullHandles();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

// Proves kt.h is a C11 header and checks the C API's error paths from C.
#include "kt/kt.h"

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
  kt_context_options_init(NULL);

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
  testMissingResultsFile();
  testCreateArguments();
  testNullHandles();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

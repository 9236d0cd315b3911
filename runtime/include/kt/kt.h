// kt.h: the stable C API an inference engine uses to find and run tuned GEMMs.
//
// Usage (see docs/c-api.md):
//
//   kt_context_options opts;
//   kt_context_options_init(&opts);
//   opts.results_path = "ktune-results.db";
//   kt_context *ctx;
//   if (kt_context_create(&opts, &ctx) != KT_OK) { /* use your defaults */ }
//   kt_kernel *kernel;
//   if (kt_gemm_lookup(ctx, &desc, &kernel) == KT_OK) {
//     kt_gemm_launch_cpu(ctx, kernel, a, b, c, 1.0f, 0.0f);
//   } else {
//     /* KT_NOT_FOUND: nothing tuned for this problem; use your default. */
//   }
//   kt_context_destroy(ctx);
//
// Conventions: functions are kt_<object>_<action>; objects are opaque
// handles; outputs come last and are named out_*; every struct passed in or
// out starts with `size_t struct_size`, which the caller sets to
// sizeof(struct) (the *_init functions do). No function aborts, throws or
// prints; failures return a kt_status and set kt_context_last_error().
//
// This header is C11 and C++ compatible.
#ifndef KT_KT_H
#define KT_KT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The version of this API. Incremented on incompatible changes only; fields
/// appended to structs (detected through struct_size) and new functions
/// raise KT_API_MINOR_VERSION instead.
#define KT_API_VERSION 1
#define KT_API_MINOR_VERSION 6

/// The KT_API_VERSION the library was built with. Compare it with the
/// header's KT_API_VERSION to detect a mismatched library.
int kt_api_version(void);

typedef enum kt_status {
  KT_OK = 0,
  /// Nothing usable is recorded (no tuned result for this problem on this
  /// machine, or no results file): the caller should use its default.
  KT_NOT_FOUND = 1,
  /// A null pointer, a bad struct_size or an invalid problem description.
  KT_INVALID_ARGUMENT = 2,
  /// The results file or the device cannot be used right now or here
  /// (locked, corrupt, newer schema, unsupported device).
  KT_UNAVAILABLE = 3,
  /// A bug or an unexpected failure (e.g. a stored kernel does not load).
  KT_INTERNAL = 4
} kt_status;

/// A stable name such as "KT_NOT_FOUND"; "KT_UNKNOWN_STATUS" for values
/// outside the enum. Never null.
const char *kt_status_string(kt_status status);

/// An open results file plus a device to run its kernels on.
typedef struct kt_context kt_context;
/// A loaded, ready-to-launch kernel. Owned by its context.
typedef struct kt_kernel kt_kernel;

typedef struct kt_context_options {
  size_t struct_size; ///< sizeof(kt_context_options).
  /// The results file: the SQLite database the tuner writes, or a ktune CSV
  /// or TunableOp results CSV (`ktune export`). It is read once, when the
  /// context is created; only record_misses writes to it. Required.
  const char *results_path;
  /// "cpu", "cuda:N" (CUDA device N; "cuda" is "cuda:0"), "hip:N" (HIP
  /// device N; "hip" is "hip:0"; API 1.3), or NULL for the best available:
  /// CUDA device 0, else HIP device 0, if there is one and the file holds
  /// results tuned for its arch, else the CPU. A GPU context uses the
  /// results tuned for that GPU's arch and model and launches them with
  /// kt_gemm_launch_cuda() / kt_gemm_launch_hip().
  const char *device;
  /// Threads used by kt_gemm_launch_cpu(); <= 0 means one per logical core.
  /// 1 runs launches on the calling thread only.
  int num_threads;
  /// Nonzero (the default) rejects results recorded on another CPU model or
  /// with other CPU features than this machine's. Zero accepts any result
  /// recorded for the same target.
  int check_validators;

  /* The fields below were appended in API 1.1. A caller built against an
     older kt.h passes a smaller struct_size and gets their defaults. */

  /// Nonzero (the default): problems looked up without a usable tuned
  /// kernel are counted and added to the results file's misses table when
  /// the context is destroyed or kt_context_flush_misses() is called (SQLite
  /// files only; the file must be writable). `ktune tune --from-misses`
  /// tunes them.
  int record_misses;
  /// If set, missed problems are also appended to this file, GEMMs as
  /// TunableOp untuned lines (op_sig,params_sig) and attention problems as
  /// their signatures, which `ktune tune --problems` reads. NULL (the
  /// default): not written.
  const char *misses_csv_path;
  /// If set, a report (what the file held, entries skipped here and why,
  /// hits, fallbacks and misses per problem) is appended to this file when
  /// the context is destroyed; "-" writes it to stderr. NULL (the default):
  /// no report.
  const char *report_path;
  /// Zero (the default): every usable kernel is loaded when the context is
  /// created, so lookups never load anything. Nonzero: a kernel is loaded
  /// by the first lookup that needs it (reading the results file then).
  int load_on_first_use;
  /// Nonzero (the default): a problem without a tuned kernel may get the
  /// kernel tuned for the nearest shape of the same dtype and layout, where
  /// that kernel takes its sizes at launch (see docs/c-api.md). CPU kernels
  /// are specialised to their shapes, so on the CPU a miss is always
  /// KT_NOT_FOUND.
  int fallback;
  /// Nonzero: a tuned result whose code object is not in the file (a CSV
  /// file, or a database copied without code objects) is compiled at its
  /// first lookup by running the ktune compiler, which blocks that lookup
  /// (seconds). Zero (the default): such results are KT_NOT_FOUND and
  /// nothing is ever compiled.
  int jit;
  /// The ktune executable used by `jit`; NULL: "ktune" on the PATH.
  const char *jit_compiler;
  /* Appended in API 1.5. */

  /// Seconds one `jit` compile may take; a compiler still running then is
  /// killed and the entry becomes KT_NOT_FOUND with a message naming the
  /// limit. 0: the default (300); negative: no limit.
  double jit_timeout_s;
} kt_context_options;

/// Sets struct_size to `size` and each field within the first `size` bytes
/// to its default: no path, device NULL, num_threads 0, check_validators 1,
/// record_misses 1, no misses CSV, no report, load_on_first_use 0,
/// fallback 1, jit 0, jit_compiler NULL, jit_timeout_s 300. Bytes past this
/// library's struct are zeroed; nothing past `size` is written (API 1.6).
void kt_context_options_init_sized(kt_context_options *options, size_t size);
/// Sets struct_size and the defaults. A macro since API 1.6: it passes this
/// header's sizeof to kt_context_options_init_sized(), so a program never
/// has its struct overrun by a later library. The function of this name
/// remains for programs built against older headers; it writes the API 1.5
/// struct.
void(kt_context_options_init)(kt_context_options *options);
#define kt_context_options_init(options)                                       \
  kt_context_options_init_sized((options), sizeof(*(options)))

/// Opens the results file and the device. On success *out_ctx is a new
/// context; on failure it is set to NULL and the status says why:
/// KT_NOT_FOUND if the file does not exist, KT_UNAVAILABLE if it cannot be
/// used (not a ktune results file, newer schema, locked), KT_INVALID_ARGUMENT
/// for bad options.
kt_status kt_context_create(const kt_context_options *options,
                            kt_context **out_ctx);

/// Releases the context and every kernel it handed out. NULL is ignored.
/// No other call may be using the context or its kernels at that time.
void kt_context_destroy(kt_context *ctx);

/// Why the calling thread's most recent kt_* call that returns a kt_status
/// failed; empty if it returned KT_OK. The last error is thread-local, so
/// threads sharing a context do not see each other's errors, and `ctx` may
/// be NULL (e.g. after a failed kt_context_create). The pointer is valid
/// until the calling thread's next call that returns a kt_status. Never
/// null.
const char *kt_context_last_error(const kt_context *ctx);

typedef enum kt_dtype {
  KT_F32 = 0,
  KT_F64 = 1,
  KT_F16 = 2,
  KT_BF16 = 3
} kt_dtype;

/// A GEMM in ktune's row-major convention (ktune/problem/GemmProblem.h):
///   C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n]
/// with every matrix stored row-major. trans_a nonzero: A is stored k x m
/// instead of m x k; trans_b nonzero: B is stored n x k instead of k x n.
/// Leading dimensions are row pitches in elements; 0 means packed (the
/// stored matrix's column count). A column-major (BLAS) caller computing
/// C = op(A) op(B) describes the transposed problem: swap m with n and A
/// with B, each operand keeping its own transpose flag and leading dimension
/// (so trans_a = BLAS transb, lda = BLAS ldb, and A is passed as `b`).
/// `dtype` is the element type of A, B and C, except that out_f32 nonzero
/// (API 1.4; KT_BF16 or KT_F16 only) makes C f32: the f32 accumulation is
/// stored unrounded and beta reads C as f32 (signature
/// "gemm_bf16_f32out_..."). The launch functions' `c` then points to
/// floats.
typedef struct kt_gemm_desc {
  size_t struct_size; ///< sizeof(kt_gemm_desc).
  kt_dtype dtype;
  int trans_a, trans_b;
  int64_t m, n, k;
  int64_t lda, ldb, ldc; ///< 0 = packed.
  int out_f32;           ///< API 1.4; 0: C has `dtype`.
} kt_gemm_desc;

/// Sets struct_size to `size` and zeroes the rest of the first `size` bytes
/// (f32, NN, all sizes 0, packed, C of the input type; API 1.6).
void kt_gemm_desc_init_sized(kt_gemm_desc *desc, size_t size);
/// Sets struct_size and zeroes the rest: a macro over
/// kt_gemm_desc_init_sized() with this header's sizeof since API 1.6 (the
/// function remains for older programs; it writes the API 1.5 struct).
void(kt_gemm_desc_init)(kt_gemm_desc *desc);
#define kt_gemm_desc_init(desc) kt_gemm_desc_init_sized((desc), sizeof(*(desc)))

/// Finds the tuned kernel for `desc` on this context's device.
/// KT_OK: *out_kernel is valid until kt_context_destroy(ctx); there is no
/// function to free it. Looking up the same problem again returns the same
/// pointer. KT_NOT_FOUND: nothing usable is recorded (no result, a result
/// from another machine, or no stored code object) and no fallback applies;
/// use your default. *out_kernel is NULL on any failure.
///
/// A hit is a probe of an immutable hash table built when the context was
/// created: no lock, no allocation, no I/O, no device synchronisation. A
/// miss is counted under a short lock (see record_misses). Results the
/// tuner adds to the file later are seen by new contexts only. Safe to call
/// from many threads at once.
kt_status kt_gemm_lookup(kt_context *ctx, const kt_gemm_desc *desc,
                         kt_kernel **out_kernel);

typedef enum kt_attention_layout {
  /// Q and O [batch, seq_q, heads_q, head_dim]; K and V [batch, seq_kv,
  /// heads_kv, head_dim].
  KT_BSHD = 0,
  /// Q and O [batch, heads_q, seq_q, head_dim]; K and V [batch, heads_kv,
  /// seq_kv, head_dim].
  KT_BHSD = 1
} kt_attention_layout;

/// Attention O = softmax(scale * Q K^T [+ causal mask]) V (API 1.1), dense
/// tensors in `layout`. Query head h reads key/value head
/// h / (heads_q / heads_kv) (MHA, GQA, MQA). Causal masking is aligned to
/// the bottom right (query i sees keys j <= i + seq_kv - seq_q), so a
/// decode step (seq_q = 1) sees the whole cache; query rows that see no key
/// (seq_q > seq_kv) get 0. See docs/problems.md.
typedef struct kt_attention_desc {
  size_t struct_size; ///< sizeof(kt_attention_desc).
  kt_dtype dtype;
  kt_attention_layout layout;
  int64_t batch, heads_q, heads_kv, seq_q, seq_kv, head_dim;
  int causal;
} kt_attention_desc;

/// Sets struct_size to `size` and zeroes the rest of the first `size` bytes
/// (f32, BSHD, sizes 0, not causal; API 1.6).
void kt_attention_desc_init_sized(kt_attention_desc *desc, size_t size);
/// Sets struct_size and zeroes the rest: a macro over
/// kt_attention_desc_init_sized() with this header's sizeof since API 1.6
/// (the function remains for older programs; it writes the API 1.5 struct).
void(kt_attention_desc_init)(kt_attention_desc *desc);
#define kt_attention_desc_init(desc)                                           \
  kt_attention_desc_init_sized((desc), sizeof(*(desc)))

/// Finds the tuned attention kernel for `desc`; as kt_gemm_lookup() (a hit
/// is a probe of an immutable table; misses are counted and recorded).
kt_status kt_attention_lookup(kt_context *ctx, const kt_attention_desc *desc,
                              kt_kernel **out_kernel);

/// Runs an attention `kernel` from a CPU context on host memory. `scale`
/// <= 0 means 1/sqrt(head_dim). Returns when O is complete; every element
/// of O is written. Thread safety as kt_gemm_launch_cpu().
kt_status kt_attention_launch_cpu(kt_context *ctx, const kt_kernel *kernel,
                                  const void *q, const void *k, const void *v,
                                  void *o, float scale);

/// Looks up a problem given as a signature string: ktune's canonical key or
/// signature ("gemm_bf16_NT_16x4096x4096[_ld_A_B_C]") or a PyTorch TunableOp
/// pair ("GemmTunableOp_BFloat16_TN,tn_4096_16_4096"), or an attention
/// signature ("attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128"), as stored in
/// results and problems files (docs/problems.md). Otherwise like
/// kt_gemm_lookup(); an unparsable signature is KT_INVALID_ARGUMENT saying why
/// (API 1.1).
kt_status kt_lookup(kt_context *ctx, const char *signature,
                    kt_kernel **out_kernel);

/// Runs `kernel` (from kt_gemm_lookup on the same `ctx`) on host memory:
/// C = alpha * op(A) * op(B) + beta * C, with the shapes and leading
/// dimensions it was looked up with. beta == 0 means C is not read. Returns
/// when C is complete. Safe from many threads, but launches that use the
/// context's thread pool (num_threads != 1) run one at a time.
kt_status kt_gemm_launch_cpu(kt_context *ctx, const kt_kernel *kernel,
                             const void *a, const void *b, void *c, float alpha,
                             float beta);

typedef struct kt_kernel_info {
  size_t struct_size;        ///< Set by the caller: sizeof(kt_kernel_info).
  const char *template_name; ///< The tuned template, e.g. "cpu.gemm.mlir".
  const char *params;        ///< Its parameters, e.g. "kc=256;mr=6;nr=16".
  double time_ms;            ///< Measured time when tuned.
  int64_t grid_m, grid_n;    ///< Blocks along m and n.
  /* Appended in API 1.1. */
  /// The key of the problem the kernel was tuned for.
  const char *tuned_problem;
  /// Nonzero if the kernel came from the fallback policy: tuned for
  /// tuned_problem, not for the problem it was looked up with.
  int fallback;
  /// GPU kernels that split K: the bytes of device scratch every launch
  /// needs (kt_gemm_launch_cuda's / kt_gemm_launch_hip's `workspace`),
  /// zeroed once before the first
  /// launch and left zeroed by every launch; one workspace per stream used
  /// concurrently. 0 otherwise.
  uint64_t workspace_bytes;
} kt_kernel_info;

/// Describes `kernel`. The strings are owned by the kernel (valid until
/// kt_context_destroy). The caller sets out_info->struct_size first.
kt_status kt_kernel_get_info(const kt_kernel *kernel, kt_kernel_info *out_info);

/// Runs a `kernel` looked up on a CUDA context (device "cuda:N") on
/// `stream` (a CUstream; NULL: the default stream): C = alpha * op(A) *
/// op(B) + beta * C on device memory laid out as the problem was described.
/// Asynchronous: returns once the launch is queued and never synchronises
/// the device. A, B and C must be 16-byte aligned and their leading
/// dimensions multiples of 8 elements (TMA kernels). `workspace`: see
/// kt_kernel_info.workspace_bytes (NULL if it is 0). Safe from many threads;
/// launches on different streams need different workspaces.
kt_status kt_gemm_launch_cuda(kt_context *ctx, const kt_kernel *kernel,
                              void *stream, const void *a, const void *b,
                              void *c, float alpha, float beta,
                              void *workspace);

/// Runs a `kernel` looked up on a HIP context (device "hip:N") on `stream`
/// (a hipStream_t; NULL: the null stream): C = alpha * op(A) * op(B) + beta
/// * C on device memory laid out as the problem was described (bf16 /
/// fp16). Asynchronous: returns once the launch is queued and never
/// synchronises the device. A, B and C must be 16-byte aligned and A's and
/// B's leading dimensions multiples of 8 elements. `workspace`: see
/// kt_kernel_info.workspace_bytes (NULL if it is 0). Safe from many
/// threads; launches on different streams need different workspaces (API
/// 1.3).
kt_status kt_gemm_launch_hip(kt_context *ctx, const kt_kernel *kernel,
                             void *stream, const void *a, const void *b,
                             void *c, float alpha, float beta, void *workspace);

#if defined(__cplusplus)
#define KT_ALIGNAS(n) alignas(n)
#else
#define KT_ALIGNAS(n) _Alignas(n)
#endif

/// Everything cuLaunchKernel() / cuLaunchKernelEx() needs to launch a CUDA
/// kernel yourself (e.g. while capturing a CUDA graph). `params` point into
/// `args`, so the struct must not be copied or moved between
/// kt_gemm_get_cuda_launch() and the launch.
typedef struct kt_cuda_launch {
  size_t struct_size;    ///< Set by the caller: sizeof(kt_cuda_launch).
  void *function;        ///< CUfunction.
  unsigned grid[3];      ///< gridDimX/Y/Z.
  unsigned block[3];     ///< blockDimX/Y/Z.
  unsigned cluster[3];   ///< {1,1,1}: launch without clusters.
  unsigned shared_bytes; ///< Dynamic shared memory.
  int num_params;        ///< Entries of `params` used.
  void *params[16];      ///< cuLaunchKernel's kernelParams.
  KT_ALIGNAS(128) unsigned char args[512]; ///< Storage params point into.
} kt_cuda_launch;

/// Fills *out_launch for running `kernel` on the given device pointers
/// (the caller sets out_launch->struct_size first). Encodes the TMA
/// descriptors on the host; no device work. The caller then launches
/// function with grid, block, shared_bytes, cluster and params on a stream
/// of its choice.
kt_status kt_gemm_get_cuda_launch(kt_context *ctx, const kt_kernel *kernel,
                                  const void *a, const void *b, void *c,
                                  float alpha, float beta, void *workspace,
                                  kt_cuda_launch *out_launch);

/// Runs an attention `kernel` looked up on a CUDA context (device "cuda:N";
/// bf16 / fp16, head dim 64 or 128) on `stream` (a CUstream; NULL: the
/// default stream): O = softmax(scale * Q K^T [+ causal mask]) V on device
/// tensors laid out as described at lookup. `scale` <= 0 means 1 / sqrt(d).
/// Asynchronous: returns once the launch is queued and never synchronises.
/// Q, K, V and O must be 16-byte aligned. `workspace`: see
/// kt_kernel_info.workspace_bytes (split-KV decode kernels; NULL if it is
/// 0), 16-byte aligned. Safe from many threads; launches on different streams
/// need different workspaces (API 1.2).
kt_status kt_attention_launch_cuda(kt_context *ctx, const kt_kernel *kernel,
                                   void *stream, const void *q, const void *k,
                                   const void *v, void *o, float scale,
                                   void *workspace);

/// Runs an attention `kernel` looked up on a HIP context (device "hip:N";
/// bf16 / fp16) on `stream` (a hipStream_t; NULL: the null stream), as
/// kt_attention_launch_cuda() does on CUDA (API 1.3).
kt_status kt_attention_launch_hip(kt_context *ctx, const kt_kernel *kernel,
                                  void *stream, const void *q, const void *k,
                                  const void *v, void *o, float scale,
                                  void *workspace);

/// kt_gemm_get_cuda_launch() for an attention kernel: fills *out_launch to
/// run it on the given device tensors yourself (API 1.2).
kt_status kt_attention_get_cuda_launch(kt_context *ctx, const kt_kernel *kernel,
                                       const void *q, const void *k,
                                       const void *v, void *o, float scale,
                                       void *workspace,
                                       kt_cuda_launch *out_launch);

/// Lookup counters of a context (API 1.1).
typedef struct kt_context_stats {
  size_t struct_size;    ///< Set by the caller: sizeof(kt_context_stats).
  int64_t entries;       ///< Tuned problems usable on this device.
  int64_t skipped;       ///< Tuned for this target but unusable here.
  int64_t other_targets; ///< Results for other targets, ignored.
  int64_t lookups;       ///< hits + fallbacks + misses.
  int64_t hits, fallbacks, misses;
  int64_t missed_problems; ///< Distinct problems that missed or fell back.
  int64_t compiled;        ///< Kernels compiled on first use (jit).
} kt_context_stats;

/// Fills *out_stats (the caller sets out_stats->struct_size first). Safe
/// while other threads look up; the counts are a recent snapshot.
kt_status kt_context_get_stats(const kt_context *ctx,
                               kt_context_stats *out_stats);

/// Writes the misses counted since the last write now (see record_misses
/// and misses_csv_path) instead of at kt_context_destroy(). Blocks on the
/// file; call it from a thread that may wait. KT_UNAVAILABLE if the file
/// cannot be written (counts are kept for the next try).
kt_status kt_context_flush_misses(kt_context *ctx);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // KT_KT_H

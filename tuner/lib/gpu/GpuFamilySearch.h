// Internal: the search loop every GPU tuner shares, whatever the vendor:
// for each family that serves a problem, propose unmeasured
// configurations, compile here the ones the worker cannot (CUDA MLIR
// families; every HIP family), measure each batch in a worker process, and
// commit every result (failures included) as soon as it is known. Winners
// keep their code object in the store.
#pragma once

#include "ktune/cache/ResultsStore.h"
#include "ktune/problem/Config.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/GpuWorker.h"
#include "ktune/tuner/ProblemOutcome.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kt {

/// One family of candidates: its name, hash, space and first
/// configuration, how to instantiate a configuration (null for a vendor
/// library family), and whether its code objects are compiled in the
/// tuner's process and handed to the worker.
struct GpuFamily {
  std::string name, hash;
  std::vector<Config> space;
  Config initial;
  std::function<Result<KernelSource>(const Config &)> instantiate;
  bool compileHere = false;
};

/// The families of `all` that serve `problem` on `target`, each with its
/// space and default. `place` sees the default's instance and says whether
/// the family is compiled in the tuner's process (true), in the worker
/// (false), or left out (nullopt).
template <typename Template, typename Problem>
std::vector<GpuFamily> servingFamilies(
    const std::vector<const Template *> &all, const Problem &problem,
    const TargetDesc &target,
    const std::function<std::optional<bool>(const Result<KernelSource> &)>
        &place) {
  std::vector<GpuFamily> families;
  for (const Template *t : all) {
    if (!t->supports(problem, target)) {
      continue;
    }
    Config initial = t->defaultConfig(problem, target);
    const std::optional<bool> here =
        place(t->instantiate(initial, problem, target));
    if (!here) {
      continue;
    }
    families.push_back({t->name(), t->sourceHash(), t->space(problem, target),
                        initial,
                        [t, problem, target](const Config &c) {
                          return t->instantiate(c, problem, target);
                        },
                        *here});
  }
  return families;
}

/// A vendor library's family: its heuristic's first `algorithms` choices,
/// "algo=0" (its default) first.
GpuFamily vendorFamily(const char *name, int algorithms);

struct GpuSearch {
  ResultsStore *store = nullptr;
  Validators validators;
  int maxCandidates = 24; ///< Per problem, shared by ktune's own families.
  int batch = 8;
  uint64_t seed = 42;
  bool progress = true;
  double budgetSeconds = 0;
  std::atomic<bool> *cancel = nullptr;
  GpuWorkerOptions worker;
  /// The vendor library's family name (measured last, with its own
  /// budget).
  std::string vendorFamily;
  /// Compiles a source here (families with compileHere): the code object.
  std::function<Result<std::string>(const KernelSource &,
                                    const std::string &identity)>
      compile;
  /// Files every worker run needs in its prebuilt folder (the HIP
  /// reference kernels); null: a prebuilt folder only for compileHere
  /// families.
  std::function<Status(const std::string &dir)> stage;
};

/// Searches `families` for outcome.problemKey (op `op`); the last family is
/// the vendor's where `vendorBudget` > 0.
Result<ProblemOutcome> searchGpuFamilies(const GpuSearch &search,
                                         ProblemOutcome outcome, const char *op,
                                         const std::vector<GpuFamily> &families,
                                         int vendorBudget);

} // namespace kt

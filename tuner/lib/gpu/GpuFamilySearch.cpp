#include "GpuFamilySearch.h"

#include "../Progress.h"
#include "../Search.h"
#include "ktune/base/ScratchDir.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <optional>

namespace kt {
namespace {

/// The run stops early (budget or cancel) by returning this from onResult.
Status budgetStop() { return failedPrecondition("budget"); }
bool isBudgetStop(const Status &st) {
  return st.code() == StatusCode::FailedPrecondition &&
         st.message() == "budget";
}

/// Compiles `batch` of `family` into `dir` (prebuiltBinaryName); failures
/// go to `onResult`; returns the configurations that compiled.
Result<std::vector<Config>>
precompile(const GpuSearch &search, const GpuFamily &family,
           const std::string &problemKey, const std::vector<Config> &batch,
           const std::string &dir,
           const std::function<Status(const GpuCandidateResult &)> &onResult) {
  if (!search.compile) {
    return internalError("no compiler in the tuner for family " + family.name);
  }
  std::vector<Config> ready;
  for (const Config &c : batch) {
    auto src = family.instantiate(c);
    Result<std::string> bin =
        src ? search.compile(*src, family.name + "|" + family.hash + "|" +
                                       problemKey + "|" + c.toString())
            : Result<std::string>(src.status());
    if (!bin) {
      GpuCandidateResult r;
      r.config = c;
      r.status = "compile-failed";
      r.message = bin.status().message();
      KT_RETURN_IF_ERROR(onResult(r));
      continue;
    }
    std::ofstream out(dir + "/" + prebuiltBinaryName(c), std::ios::binary);
    out.write(bin->data(), std::streamsize(bin->size()));
    if (!out) {
      return internalError("cannot write a prebuilt code object under " + dir);
    }
    ready.push_back(c);
  }
  return ready;
}

} // namespace

GpuFamily vendorFamily(const char *name, int algorithms) {
  GpuFamily vendor{name, "", {}, {{"algo", 0}}, nullptr, false};
  for (int i = 0; i < algorithms; ++i) {
    vendor.space.push_back({{"algo", i}});
  }
  return vendor;
}

Result<ProblemOutcome> searchGpuFamilies(const GpuSearch &search,
                                         ProblemOutcome outcome, const char *op,
                                         const std::vector<GpuFamily> &families,
                                         int vendorBudget) {
  ResultsStore &store = *search.store;
  const std::string key = outcome.problemKey;
  const Validators &v = search.validators;
  if (families.empty()) {
    return invalidArgument(
        fmt::format("no GPU family serves {} on {}", key, v.target));
  }
  const auto start = std::chrono::steady_clock::now();
  auto overBudget = [&] {
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return (search.budgetSeconds > 0 && s > search.budgetSeconds) ||
           (search.cancel && search.cancel->load());
  };
  std::optional<double> bestMs;
  if (auto w = store.winner(key, v.target, v.deviceModel);
      w.isOk() && w->has_value() && checkRecord(**w, v).empty()) {
    bestMs = (*w)->timeMs;
  }
  Progress progress(search.progress, key, search.maxCandidates + vendorBudget);
  for (size_t f = 0; f < families.size(); ++f) {
    const GpuFamily &fam = families[f];
    const bool isVendor = fam.name == search.vendorFamily;
    // ktune's own families share maxCandidates; the vendor pass has its own.
    const int ownLeft =
        search.maxCandidates - outcome.candidates - outcome.skipped;
    const int ownFamiliesLeft = int(families.size() - f) - (vendorBudget > 0);
    const int share = isVendor
                          ? vendorBudget
                          : std::max(1, ownLeft / std::max(1, ownFamiliesLeft));
    SampleThenRefine sampler(fam.space, fam.initial, share, search.seed);
    while (!overBudget()) {
      std::vector<Config> batch =
          nextUnmeasured(sampler, std::max(1, search.batch), store, key,
                         v.target, fam.name, outcome.skipped);
      if (batch.empty()) {
        break;
      }
      auto onResult = [&](const GpuCandidateResult &c) -> Status {
        TuningRecord r;
        r.problemKey = key;
        r.op = op;
        r.target = v.target;
        r.templateName = fam.name;
        r.templateHash = fam.hash;
        r.params = c.config.toString();
        r.status = c.status;
        r.message = c.message;
        r.deviceModel = v.deviceModel;
        r.deviceFeatures = v.deviceFeatures;
        r.compilerFingerprint = v.compilerFingerprint;
        r.createdUnix = int64_t(std::time(nullptr));
        std::optional<double> ms;
        if (c.status == "ok") {
          r.timeMs = c.ms;
          r.dispersion = c.dispersion;
          r.iterations = c.iterations;
          r.maxError = c.maxError;
          r.binaryHash = c.binaryHash;
          // How to launch the stored code object (kt.h reads it in
          // deployment).
          if (fam.instantiate) {
            auto src = fam.instantiate(c.config);
            r.launch = src.isOk() ? src->launch : "";
          }
          ms = c.ms;
          if (!bestMs || c.ms < *bestMs) {
            // Winners keep their code object in the DB for deployment; the
            // vendor family's have none (the library is the code).
            if (!isVendor) {
              KT_RETURN_IF_ERROR(
                  store.putBinary(c.binaryHash, r.target, c.binary));
            }
            bestMs = c.ms;
          }
        }
        KT_RETURN_IF_ERROR(store.put(r));
        sampler.report(c.config, ms);
        ++outcome.candidates;
        outcome.failed += ms ? 0 : 1;
        progress.update(outcome.candidates,
                        bestMs ? outcome.flops / (*bestMs * 1e6) : 0);
        return overBudget() ? budgetStop() : Status::ok();
      };
      GpuWorkerOptions worker = search.worker;
      ScratchDir prebuilt("ktune-prebuilt");
      if (fam.compileHere || search.stage) {
        if (prebuilt.path.empty()) {
          progress.finish();
          return internalError("no scratch folder for prebuilt code objects");
        }
        worker.prebuiltDir = prebuilt.path.string();
      }
      if (search.stage) {
        if (Status s = search.stage(worker.prebuiltDir); !s.isOk()) {
          progress.finish();
          return s;
        }
      }
      if (fam.compileHere) {
        auto ready =
            precompile(search, fam, key, batch, worker.prebuiltDir, onResult);
        if (!ready && !isBudgetStop(ready.status())) {
          progress.finish();
          return ready.status();
        }
        batch = ready ? *ready : std::vector<Config>{};
        if (batch.empty()) {
          continue;
        }
      }
      auto dev = measureInWorker(worker, key, fam.name, batch,
                                 bestMs.value_or(0), onResult);
      if (!dev && !isBudgetStop(dev.status())) {
        progress.finish();
        return dev.status();
      }
    }
  }
  progress.finish();
  KT_ASSIGN_OR_RETURN(outcome.winner,
                      store.winner(key, v.target, v.deviceModel));
  return outcome;
}

} // namespace kt

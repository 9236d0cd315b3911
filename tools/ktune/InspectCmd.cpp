// `ktune inspect`: what a results file holds, for which targets and device
// models, and what of it is stale on this machine.
#include "Commands.h"

#include "ktune/cache/ResultsFile.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/tuner/Tuner.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>

namespace kt::cli {

namespace {

/// One (target, device model) group of winners.
struct Group {
  int64_t winners = 0, withCode = 0, fitHere = 0;
  std::map<std::string, int64_t> templates;
  std::map<std::string, int64_t> staleBecause;
};

/// What this machine is, per target it can run: the CPU always, CUDA GPUs
/// where the driver lists them. Empty compiler fingerprints are not checked.
std::map<std::string, std::vector<Validators>> machineValidators() {
  std::map<std::string, std::vector<Validators>> out;
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  Validators cpu = currentValidators(device, compiler);
  out[cpu.target].push_back(cpu);
  if (auto gpus = cuda::listDevices(); gpus) {
    for (const cuda::DeviceInfo &g : *gpus) {
      std::string target = "cuda:" + g.arch();
      out[target].push_back(Validators{target, g.name, "", ""});
    }
  }
  return out;
}

/// The short reason a record does not fit any of `here`.
std::string staleReason(const TuningRecord &r,
                        const std::vector<Validators> &here) {
  for (const Validators &v : here) {
    if (checkRecord(r, v).empty()) {
      return "";
    }
  }
  for (const Validators &v : here) {
    if (r.deviceModel == v.deviceModel) {
      return !v.deviceFeatures.empty() && r.deviceFeatures != v.deviceFeatures
                 ? "other CPU features"
                 : "other compiler (re-tune to refresh)";
    }
  }
  return "";
}

} // namespace

Runner addInspect(CLI::App &app) {
  struct Args {
    std::string db;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "inspect", "Show what a results file holds, for which targets and "
                 "devices, and what is stale on this machine");
  c->add_option("--db", a->db,
                "Results file (SQLite, ktune CSV or TunableOp CSV)")
      ->required();
  return [a] {
    auto opened = openResultsFile(a->db, "");
    if (!opened) {
      return fail(opened.status().message());
    }
    ResultsStore &store = *opened->store;
    auto counts = store.counts();
    auto winners = store.winners();
    auto misses = store.misses();
    if (!counts || !winners || !misses) {
      return fail((!counts    ? counts.status()
                   : !winners ? winners.status()
                              : misses.status())
                      .message());
    }
    fmt::print("file          {} ({})\n", a->db,
               opened->sqlite
                   ? fmt::format("SQLite, schema {}", store.schemaVersion())
                   : std::string("CSV: no code objects"));
    for (const std::string &e : opened->csvErrors) {
      fmt::print("  unreadable line: {}\n", e);
    }
    std::string statuses;
    for (const auto &[status, n] : counts->byStatus) {
      statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", n,
                              status.empty() ? "(none)" : status);
    }
    fmt::print("measurements  {}{}\n", counts->measurements,
               statuses.empty() ? "" : " (" + statuses + ")");
    fmt::print("code objects  {} ({:.1f} KiB)\n", counts->binaries,
               double(counts->binaryBytes) / 1024.0);

    auto here = machineValidators();
    std::map<std::pair<std::string, std::string>, Group> groups;
    for (const TuningRecord &w : *winners) {
      Group &g = groups[{w.target, w.deviceModel}];
      ++g.winners;
      ++g.templates[w.templateName];
      auto h = here.find(w.target);
      if (w.binaryHash.empty()) {
        ++g.staleBecause["no code object"];
      } else {
        ++g.withCode;
      }
      if (h != here.end()) {
        std::string why = staleReason(w, h->second);
        if (why.empty()) {
          ++g.fitHere;
        } else {
          ++g.staleBecause[why];
        }
      }
    }
    fmt::print("winners       {} problem(s) x machine(s)\n", winners->size());
    for (const auto &[key, g] : groups) {
      const auto &[target, model] = key;
      std::string templates;
      for (const auto &[name, n] : g.templates) {
        templates +=
            fmt::format("{}{} {}", templates.empty() ? "" : ", ", n, name);
      }
      auto h = here.find(target);
      bool sameModel = false;
      if (h != here.end()) {
        for (const Validators &v : h->second) {
          sameModel = sameModel || v.deviceModel == model;
        }
      }
      fmt::print("  {} on {}: {} winner(s), {} with code objects ({})\n",
                 target, model.empty() ? "(unknown model)" : model, g.winners,
                 g.withCode, templates);
      if (h == here.end()) {
        fmt::print("    here: this machine has no {} device\n", target);
      } else if (!sameModel) {
        fmt::print("    here: another device model; not used by lookups "
                   "with validators on\n");
      } else {
        std::string stale;
        for (const auto &[why, n] : g.staleBecause) {
          stale += fmt::format("; {} stale: {}", n, why);
        }
        fmt::print("    here: {} usable{}\n", g.fitHere, stale);
      }
    }
    int64_t untuned = 0, lookups = 0;
    for (const MissRecord &m : *misses) {
      auto w = store.winner(m.problemKey, m.target, m.deviceModel);
      if (w && !w->has_value()) {
        ++untuned;
        lookups += m.count;
      }
    }
    fmt::print("misses        {} recorded, {} still untuned ({} lookups){}\n",
               misses->size(), untuned, lookups,
               untuned ? fmt::format("; tune them with: ktune tune "
                                     "--from-misses --db {}",
                                     a->db)
                       : "");
    return 0;
  };
}

} // namespace kt::cli

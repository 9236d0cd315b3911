#include "WorkerProtocol.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace kt::worker {
namespace {

/// Tabs and newlines would break the line protocol.
std::string oneLine(std::string s) {
  for (char &c : s) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return s;
}

} // namespace

Result<Args> parseArgs(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (i + 1 >= argc) {
      return invalidArgument("option " + key + " needs a value");
    }
    std::string v = argv[++i];
    try {
      if (key == "--device") {
        a.device = std::stoi(v);
      } else if (key == "--problem") {
        a.problem = v;
      } else if (key == "--template") {
        a.tmpl = v;
      } else if (key == "--config") {
        a.configs.push_back(v);
      } else if (key == "--rotate-bytes") {
        a.rotateBytes = std::stoll(v);
      } else if (key == "--max-ms") {
        a.maxMs = std::stod(v);
      } else if (key == "--best-ms") {
        a.bestMs = std::stod(v);
      } else if (key == "--cache-dir") {
        a.cacheDir = v;
      } else if (key == "--binaries") {
        a.binaries = v;
      } else if (key == "--override-source") {
        a.overrideSource = v;
      } else if (key == "--prebuilt") {
        a.prebuilt = v;
      } else {
        return invalidArgument("unknown option " + key);
      }
    } catch (const std::exception &) {
      return invalidArgument("bad value '" + v + "' for " + key);
    }
  }
  if (a.problem.empty() || a.tmpl.empty()) {
    return invalidArgument("--problem and --template are required");
  }
  return a;
}

std::string Job::problemKey() const {
  return attention ? attn.key() : gemm.key();
}

std::string Job::familyId() const {
  return attention ? attnTemplate->name() + "|" + attnTemplate->sourceHash()
         : vendor  ? std::string()
                   : gemmTemplate->name() + "|" + gemmTemplate->sourceHash();
}

Result<KernelSource> Job::instantiate(const Config &c,
                                      const TargetDesc &target) const {
  if (vendor) {
    return invalidArgument("the vendor family has no source to instantiate");
  }
  return attention ? attnTemplate->instantiate(c, attn, target)
                   : gemmTemplate->instantiate(c, gemm, target);
}

Result<Job> parseJob(const Args &args, const char *vendorFamily,
                     const char *vendorName) {
  Job job;
  // The op comes with the problem: attention signatures start with attn_.
  job.attention = isAttentionSignature(args.problem);
  job.vendor = args.tmpl == vendorFamily;
  if (job.attention) {
    KT_ASSIGN_OR_RETURN(job.attn, parseAttentionProblem(args.problem));
    if (job.vendor) {
      return invalidArgument(
          fmt::format("the {} family measures GEMMs only", vendorName));
    }
    KT_ASSIGN_OR_RETURN(job.attnTemplate, findAttentionTemplate(args.tmpl));
    return job;
  }
  KT_ASSIGN_OR_RETURN(job.gemm, parseGemmProblem(args.problem));
  if (!job.vendor) {
    KT_ASSIGN_OR_RETURN(job.gemmTemplate, findGemmTemplate(args.tmpl));
  }
  return job;
}

void emit(const std::string &line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int startFailure(const char *program, const std::string &why) {
  emit("error\t" + oneLine(why));
  std::fprintf(stderr, "%s: %s\n", program, why.c_str());
  return 2;
}

void emitReady(const std::string &name, const std::string &arch, int units,
               double referenceMs, int sets, const std::string &compiler) {
  emit(fmt::format("ready\t{}\t{}\t{}\t{:.4f}\t{}\t{}", oneLine(name), arch,
                   units, referenceMs, sets, compiler));
}

void emitStart(const std::string &config) { emit("start\t" + config); }

void emitResult(const std::string &config, const std::string &status,
                const std::string &message, const GpuMeasurement *m,
                const std::string &hash) {
  emit(fmt::format("result\t{}\t{}\t{:.6f}\t{:.4f}\t{}\t{:.4g}\t{}\t{}", config,
                   status, m ? m->medianMs : 0.0, m ? m->dispersion : 0.0,
                   m ? m->iterations : 0, m ? m->maxError : 0.0, hash,
                   oneLine(message)));
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  return bool(out);
}

} // namespace kt::worker

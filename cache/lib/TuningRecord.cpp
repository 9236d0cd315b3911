// Provenance check of a tuning record against the machine that wants to use it.
#include "ktune/cache/TuningRecord.h"

namespace kt {

namespace {

void appendMismatch(std::string &out, const char *what,
                    const std::string &recorded, const std::string &here) {
  if (!out.empty()) {
    out += "; ";
  }
  out += what;
  out += " mismatch: recorded on '";
  out += recorded;
  out += "', this machine is '";
  out += here;
  out += "'";
}

} // namespace

std::string checkRecord(const TuningRecord &r, const Validators &v) {
  std::string why;
  if (r.target != v.target) {
    appendMismatch(why, "target", r.target, v.target);
  }
  if (!v.deviceModel.empty() && r.deviceModel != v.deviceModel) {
    appendMismatch(why, "device model", r.deviceModel, v.deviceModel);
  }
  if (!v.deviceFeatures.empty() && r.deviceFeatures != v.deviceFeatures) {
    appendMismatch(why, "device features", r.deviceFeatures, v.deviceFeatures);
  }
  if (!v.compilerFingerprint.empty() &&
      r.compilerFingerprint != v.compilerFingerprint) {
    appendMismatch(why, "compiler fingerprint", r.compilerFingerprint,
                   v.compilerFingerprint);
  }
  if (!why.empty()) {
    why += "; re-tune on this machine or drop the record";
  }
  return why;
}

} // namespace kt

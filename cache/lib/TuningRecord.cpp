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

bool featuresFit(const TuningRecord &r, const Validators &v) {
  if (v.deviceFeatures.empty() || r.deviceFeatures == v.deviceFeatures) {
    return true;
  }
  if (!v.featureSubset) {
    return false;
  }
  const std::string have = "," + v.deviceFeatures + ",";
  size_t at = 0;
  while (at <= r.deviceFeatures.size()) {
    size_t end = r.deviceFeatures.find(',', at);
    if (end == std::string::npos) {
      end = r.deviceFeatures.size();
    }
    const std::string f = r.deviceFeatures.substr(at, end - at);
    if (!f.empty() && have.find("," + f + ",") == std::string::npos) {
      return false;
    }
    at = end + 1;
  }
  return true;
}

std::string checkRecord(const TuningRecord &r, const Validators &v) {
  std::string why;
  if (r.target != v.target) {
    appendMismatch(why, "target", r.target, v.target);
  }
  if (!v.deviceModel.empty() && r.deviceModel != v.deviceModel) {
    appendMismatch(why, "device model", r.deviceModel, v.deviceModel);
  }
  if (!featuresFit(r, v)) {
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

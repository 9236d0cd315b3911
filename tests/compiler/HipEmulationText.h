// Test helper for the emulation tests: kernel texts to run. A template's
// instance for a configuration it must accept, and a deliberately broken
// copy of a text (support/MutateText.h; a test that such a copy fails shows
// the check can fail).
#pragma once

#include "ktune/device/TargetDesc.h"
#include "ktune/problem/Config.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/MutateText.h"

#include <catch2/catch.hpp>

#include <string>

namespace kt::test {

/// `t`'s instance of `config` for `p` on hip:`arch`; the configuration must
/// validate.
template <typename Template, typename Problem>
KernelSource instantiateValid(const Template &t, const std::string &arch,
                              const Problem &p, const Config &config) {
  auto target = parseTarget("hip:" + arch);
  REQUIRE(target.isOk());
  INFO(arch << " " << p.key() << " " << config.toString());
  Status v = t.validate(config, p, *target);
  INFO(v.toString());
  REQUIRE(v.isOk());
  auto src = t.instantiate(config, p, *target);
  REQUIRE(src.isOk());
  return *src;
}

} // namespace kt::test

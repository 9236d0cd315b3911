// Hashing attention problems for the attention miss log.
#include "MissLog.h"

#include <functional>

namespace kt::lookup {

size_t AttentionProblemHasher::operator()(const AttentionProblem &p) const {
  return std::hash<std::string>()(p.key());
}

} // namespace kt::lookup

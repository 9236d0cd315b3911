#include "ktune/base/DynamicLibrary.h"

#include <dlfcn.h>

namespace kt {

Result<DynamicLibrary>
DynamicLibrary::openFirst(std::initializer_list<const char *> names,
                          const std::string &what, const std::string &hint) {
  std::string tried, why;
  for (const char *name : names) {
    if (void *h = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
      DynamicLibrary lib;
      lib.handle_ = h;
      return lib;
    }
    const char *err = ::dlerror();
    why = err ? err : "";
    tried += (tried.empty() ? "" : ", ") + std::string(name);
  }
  return unavailable(what + " not found (tried " + tried +
                     (why.empty() ? "" : ": " + why) + "); " + hint);
}

void *DynamicLibrary::symbol(const char *name) const {
  return handle_ ? ::dlsym(handle_, name) : nullptr;
}

Status DynamicLibrary::finish(const std::string &what,
                              const std::string &hint) {
  if (!missing_) {
    return Status::ok();
  }
  ::dlclose(handle_);
  handle_ = nullptr;
  return unavailable("the " + what + " found lacks " + missing_ + " (" + hint +
                     ")");
}

} // namespace kt

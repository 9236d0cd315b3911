// Loading a vendor library at run time (dlopen) and binding its entry points
// into a table of function pointers: how ktune uses the CUDA driver, NVRTC,
// nvJitLink and cuBLASLt without needing them to build or start.
#pragma once

#include "ktune/base/Status.h"

#include <initializer_list>
#include <string>
#include <type_traits>

namespace kt {

class DynamicLibrary {
public:
  /// Opens the first of `names` (sonames or paths) that loads. Unavailable
  /// "<what> not found (tried a, b, ...: <loader's last reason>); <hint>"
  /// where none does.
  static Result<DynamicLibrary>
  openFirst(std::initializer_list<const char *> names, const std::string &what,
            const std::string &hint);

  /// Resolves `name` into `fn` (nullptr if absent); the first absent name
  /// is remembered for finish().
  template <typename F> void need(const char *name, F &fn) {
    fn = reinterpret_cast<std::remove_reference_t<F>>(symbol(name));
    if (!fn && !missing_) {
      missing_ = name;
    }
  }
  /// The symbol, or nullptr (for optional entry points).
  void *symbol(const char *name) const;

  /// Ok if every need() resolved; else closes the library and returns
  /// Unavailable "the <what> found lacks <symbol> (<hint>)".
  Status finish(const std::string &what, const std::string &hint);

  void *handle() const { return handle_; }

private:
  void *handle_ = nullptr;
  const char *missing_ = nullptr;
};

} // namespace kt

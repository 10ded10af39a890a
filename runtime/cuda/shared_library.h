// Loading an optional CUDA library at run time (cuBLAS, cuBLASLt): the
// first soname of a list that dlopen finds, and its entry points, with the
// reason when any is missing, so that dlc builds and starts without them.
#pragma once

#include <dlfcn.h>

#include <initializer_list>
#include <string>
#include <type_traits>

namespace dlc::runtime::cuda {

struct SharedLibrary {
  void* handle = nullptr;
  std::string soname;  // the one that loaded
  std::string whyNot;  // empty when the library and every symbol looked up loaded

  // Opens the first of `sonames` that loads; `what` names the library in
  // the reason when none does ("cuBLAS (libcublas.so.13 or .12)").
  SharedLibrary(std::initializer_list<const char*> sonames, const std::string& what) {
    for (const char* name : sonames)
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
        soname = name;
        return;
      }
    const char* e = dlerror();
    whyNot = what + " could not be loaded: " + (e ? e : "not found");
  }

  // Sets `fn` to the entry point `symbol`; the first one missing is the reason.
  template <class Fn>
  void bind(Fn& fn, const char* symbol) {
    if (!handle) return;
    fn = reinterpret_cast<std::remove_reference_t<Fn>>(dlsym(handle, symbol));
    if (!fn && whyNot.empty()) whyNot = soname + " has no " + symbol;
  }
};

}  // namespace dlc::runtime::cuda

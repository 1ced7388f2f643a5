// A plugin library validated by the loader, shared by every object made from
// it so the code stays mapped while any of them lives (Boost.DLL rule: never
// unload a library under a live object).
#pragma once

#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "ses/plugin/abi.h"

namespace ses::internal {

struct LoadedLibrary {
  boost::dll::shared_library library;
  const ses_plugin_info* info = nullptr;
  std::string path;
};

using LibraryRef = std::shared_ptr<const LoadedLibrary>;

}  // namespace ses::internal

// Host-side views of plugin instances: C++ interfaces implemented over the C
// function tables. Each holds a LibraryRef so its library outlives it, and
// turns ses_error results into Status, prefixed with the plugin's name.
#pragma once

#include <memory>

#include "plugin/loaded_library.h"
#include "ses/cipher.h"
#include "ses/key_provider.h"
#include "ses/store.h"

namespace ses::internal {

// Calls a table's create() with `config`; errors name the plugin file.
using CreateFn = void* (*)(const ses_kv*, size_t, ses_error*);
StatusOr<void*> CreateInstance(const LibraryRef& lib, CreateFn create, const PluginConfig& config);

StatusOr<std::shared_ptr<KeyProvider>> NewHostKeyProvider(LibraryRef lib,
                                                          const PluginConfig& config);
StatusOr<std::shared_ptr<CipherProvider>> NewHostCipher(LibraryRef lib,
                                                        const PluginConfig& config);
StatusOr<std::shared_ptr<Store>> NewHostStore(LibraryRef lib, const PluginConfig& config);

}  // namespace ses::internal

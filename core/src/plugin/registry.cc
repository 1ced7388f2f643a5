#include "ses/registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <boost/dll/runtime_symbol_info.hpp>

#include "plugin/host_wrappers.h"
#include "plugin/loaded_library.h"

namespace ses {

using internal::LibraryRef;
using internal::LoadedLibrary;

std::string_view PluginKindName(PluginKind kind) {
  switch (kind) {
    case PluginKind::kKeyProvider: return "key-provider";
    case PluginKind::kCipher: return "cipher";
    case PluginKind::kStore: return "store";
  }
  return "unknown";
}

struct Registry::Entry {
  PluginDescriptor descriptor;
  LibraryRef library;                 // null for in-process providers
  KeyProviderFactory factory = nullptr;
};

namespace {

Status LoadError(const std::filesystem::path& file, const std::string& reason) {
  return FailedPreconditionError("plugin " + file.string() + ": " + reason);
}

// Checks the table of `kind` before anything in it is called: its size must
// cover every entry of ABI 1.0 and every mandatory function pointer must be
// set. Tables only grow within a major version, so a bigger table (a newer
// minor) is fine; entries added after 1.0 must be read only when struct_size
// covers them.
// Table sizes at ABI 1.0. Today they equal sizeof(); when a minor version
// appends entries, these stay as they are.
constexpr size_t kKeyProviderV10Size = sizeof(ses_key_provider_v1);
constexpr size_t kCipherV10Size = sizeof(ses_cipher_v1);
constexpr size_t kStoreV10Size = sizeof(ses_store_v1);

Status ValidateTable(const std::filesystem::path& file, const ses_plugin_info* info) {
  if (info->table == nullptr) return LoadError(file, "no function table");
  auto size = *static_cast<const uint32_t*>(info->table);
  switch (info->kind) {
    case SES_PLUGIN_KIND_KEY_PROVIDER: {
      auto* t = static_cast<const ses_key_provider_v1*>(info->table);
      if (size < kKeyProviderV10Size) return LoadError(file, "key-provider table too small");
      if (!t->create || !t->destroy || !t->wrap || !t->unwrap || !t->uri_schemes) {
        return LoadError(file, "key-provider table lacks a mandatory function");
      }
      return OkStatus();
    }
    case SES_PLUGIN_KIND_CIPHER: {
      auto* t = static_cast<const ses_cipher_v1*>(info->table);
      if (size < kCipherV10Size) return LoadError(file, "cipher table too small");
      if (!t->create || !t->destroy || !t->suite_count || !t->suite_at || !t->aead_new ||
          !t->aead_free || !t->aead_set_key || !t->aead_seal || !t->aead_open) {
        return LoadError(file, "cipher table lacks a mandatory function");
      }
      return OkStatus();
    }
    case SES_PLUGIN_KIND_STORE: {
      auto* t = static_cast<const ses_store_v1*>(info->table);
      if (size < kStoreV10Size) return LoadError(file, "store table too small");
      // abi.h marks no store entry optional: health feeds readiness, so a
      // store must answer it.
      if (!t->create || !t->destroy || !t->get || !t->put || !t->remove || !t->list || !t->health) {
        return LoadError(file, "store table lacks a mandatory function");
      }
      return OkStatus();
    }
    default:
      return LoadError(file, "unknown plugin kind " + std::to_string(info->kind));
  }
}

bool ValidName(const char* name) {
  if (name == nullptr || *name == '\0' || std::strlen(name) > 64) return false;
  return std::all_of(name, name + std::strlen(name),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

Status Registry::Load(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return LoadError(file, "file not found");
  if (!std::filesystem::is_regular_file(file, ec)) return LoadError(file, "not a regular file");

  auto lib = std::make_shared<LoadedLibrary>();
  lib->path = file.string();
  try {
    // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW surfaces
    // missing dependencies here rather than at the first call.
    lib->library.load(file, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
  } catch (const std::exception&) {
    // Boost's message repeats the path and appends a stale errno; dlerror()
    // holds the loader's own reason.
    const char* why = dlerror();
    return LoadError(file, std::string("cannot be loaded: ") + (why ? why : "unknown dynamic loader error"));
  }
  if (!lib->library.has(SES_PLUGIN_ENTRY_SYMBOL)) {
    return LoadError(file, "not an SES plugin: no " SES_PLUGIN_ENTRY_SYMBOL " symbol");
  }
  auto entry = lib->library.get<const ses_plugin_info*()>(SES_PLUGIN_ENTRY_SYMBOL);
  const ses_plugin_info* info = entry();
  if (info == nullptr) return LoadError(file, SES_PLUGIN_ENTRY_SYMBOL " returned nothing");
  // struct_size, abi_major and abi_minor lead every version of the info
  // struct, so the version is read before the rest of the layout is trusted.
  if (info->struct_size < offsetof(ses_plugin_info, kind)) return LoadError(file, "plugin info too small");
  if (info->abi_major != SES_PLUGIN_ABI_MAJOR) {
    return LoadError(file, "ABI version " + std::to_string(info->abi_major) + "." +
                               std::to_string(info->abi_minor) + " is not supported (this host speaks " +
                               std::to_string(SES_PLUGIN_ABI_MAJOR) + ".x)");
  }
  if (info->struct_size < sizeof(ses_plugin_info)) return LoadError(file, "plugin info too small");
  if (!ValidName(info->name)) return LoadError(file, "invalid plugin name");
  SES_RETURN_IF_ERROR(ValidateTable(file, info));
  if (Has(info->name)) {
    std::string other;
    for (const auto& e : entries_) {
      if (e->descriptor.name == info->name) other = e->descriptor.path;
    }
    return LoadError(file, std::string("duplicate plugin name '") + info->name + "' (already loaded from " + other + ")");
  }

  if (info->kind == SES_PLUGIN_KIND_KEY_PROVIDER) {
    // One plugin per URI scheme, or which one serves a key would depend on load order.
    Status free = CheckSchemesFree(static_cast<const ses_key_provider_v1*>(info->table)->uri_schemes);
    if (!free.ok()) return LoadError(file, free.message());
  }

  lib->info = info;
  auto e = std::make_unique<Entry>();
  e->descriptor.name = info->name;
  e->descriptor.kind = static_cast<PluginKind>(info->kind);
  e->descriptor.version = info->version ? info->version : "";
  e->descriptor.abi_major = info->abi_major;
  e->descriptor.abi_minor = info->abi_minor;
  e->descriptor.path = lib->path;
  if (info->kind == SES_PLUGIN_KIND_KEY_PROVIDER) {
    e->descriptor.uri_schemes = static_cast<const ses_key_provider_v1*>(info->table)->uri_schemes;
  }
  e->library = std::move(lib);
  entries_.push_back(std::move(e));
  return OkStatus();
}

Status Registry::LoadDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return FailedPreconditionError("plugin directory " + dir.string() + " does not exist");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& de : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = de.path().filename().string();
    if (name.rfind("ses_", 0) == 0 && de.path().extension() == ".so") files.push_back(de.path());
  }
  if (ec) return FailedPreconditionError("plugin directory " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) SES_RETURN_IF_ERROR(Load(f));
  return OkStatus();
}

Status Registry::AddKeyProvider(std::string name, std::string uri_schemes, KeyProviderFactory factory) {
  if (factory == nullptr) return InvalidArgumentError("built-in key provider '" + name + "' has no factory");
  if (!ValidName(name.c_str())) return InvalidArgumentError("invalid plugin name '" + name + "'");
  if (Has(name)) return FailedPreconditionError("duplicate plugin name '" + name + "'");
  SES_RETURN_IF_ERROR(CheckSchemesFree(uri_schemes));
  auto e = std::make_unique<Entry>();
  e->descriptor = {std::move(name), PluginKind::kKeyProvider, "built-in", SES_PLUGIN_ABI_MAJOR,
                   SES_PLUGIN_ABI_MINOR, "(built-in)", std::move(uri_schemes)};
  e->factory = factory;
  entries_.push_back(std::move(e));
  return OkStatus();
}

Status Registry::CheckSchemesFree(std::string_view schemes) const {
  while (!schemes.empty()) {
    std::string_view scheme = schemes.substr(0, schemes.find(','));
    auto owner = KeyProviderForScheme(scheme);
    if (!scheme.empty() && owner.ok()) {
      return FailedPreconditionError("URI scheme '" + std::string(scheme) + "' is already served by plugin '" +
                                     *owner + "'");
    }
    if (schemes.find(',') == std::string_view::npos) break;
    schemes.remove_prefix(schemes.find(',') + 1);
  }
  return OkStatus();
}

std::vector<PluginDescriptor> Registry::Plugins() const {
  std::vector<PluginDescriptor> out;
  for (const auto& e : entries_) out.push_back(e->descriptor);
  return out;
}

bool Registry::Has(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e->descriptor.name == name; });
}

StatusOr<std::string> Registry::KeyProviderForScheme(std::string_view scheme) const {
  for (const auto& e : entries_) {
    if (e->descriptor.kind != PluginKind::kKeyProvider) continue;
    std::string_view list = e->descriptor.uri_schemes;
    while (!list.empty()) {
      size_t comma = list.find(',');
      if (list.substr(0, comma) == scheme) return e->descriptor.name;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return NotFoundError("no loaded key-provider plugin serves '" + std::string(scheme) + ":' URIs");
}

StatusOr<const Registry::Entry*> Registry::Find(std::string_view name, PluginKind kind) const {
  for (const auto& e : entries_) {
    if (e->descriptor.name != name) continue;
    if (e->descriptor.kind != kind) {
      return FailedPreconditionError("plugin '" + std::string(name) + "' from " + e->descriptor.path + " is a " +
                                     std::string(PluginKindName(e->descriptor.kind)) + ", not a " +
                                     std::string(PluginKindName(kind)));
    }
    return e.get();
  }
  return NotFoundError("no plugin named '" + std::string(name) + "' is loaded");
}

StatusOr<std::shared_ptr<KeyProvider>> Registry::NewKeyProvider(std::string_view name,
                                                                const PluginConfig& config) const {
  SES_ASSIGN_OR_RETURN(const Entry* e, Find(name, PluginKind::kKeyProvider));
  if (e->factory != nullptr) return e->factory(config);
  return internal::NewHostKeyProvider(e->library, config);
}

StatusOr<std::shared_ptr<CipherProvider>> Registry::NewCipher(std::string_view name,
                                                              const PluginConfig& config) const {
  SES_ASSIGN_OR_RETURN(const Entry* e, Find(name, PluginKind::kCipher));
  return internal::NewHostCipher(e->library, config);
}

StatusOr<std::shared_ptr<Store>> Registry::NewStore(std::string_view name, const PluginConfig& config) const {
  SES_ASSIGN_OR_RETURN(const Entry* e, Find(name, PluginKind::kStore));
  return internal::NewHostStore(e->library, config);
}

std::vector<std::filesystem::path> Registry::DefaultDirectories() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (const char* env = std::getenv("SES_PLUGIN_DIR"); env != nullptr && *env != '\0') {
    out.push_back(std::filesystem::absolute(env, ec));
    return out;
  }
  std::filesystem::path exe_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  if (ec) return out;
  for (const auto& candidate : {exe_dir / ".." / "plugins", exe_dir / ".." / "lib" / "ses" / "plugins"}) {
    if (std::filesystem::is_directory(candidate, ec)) {
      out.push_back(std::filesystem::weakly_canonical(candidate, ec));
      break;
    }
  }
  return out;
}

}  // namespace ses

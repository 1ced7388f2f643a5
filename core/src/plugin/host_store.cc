// Store over a plugin's ses_store_v1 table.
#include <sstream>

#include "plugin/host_call.h"
#include "plugin/host_wrappers.h"
#include "ses/plugin/abi_util.h"

namespace ses::internal {
namespace {

// Reads start with a buffer that fits most records and grow to what the
// plugin asks for. A concurrent Put may grow a record between two attempts,
// hence a few attempts rather than one retry; reads are safe to repeat.
constexpr size_t kInitialOut = 4096;
constexpr int kReadAttempts = 4;
// A listing is at most this large (about 250,000 keys of the longest size):
// more than any namespace SES keeps, and a bound on what a plugin can make us
// allocate.
constexpr size_t kMaxListBytes = size_t{64} << 20;

class HostStore final : public Store {
 public:
  HostStore(LibraryRef lib, const ses_store_v1* table, void* self)
      : lib_(std::move(lib)), t_(table), self_(self), name_(lib_->info->name) {}
  ~HostStore() override { t_->destroy(self_); }

  StatusOr<StoreRecord> Get(std::string_view ns, std::string_view key) override {
    SES_RETURN_IF_ERROR(CheckCString("ns", ns));
    SES_RETURN_IF_ERROR(CheckCString("key", key));
    std::string n(ns), k(key);
    StoreRecord record;
    Status s = Read(record.value, kMaxStoreValueBytes, [&](ses_out* out, ses_error* err) {
      return t_->get(self_, n.c_str(), k.c_str(), out, &record.version, err);
    });
    if (!s.ok()) return s;
    if (record.version == 0) return InternalError(name_ + ": plugin returned version 0 for a record");
    return record;
  }

  StatusOr<uint64_t> Put(std::string_view ns, std::string_view key, std::string_view value,
                         uint64_t expected_version) override {
    SES_RETURN_IF_ERROR(CheckCString("ns", ns));
    SES_RETURN_IF_ERROR(CheckCString("key", key));
    std::string n(ns), k(key);
    uint64_t new_version = 0;
    ses_error err = abi::NewError();
    ses_bytes v{reinterpret_cast<const uint8_t*>(value.data()), value.size()};
    int32_t rc = t_->put(self_, n.c_str(), k.c_str(), v, expected_version, &new_version, &err);
    if (rc != SES_OK) return PluginError(name_, rc, err);
    if (new_version == 0) return InternalError(name_ + ": plugin returned version 0 for a write");
    return new_version;
  }

  Status Remove(std::string_view ns, std::string_view key) override {
    SES_RETURN_IF_ERROR(CheckCString("ns", ns));
    SES_RETURN_IF_ERROR(CheckCString("key", key));
    std::string n(ns), k(key);
    ses_error err = abi::NewError();
    int32_t rc = t_->remove(self_, n.c_str(), k.c_str(), &err);
    return rc == SES_OK ? OkStatus() : PluginError(name_, rc, err);
  }

  StatusOr<std::vector<std::string>> List(std::string_view ns, std::string_view prefix) override {
    SES_RETURN_IF_ERROR(CheckCString("ns", ns));
    SES_RETURN_IF_ERROR(CheckCString("prefix", prefix));
    std::string n(ns), p(prefix);
    std::string joined;
    Status s = Read(joined, kMaxListBytes, [&](ses_out* out, ses_error* err) {
      return t_->list(self_, n.c_str(), p.c_str(), out, err);
    });
    if (!s.ok()) return s;
    std::vector<std::string> keys;
    std::stringstream ss(joined);
    std::string line;
    while (std::getline(ss, line)) {
      if (!line.empty()) keys.push_back(std::move(line));
    }
    return keys;
  }

  Status Health() override { return CallHealth(name_, t_->health, self_); }

 private:
  // The ABI passes names as C strings: an embedded NUL would cut the name
  // short and address another record, so it is refused here.
  static Status CheckCString(const char* what, std::string_view s) {
    if (s.find('\0') != std::string_view::npos) {
      return InvalidArgumentError(std::string(what) + " contains a NUL byte");
    }
    return OkStatus();
  }

  // Runs a read into `buf`, growing it when the plugin asks, up to `max`.
  template <typename F>
  Status Read(std::string& buf, size_t max, F&& call) {
    buf.resize(kInitialOut);
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      ses_out out{reinterpret_cast<uint8_t*>(buf.data()), buf.size(), 0};
      ses_error err = abi::NewError();
      int32_t rc = call(&out, &err);
      if (rc == SES_OUT_OF_RANGE && out.len > buf.size()) {
        if (out.len > max) {
          return InternalError(name_ + ": plugin asked for a " + std::to_string(out.len) +
                               "-byte buffer, more than the limit of " + std::to_string(max));
        }
        buf.resize(out.len);
        continue;
      }
      SES_RETURN_IF_ERROR(CheckOutputs(name_, rc, err, out.len > buf.size()));
      buf.resize(out.len);
      return OkStatus();
    }
    return KeptAskingError(name_);
  }

  LibraryRef lib_;
  const ses_store_v1* t_;
  void* self_;
  std::string name_;
};

}  // namespace

StatusOr<std::shared_ptr<Store>> NewHostStore(LibraryRef lib, const PluginConfig& config) {
  auto* table = static_cast<const ses_store_v1*>(lib->info->table);
  SES_ASSIGN_OR_RETURN(void* self, CreateInstance(lib, table->create, config));
  return std::shared_ptr<Store>(std::make_shared<HostStore>(lib, table, self));
}

}  // namespace ses::internal

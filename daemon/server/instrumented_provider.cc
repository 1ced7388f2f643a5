#include "server/instrumented_provider.h"

#include <chrono>

namespace ses::daemon {
namespace {

class InstrumentedProvider final : public KeyProvider {
  template <typename Fn>
  auto Timed(std::string_view op, Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    auto result = fn();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const StatusCode code = StatusOf(result).code();
    // "Unimplemented" is the provider saying "not me", not an outcome to count.
    if (code != StatusCode::kUnimplemented) {
      metrics_.ProviderCalls(name_, op, code == StatusCode::kOk ? "ok" : StatusCodeName(code)).Inc();
      metrics_.ProviderCallDuration(name_, op).ObserveDuration(elapsed);
    }
    return result;
  }
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static Status StatusOf(const StatusOr<T>& s) { return s.status(); }

 public:
  InstrumentedProvider(std::string name, std::shared_ptr<KeyProvider> inner, telemetry::SesdMetrics& metrics)
      : name_(std::move(name)), inner_(std::move(inner)), metrics_(metrics) {}

  std::vector<std::string> UriSchemes() const override { return inner_->UriSchemes(); }

  StatusOr<WrappedKey> Wrap(std::string_view key_uri, std::span<const uint8_t> data_key,
                            std::span<const uint8_t> aad) override {
    return Timed("wrap", [&] { return inner_->Wrap(key_uri, data_key, aad); });
  }
  StatusOr<SecretBytes> Unwrap(std::string_view key_uri, std::string_view key_version,
                               std::span<const uint8_t> wrapped, std::span<const uint8_t> aad) override {
    return Timed("unwrap", [&] { return inner_->Unwrap(key_uri, key_version, wrapped, aad); });
  }
  StatusOr<GeneratedDataKey> GenerateDataKey(std::string_view key_uri, size_t key_len,
                                             std::span<const uint8_t> aad) override {
    return Timed("generate_data_key", [&] { return inner_->GenerateDataKey(key_uri, key_len, aad); });
  }
  StatusOr<std::string> CreateKey(std::string_view key_uri) override {
    return Timed("create_key", [&] { return inner_->CreateKey(key_uri); });
  }
  StatusOr<std::string> RotateKey(std::string_view key_uri) override {
    return Timed("rotate_key", [&] { return inner_->RotateKey(key_uri); });
  }
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override {
    return Timed("list_versions", [&] { return inner_->ListVersions(key_uri); });
  }
  Status Health() override {
    return Timed("health", [&] { return inner_->Health(); });
  }

 private:
  const std::string name_;
  const std::shared_ptr<KeyProvider> inner_;
  telemetry::SesdMetrics& metrics_;
};

}  // namespace

std::shared_ptr<KeyProvider> Instrument(std::string name, std::shared_ptr<KeyProvider> provider,
                                        telemetry::SesdMetrics& metrics) {
  return std::make_shared<InstrumentedProvider>(std::move(name), std::move(provider), metrics);
}

}  // namespace ses::daemon

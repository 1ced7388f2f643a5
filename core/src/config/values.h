// One configuration setting with where it came from, and the parsers that
// turn its text into a value with one error naming that place.
//
// A setting comes from a line of the file or from a SES_... environment
// override; errors say "FILE:LINE: ..." or "environment VAR: ...". Errors
// never repeat a value that came from the environment, nor one whose key may
// name a secret, so a mistyped PIN or token never reaches a log.
//
// Thread safety: values and free functions.
#pragma once

#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include "ses/config.h"
#include "ses/status.h"

namespace ses::internal {

struct Origin {
  std::string file;      // the config file
  int line = 0;          // 0 when unknown or from the environment
  std::string variable;  // the SES_... variable, when from the environment

  bool FromEnvironment() const { return !variable.empty(); }
  // "FILE:LINE", "FILE" or "environment VAR".
  std::string Where() const;
};

struct Setting {
  std::string section;  // "server", "keyring.main"
  std::string key;
  std::string value;
  Origin origin;

  std::string FullKey() const { return section + "." + key; }
};

// "WHERE: what".
Status ErrorAt(const Origin& origin, const std::string& what);

// "WHERE: bad value 'V' for KEY: what", without 'V' when the value came
// from the environment or the key may name a secret.
Status BadValue(const Setting& s, const std::string& what);

// True when a key's name suggests its value (or the file it names) is secret:
// it contains pin, password, passphrase, secret, token, credential or
// key_file. Used only to keep values out of messages.
bool MayNameSecret(std::string_view key);

// True when a plugin key would hold a secret itself rather than say where to
// find one: its last word (split at '_' and '-') is pin, password, passwd,
// passphrase, secret, token or credential(s), or it ends in api_key,
// private_key, secret_key or access_key. pin_env and pin_file are fine.
bool HoldsSecretDirectly(std::string_view key);

// Plugin, provider and keyring names: 1-64 of A-Z a-z 0-9 - _.
bool ValidName(std::string_view name);

// true or false, nothing else.
Status ParseBool(const Setting& s, bool& out);
// Also yes/no, on/off, 1/0: what [cache] enabled has always accepted.
Status ParseLenientBool(const Setting& s, bool& out);

// A plain decimal integer in [lo, hi]: no sign, spaces or suffix.
template <typename T>
Status ParseRange(const Setting& s, T lo, T hi, T& out) {
  const std::string& v = s.value;
  T n{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || v[0] == '+' || v[0] == '-' || ec != std::errc() || p != v.data() + v.size() || n < lo ||
      n > hi) {
    return BadValue(s, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  out = n;
  return OkStatus();
}

// One of `names`; `index` is its position. The error lists them all.
Status ParseEnum(const Setting& s, std::initializer_list<std::string_view> names, size_t& index);

// HOST:PORT with a port from 1 to 65535. HOST is a DNS name, an IPv4
// address, or an IPv6 address in brackets ([::1]:7443).
Status ParseListen(const Setting& s, ListenAddress& out);

// ASCII lower case (key and variable names).
std::string Lower(std::string_view s);

// An absolute path: a relative value is resolved against the directory of
// the config file (also for overrides from the environment).
std::filesystem::path ResolvePath(const Setting& s);

}  // namespace ses::internal

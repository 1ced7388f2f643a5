// RFC 7512 pkcs11: key URIs, parsed with p11-kit, and where the user PIN
// comes from.
//
//   pkcs11:token=ses-test;object=master[;id=%00%00%00%01][;type=secret-key]
//          [?pin-source=/run/ses/user.pin|pin-value=...][&module-path=/usr/lib/x.so]
//
// Path attributes: token= (required), object= (CKA_LABEL, required), id=
// (CKA_ID), type= (secret-key, the default; private-key or RFC 7512's
// private for RSA key pairs). Query attributes: pin-source (a file path or
// file: URI), pin-value, module-path (overrides the `module` config key).
// Other path attributes and values are refused; unknown query attributes
// are ignored, as p11-kit does (module-name is refused: give module-path).
//
// PINs: a pin-value is copied into SecretBytes and wiped from p11-kit's copy
// before that is freed; error messages show the URI with the pin-value
// redacted. PINs are resolved only when a token needs a login, in the order
// pin-value, pin-source, the `pin_env` variable, the `pin_file` file.
//
// Thread safety: free functions with no shared state; KeyUri is a value
// (move-only because of its SecretBytes).
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::pkcs11 {

// Which token a URI names: the token info fields it gives (empty = any).
struct TokenSelector {
  std::string label;
  std::string manufacturer;
  std::string model;
  std::string serial;

  bool Matches(const CK_TOKEN_INFO& info) const;
  // A string that is equal for equal selectors (a map key).
  std::string Key() const;
};

struct KeyUri {
  TokenSelector token;
  std::string object;                      // CKA_LABEL
  std::optional<std::vector<uint8_t>> id;  // CKA_ID, when the URI pins one
  CK_OBJECT_CLASS object_class = CKO_SECRET_KEY;
  std::string module_path;                 // empty: the config's module
  std::optional<SecretBytes> pin_value;
  std::string pin_source;                  // a file path ("file:" removed)
  std::string shown;                       // the URI for messages, PIN redacted
};

// Parses `uri`; kInvalidArgument "pkcs11: bad key URI '<uri>': <why>".
StatusOr<KeyUri> ParseKeyUri(std::string_view uri);

// `uri` with control bytes as '?' and every pin-value replaced by "***".
std::string RedactUri(std::string_view uri);

// `uri` without its pin-value query attribute (for returning a key's name).
std::string UriWithoutPinValue(std::string_view uri);

// Where a PIN may come from besides the URI (the provider's config).
struct PinSettings {
  std::string env;   // `pin_env`: an environment variable's name
  std::string file;  // `pin_file`: a file that only its owner may access
};

// The user PIN for `uri`, or nullopt if neither the URI nor the settings
// name one. Files are read whole, one trailing newline dropped.
StatusOr<std::optional<SecretBytes>> ResolvePin(const KeyUri& uri, const PinSettings& settings);

// Checks that `path` is a regular file that grants nothing to group or
// others (kPermissionDenied with chmod advice otherwise).
Status CheckPinFile(const std::string& path);

}  // namespace ses::pkcs11

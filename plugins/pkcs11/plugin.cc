// Exports Pkcs11Provider as the "pkcs11" key-provider plugin (ses_pkcs11.so).
#include "pkcs11_provider.h"
#include "ses/plugin/key_provider_adapter.h"

SES_KEY_PROVIDER_PLUGIN("pkcs11", "0.1.0", ses::pkcs11::Pkcs11Provider)

// The cipher-openssl plugin's entry point: exports OpensslCipher through the
// C ABI (ses_plugin_entry is the library's only exported symbol).
#include "openssl_cipher.h"
#include "ses/plugin/cipher_adapter.h"

SES_CIPHER_PLUGIN("cipher-openssl", "0.1.0", ses::cipher_openssl::OpensslCipher)

// Exports KeyfileProvider as the "keyfile" key-provider plugin (ses_keyfile.so).
#include "keyfile_provider.h"
#include "ses/plugin/key_provider_adapter.h"

SES_KEY_PROVIDER_PLUGIN("keyfile", "0.1.0", ses::keyfile::KeyfileProvider)

/* The SES plugin ABI: the only contract between the host and a plugin.
 *
 * Plain C so that a plugin built elsewhere, with another compiler or standard
 * library, still works. A plugin exports exactly one symbol,
 * ses_plugin_entry, which returns a static ses_plugin_info describing its ABI
 * version, kind, name and a kind-specific table of functions.
 *
 * Versioning: the host refuses a plugin whose abi_major differs from its own.
 * Within one major version, tables only grow at the end; every table starts
 * with struct_size so each side uses only the entries both know. Optional
 * entries may be NULL.
 *
 * Errors: every call that can fail returns a ses_status_code and fills the
 * caller's ses_error. No C++ exception, std:: type or heap object crosses this
 * boundary; variable-size outputs go into caller-owned ses_out buffers.
 *
 * Thread safety: the host may call any function of one instance from many
 * threads at once, except create/destroy. A plugin serialises what it must.
 */
#ifndef SES_PLUGIN_ABI_H_
#define SES_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SES_PLUGIN_ABI_MAJOR 1
#define SES_PLUGIN_ABI_MINOR 0
#define SES_PLUGIN_ENTRY_SYMBOL "ses_plugin_entry"

/* Same numbering as ses::StatusCode (and google.rpc.Code). */
typedef enum ses_status_code {
  SES_OK = 0,
  SES_INVALID_ARGUMENT = 3,
  SES_NOT_FOUND = 5,
  SES_ALREADY_EXISTS = 6,
  SES_PERMISSION_DENIED = 7,
  SES_RESOURCE_EXHAUSTED = 8,
  SES_FAILED_PRECONDITION = 9,
  SES_OUT_OF_RANGE = 11, /* a ses_out was too small; its len holds the size needed */
  SES_UNIMPLEMENTED = 12,
  SES_INTERNAL = 13,
  SES_UNAVAILABLE = 14
} ses_status_code;

typedef enum ses_plugin_kind {
  SES_PLUGIN_KIND_KEY_PROVIDER = 1,
  SES_PLUGIN_KIND_CIPHER = 2,
  SES_PLUGIN_KIND_STORE = 3
} ses_plugin_kind;

#define SES_ERROR_MESSAGE_MAX 512
typedef struct ses_error {
  int32_t code;                          /* ses_status_code */
  char message[SES_ERROR_MESSAGE_MAX];   /* NUL-terminated; never secrets */
} ses_error;

/* A caller-owned output buffer. On SES_OUT_OF_RANGE the callee sets len to
 * the size it needs and writes nothing; the caller retries with more room. */
typedef struct ses_out {
  uint8_t* data;
  size_t cap;
  size_t len;
} ses_out;

/* One configuration entry ("key" = "value"), both NUL-terminated. */
typedef struct ses_kv {
  const char* key;
  const char* value;
} ses_kv;

typedef struct ses_bytes {
  const uint8_t* data;
  size_t len;
} ses_bytes;

/* ---- key provider ---------------------------------------------------------
 * Wraps and unwraps data keys under master keys it names by URI. Master key
 * material never leaves the provider. A key version is an opaque string the
 * provider returns from wrap and receives back on unwrap. */
typedef struct ses_key_provider_v1 {
  uint32_t struct_size;
  /* URI schemes served, e.g. "keyfile" or "pkcs11", comma-separated. */
  const char* uri_schemes;
  void* (*create)(const ses_kv* config, size_t config_len, ses_error* err);
  void (*destroy)(void* self);
  /* Wraps `data_key` under the current version of `key_uri`. `aad` is the
   * canonical encryption context; a provider that can bind it (AES-GCM, KMS
   * encryption context) must, and one that cannot ignores it. */
  int32_t (*wrap)(void* self, const char* key_uri, ses_bytes data_key, ses_bytes aad,
                  ses_out* wrapped, ses_out* key_version, ses_error* err);
  int32_t (*unwrap)(void* self, const char* key_uri, const char* key_version,
                    ses_bytes wrapped, ses_bytes aad, ses_out* data_key, ses_error* err);
  /* Optional (NULL: the host generates data keys with its own DRBG). */
  int32_t (*generate_data_key)(void* self, const char* key_uri, size_t key_len, ses_bytes aad,
                               ses_out* data_key, ses_out* wrapped, ses_out* key_version,
                               ses_error* err);
  /* Optional key management. `key_uri` names the key to make; the URI of the
   * created key (which may add attributes) goes to `created_uri`. */
  int32_t (*create_key)(void* self, const char* key_uri, ses_out* created_uri, ses_error* err);
  int32_t (*rotate_key)(void* self, const char* key_uri, ses_out* new_version, ses_error* err);
  /* Writes the key's versions as "v1\nv2\n...", current version last. */
  int32_t (*list_versions)(void* self, const char* key_uri, ses_out* versions, ses_error* err);
  /* Optional: cheap liveness probe of the backend. */
  int32_t (*health)(void* self, ses_error* err);
} ses_key_provider_v1;

/* ---- cipher ---------------------------------------------------------------
 * AEAD suites. Keys are set per message on a reusable context, so the hot path
 * allocates nothing. Nonces are 12 bytes. */
typedef struct ses_suite_info {
  uint16_t id;           /* envelope suite id, see docs/format.md */
  const char* name;      /* e.g. "aes-256-gcm" */
  uint32_t key_len;
  uint32_t tag_len;      /* bytes a seal adds */
} ses_suite_info;

typedef struct ses_cipher_v1 {
  uint32_t struct_size;
  void* (*create)(const ses_kv* config, size_t config_len, ses_error* err);
  void (*destroy)(void* self);
  /* Static list of suites this instance provides. */
  size_t (*suite_count)(void* self);
  const ses_suite_info* (*suite_at)(void* self, size_t index);
  /* A reusable context for one suite; used by one thread at a time. */
  void* (*aead_new)(void* self, uint16_t suite_id, ses_error* err);
  void (*aead_free)(void* aead);
  int32_t (*aead_set_key)(void* aead, ses_bytes key, ses_error* err);
  /* out receives in.len + tag_len bytes: ciphertext then tag. */
  int32_t (*aead_seal)(void* aead, const uint8_t nonce[12], ses_bytes aad, ses_bytes in,
                       uint8_t* out, ses_error* err);
  /* in is ciphertext then tag; out needs room for in.len bytes and receives
   * in.len - tag_len. On failure out's contents are unspecified and the
   * caller must wipe them; a tag mismatch returns SES_INVALID_ARGUMENT. */
  int32_t (*aead_open)(void* aead, const uint8_t nonce[12], ses_bytes aad, ses_bytes in,
                       uint8_t* out, ses_error* err);
} ses_cipher_v1;

/* ---- store ----------------------------------------------------------------
 * Metadata persistence (keyrings, key versions, clients, audit). Versioned
 * records with compare-and-set, so stateless nodes can share one store. */
typedef struct ses_store_v1 {
  uint32_t struct_size;
  void* (*create)(const ses_kv* config, size_t config_len, ses_error* err);
  void (*destroy)(void* self);
  /* Reads `ns`/`key`; SES_NOT_FOUND if absent. */
  int32_t (*get)(void* self, const char* ns, const char* key, ses_out* value,
                 uint64_t* version, ses_error* err);
  /* Writes if the stored version equals expected_version (0: must not exist);
   * a version conflict returns SES_FAILED_PRECONDITION. */
  int32_t (*put)(void* self, const char* ns, const char* key, ses_bytes value,
                 uint64_t expected_version, uint64_t* new_version, ses_error* err);
  int32_t (*remove)(void* self, const char* ns, const char* key, ses_error* err);
  /* Writes the keys in `ns` starting with `prefix`, one per line. */
  int32_t (*list)(void* self, const char* ns, const char* prefix, ses_out* keys, ses_error* err);
  int32_t (*health)(void* self, ses_error* err);
} ses_store_v1;

/* ---- the entry point ------------------------------------------------------- */
typedef struct ses_plugin_info {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  int32_t kind;               /* ses_plugin_kind */
  const char* name;           /* unique among loaded plugins, e.g. "keyfile" */
  const char* version;        /* the plugin's own version, e.g. "0.1.0" */
  const void* table;          /* ses_key_provider_v1*, ses_cipher_v1* or ses_store_v1* */
} ses_plugin_info;

typedef const ses_plugin_info* (*ses_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SES_PLUGIN_ABI_H_ */

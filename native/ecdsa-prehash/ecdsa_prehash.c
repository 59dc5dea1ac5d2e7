// ECDSA verification over a digest the caller already holds, through the OpenSSL inside Node.
//
// A hashedrekord entry carries the artifact's digest, not the artifact, and the log must check the
// signature over that digest. node:crypto always hashes the data it is given (a digest-taking verify
// is nodejs/node#62345, not in Node 24), and the JavaScript fallback (@noble/curves) takes ~50x the
// CPU. This file only binds OpenSSL's own calls: the key is parsed and validated by d2i_PUBKEY and
// EVP_PKEY_public_check_quick, the signature by EVP_PKEY_verify (strict DER, as Go's VerifyASN1). Nothing
// here parses or computes anything itself.
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <node_api.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

// Marks the externals this module made, so verify() never casts a foreign object to a key.
static const napi_type_tag KEY_TAG = {0x61a7c0c4e5d14b2bULL, 0x9e0f3d5a7c2b4e61ULL};

// A key or signature larger than this is not P-256/384/521 material; refuse before OpenSSL sees it.
#define MAX_INPUT_BYTES 4096

static void free_key(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_PKEY_free((EVP_PKEY *)data);
}

// The bytes of a Uint8Array argument (a Buffer is one); false for anything else.
static bool uint8_bytes(napi_env env, napi_value value, const unsigned char **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, NULL, NULL) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = (const unsigned char *)ptr;
  return true;
}

// The call's arguments into argv, exactly `count` of them; otherwise a TypeError saying `usage`.
static bool exact_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == count) return true;
  napi_throw_type_error(env, NULL, usage);
  return false;
}

static bool is_named_nist_curve(const EVP_PKEY *key) {
  char name[32];
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof name, &length) != 1) return false;
  return strcmp(name, "prime256v1") == 0 || strcmp(name, "secp384r1") == 0 || strcmp(name, "secp521r1") == 0;
}

// parseKey(spkiDer: Uint8Array): an opaque handle to a validated P-256/384/521 public key.
static napi_value parse_key(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!exact_args(env, info, 1, argv, "parseKey(spkiDer) takes one Uint8Array")) return NULL;
  const unsigned char *der = NULL;
  size_t length = 0;
  if (!uint8_bytes(env, argv[0], &der, &length) || length == 0 || length > MAX_INPUT_BYTES) {
    napi_throw_type_error(env, NULL, "parseKey(spkiDer) takes a non-empty Uint8Array of at most 4096 bytes");
    return NULL;
  }
  const unsigned char *cursor = der;
  EVP_PKEY *key = d2i_PUBKEY(NULL, &cursor, (long)length);
  bool valid = key != NULL && cursor == der + length && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && is_named_nist_curve(key);
  if (valid) {
    // Coordinates in range, on the curve, not the point at infinity (the quick check: these curves
    // have cofactor 1, so the full check's order multiplication adds nothing).
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    valid = ctx != NULL && EVP_PKEY_public_check_quick(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
  }
  ERR_clear_error(); // Node's own crypto reads this thread's error queue: leave nothing in it
  if (!valid) {
    EVP_PKEY_free(key);
    napi_throw_error(env, "E_KEY_INVALID", "not a valid P-256, P-384 or P-521 public key in SPKI DER");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, key, free_key, NULL, &handle) != napi_ok) {
    EVP_PKEY_free(key);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &KEY_TAG) != napi_ok) {
    napi_throw_error(env, NULL, "parseKey: could not tag the key handle"); // the finalizer still frees it
    return NULL;
  }
  return handle;
}

// verify(key, digest: Uint8Array, signatureDer: Uint8Array): boolean. False for any signature that
// does not verify, is not strict DER, or cannot be evaluated; throws only for wrong argument types.
static napi_value verify(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!exact_args(env, info, 3, argv, "verify(key, digest, signature) takes three arguments")) return NULL;
  bool tagged = false;
  void *key = NULL;
  if (napi_check_object_type_tag(env, argv[0], &KEY_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &key) != napi_ok || key == NULL) {
    napi_throw_type_error(env, NULL, "verify: the key is not one parseKey returned");
    return NULL;
  }
  const unsigned char *digest = NULL, *signature = NULL;
  size_t digest_length = 0, signature_length = 0;
  if (!uint8_bytes(env, argv[1], &digest, &digest_length) || !uint8_bytes(env, argv[2], &signature, &signature_length)) {
    napi_throw_type_error(env, NULL, "verify: the digest and the signature are Uint8Arrays");
    return NULL;
  }
  bool verified = false;
  if (digest_length > 0 && digest_length <= 64 && signature_length > 0 && signature_length <= MAX_INPUT_BYTES) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, (EVP_PKEY *)key, NULL);
    // No digest set on the context: OpenSSL takes the bytes as the digest (truncated to the order's
    // bit length, as FIPS 186 says). Only 1 is success; 0 and negative values are failures.
    verified = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
               EVP_PKEY_verify(ctx, signature, signature_length, digest, digest_length) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
  }
  napi_value result;
  napi_get_boolean(env, verified, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"parseKey", NULL, parse_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verify", NULL, verify, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}

/*
 * store_token.c: bearer tokens (store.h invariant 3).
 *
 * An account token is "<32 hex account id>.<secret>", the admin token
 * "admin.<secret>", the metrics token "metrics.<secret>"; the secret is 32 random bytes in base64url without
 * padding (43 characters).  The id in front lets a verifier find the account
 * without a search; the secret makes the token unguessable.  Only SHA-256 of
 * the whole token string is ever stored.
 *
 * Invariants: error messages never quote a token (it is a secret, and a
 * message may reach a log); every buffer that held a secret is wiped.
 */
#include "store/store_impl.h"

#include <string.h>

#include <sodium.h>

#include "core/codec.h"

#define SECRET_BYTES 32
#define SECRET_CHARS 43 /* base64url of 32 bytes, no padding */
#define ID_HEX_CHARS (2 * CDS_ACCOUNT_ID_BYTES)

/* base64url (no padding) of 32 secret bytes, then wipe them. */
static void secret_text(char out[SECRET_CHARS + 1], uint8_t secret[SECRET_BYTES])
{
	sodium_bin2base64(out, SECRET_CHARS + 1, secret, SECRET_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, SECRET_BYTES);
}

static void secret_new(char out[SECRET_CHARS + 1])
{
	uint8_t secret[SECRET_BYTES];

	randombytes_buf(secret, sizeof(secret));
	secret_text(out, secret);
}

static int secret_ok(const char *s, size_t len)
{
	if (len != SECRET_CHARS)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static void account_token(const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			  char token[static CDS_TOKEN_MAX_BYTES],
			  uint8_t secret[SECRET_BYTES])
{
	cds_hex_encode(token, id, CDS_ACCOUNT_ID_BYTES);
	token[ID_HEX_CHARS] = '.';
	secret_text(token + ID_HEX_CHARS + 1, secret);
}

/*
 * Secrets for a batch: ChaCha20 keyed by one fresh 32-byte seed per
 * RAND_CHUNK accounts, instead of a getrandom() call per account, which
 * costs bulk imports more than the hashing does.  The output is as good as
 * the seed (libsodium's randombytes_buf_deterministic).
 */
#define RAND_CHUNK 64

void cds_token_fill(struct cds_new_account *accts, size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES], buf[RAND_CHUNK * SECRET_BYTES];

	for (size_t i = 0; i < n; i++) {
		if (i % RAND_CHUNK == 0) {
			randombytes_buf(seed, sizeof(seed));
			randombytes_buf_deterministic(buf, sizeof(buf), seed);
		}
		account_token(accts[i].id, accts[i].token,
			      buf + (i % RAND_CHUNK) * SECRET_BYTES);
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
}

void cds_token_new_admin(char token[static CDS_TOKEN_MAX_BYTES])
{
	memcpy(token, "admin.", 6);
	secret_new(token + 6);
}

void cds_token_new_metrics(char token[static CDS_TOKEN_MAX_BYTES])
{
	memcpy(token, "metrics.", 8);
	secret_new(token + 8);
}

void cds_token_hash(uint8_t out[static CDS_TOKEN_HASH_BYTES], const char *token)
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

enum cds_err cds_token_account(uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			       const char *token, struct cds_error *err)
{
	size_t len = strnlen(token, CDS_TOKEN_MAX_BYTES);

	if (len < ID_HEX_CHARS + 1 || token[ID_HEX_CHARS] != '.' ||
	    !secret_ok(token + ID_HEX_CHARS + 1, len - ID_HEX_CHARS - 1) ||
	    cds_hex_decode_exact(id, CDS_ACCOUNT_ID_BYTES, token, ID_HEX_CHARS,
				 "account id", NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_AUTH,
				"token is not of the form '<32 hex digits>.<secret>'");
	return CDS_OK;
}

enum cds_err cds_store_check_admin(struct cds_store *s, const char *token,
				   struct cds_error *err)
{
	uint8_t want[CDS_TOKEN_HASH_BYTES], got[CDS_TOKEN_HASH_BYTES];
	size_t len = strnlen(token, CDS_TOKEN_MAX_BYTES);
	enum cds_err rc;

	if (len < 6 || memcmp(token, "admin.", 6) != 0 ||
	    !secret_ok(token + 6, len - 6))
		return cds_fail(err, CDS_ERR_AUTH,
				"token is not of the form 'admin.<secret>'");
	rc = s->ops->admin_hash(s, want, err);
	if (rc)
		goto out;
	cds_token_hash(got, token);
	if (sodium_memcmp(want, got, sizeof(want)) != 0)
		rc = cds_fail(err, CDS_ERR_AUTH, "wrong admin token");
out:
	sodium_memzero(got, sizeof(got));
	return rc;
}

/*
 * Every failure is the same CDS_ERR_AUTH message, so that a caller cannot
 * tell an unknown account from a wrong secret.
 */
enum cds_err cds_store_check_token(struct cds_store *s, const char *token,
				   struct cds_account *out,
				   struct cds_error *err)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES], got[CDS_TOKEN_HASH_BYTES];
	struct cds_account acct;
	struct cds_error e;
	enum cds_err rc;

	if (cds_token_account(id, token, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_AUTH, "invalid account token");
	rc = s->ops->account_get(s, id, &acct, &e);
	if (rc && rc != CDS_ERR_NOT_FOUND)
		return cds_fail(err, rc, "%s", e.msg);
	cds_token_hash(got, token);
	if (rc || sodium_memcmp(got, acct.token_hash, sizeof(got)) != 0)
		rc = cds_fail(err, CDS_ERR_AUTH, "invalid account token");
	else if (out)
		*out = acct;
	sodium_memzero(got, sizeof(got));
	return rc;
}

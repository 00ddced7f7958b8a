/*
 * ohttp_keys.c: Oblivious HTTP key configurations (RFC 9458 §3.1) and the
 * application/ohttp-keys list of them (§3.2).
 *
 *   Key Config { Key Identifier (8), HPKE KEM ID (16), HPKE Public Key
 *                (Npk * 8), HPKE Symmetric Algorithms Length (16) = 4 * k,
 *                { HPKE KDF ID (16), HPKE AEAD ID (16) } * k }
 *
 * The list parser is strict (every length consistent, nothing left over)
 * and skips configurations it cannot use rather than failing on them: a
 * gateway may offer suites a client does not know.
 */
#include "crypto/ohttp.h"

#include <string.h>

/*
 * The symmetric suites we offer, in the order of RFC 9458's example (so
 * that its key configuration is reproduced byte for byte).
 */
static const uint16_t offered_aeads[] = {CDS_AEAD_AES128GCM,
					 CDS_AEAD_CHACHA20POLY1305};
#define N_AEADS (sizeof(offered_aeads) / sizeof(offered_aeads[0]))
/* Offset of the public key in a config: key id (1), KEM id (2). */
#define PK_OFF 3
#define CONFIG_BYTES (1 + 2 + CDS_HPKE_PK_BYTES + 2 + 4 * N_AEADS)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

enum cds_err cds_ohttp_keys_encode(struct cds_buf *out,
				   const struct cds_ohttp_key *keys, size_t n,
				   struct cds_error *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c[2 + CONFIG_BYTES], *p = c;

		put16(p, CONFIG_BYTES);
		p[2] = keys[i].id;
		put16(p + 3, CDS_HPKE_KEM_X25519_SHA256);
		memcpy(p + 5, keys[i].pk, CDS_HPKE_PK_BYTES);
		p += 5 + CDS_HPKE_PK_BYTES;
		put16(p, 4 * N_AEADS);
		for (size_t j = 0; j < N_AEADS; j++) {
			put16(p + 2 + 4 * j, CDS_HPKE_KDF_HKDF_SHA256);
			put16(p + 4 + 4 * j, offered_aeads[j]);
		}
		if (cds_buf_append(out, c, sizeof(c)))
			return cds_fail(err, CDS_ERR_NOMEM,
					"ohttp keys: out of memory");
	}
	return CDS_OK;
}

/*
 * One configuration c[0..len): fill cfg and return true if it is usable.
 * false with err set when it is malformed.
 */
static bool config_parse(struct cds_ohttp_config *cfg, bool *usable,
			 const uint8_t *c, size_t len, struct cds_error *err)
{
	size_t algs;

	*usable = false;
	if (len < PK_OFF)
		return !cds_fail(err, CDS_ERR_PROTO,
				 "ohttp keys: config of %zu bytes", len);
	/* Another KEM: its key size is unknown to us, skip the config. */
	if (get16(c + 1) != CDS_HPKE_KEM_X25519_SHA256)
		return true;
	if (len < PK_OFF + CDS_HPKE_PK_BYTES + 2)
		return !cds_fail(err, CDS_ERR_PROTO,
				 "ohttp keys: truncated X25519 config");
	algs = get16(c + PK_OFF + CDS_HPKE_PK_BYTES);
	if (algs == 0 || algs % 4 || PK_OFF + CDS_HPKE_PK_BYTES + 2 + algs != len)
		return !cds_fail(err, CDS_ERR_PROTO,
				 "ohttp keys: algorithm list of %zu bytes in a "
				 "config of %zu", algs, len);
	for (size_t i = 0; i < algs && !*usable; i += 4) {
		const uint8_t *a = c + PK_OFF + CDS_HPKE_PK_BYTES + 2 + i;

		if (get16(a) == CDS_HPKE_KDF_HKDF_SHA256 &&
		    cds_aead_supported(get16(a + 2))) {
			cfg->id = c[0];
			memcpy(cfg->pk, c + PK_OFF, CDS_HPKE_PK_BYTES);
			cfg->aead_id = get16(a + 2);
			*usable = true;
		}
	}
	return true;
}

enum cds_err cds_ohttp_keys_pick(struct cds_ohttp_config *cfg,
				 const uint8_t *in, size_t len,
				 struct cds_error *err)
{
	size_t pos = 0;
	bool found = false;

	memset(cfg, 0, sizeof(*cfg));
	while (pos < len) {
		struct cds_ohttp_config c;
		size_t n;
		bool usable;

		if (len - pos < 2 || (n = get16(in + pos)) > len - pos - 2)
			return cds_fail(err, CDS_ERR_PROTO,
					"ohttp keys: config length at offset %zu "
					"exceeds the list", pos);
		if (!config_parse(&c, &usable, in + pos + 2, n, err))
			return CDS_ERR_PROTO;
		if (usable && !found)
			*cfg = c;
		found |= usable;
		pos += 2 + n;
	}
	if (!found)
		return cds_fail(err, CDS_ERR_PROTO,
				"ohttp keys: no configuration offers "
				"X25519/HKDF-SHA256 with a supported AEAD");
	return CDS_OK;
}

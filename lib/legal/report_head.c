/*
 * report_head.c: the signed ledger head that every transparency
 * report carries (ledger_head.h has the layouts).  Whoever keeps a copy of
 * a report can later run `cdsctl legal verify --head SIGNED_HEAD`: the
 * ledger must still extend it, and its signature must verify with the
 * ledger key.
 *
 * Invariant: a head is signed only after the ledger verified (chain, the
 * store's mark): the key never vouches for a broken ledger.
 */
#include "legal/legal_int.h"

#include <string.h>

#include "core/codec.h"

enum cds_err legal_head_sign(const char *datadir, struct legal_signed_head *out,
			     struct cds_error *err)
{
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	rc = cds_legal_verify(datadir, NULL, NULL, &out->head, err);
	if (!rc)
		rc = cds_ledger_head_sign(datadir, &out->head, out->sig, out->pk,
					  err);
	return rc;
}

/* Hex texts of one head: hash, head, signature, signed head, key. */
struct head_hex {
	char hash[2 * CDS_LEDGER_ENTRY_HASH_BYTES + 1];
	char head[2 * CDS_LEDGER_HEAD_BYTES + 1];
	char sig[2 * CDS_LEDGER_SIG_BYTES + 1];
	char signed_head[2 * CDS_LEDGER_SIGNED_HEAD_BYTES + 1];
	char pk[2 * CDS_LEDGER_PK_BYTES + 1];
};

static void to_hex(struct head_hex *x, const struct legal_signed_head *h)
{
	uint8_t b[CDS_LEDGER_SIGNED_HEAD_BYTES];

	cds_ledger_head_encode(b, &h->head);
	memcpy(b + CDS_LEDGER_HEAD_BYTES, h->sig, sizeof(h->sig));
	cds_hex_encode(x->hash, h->head.hash, sizeof(h->head.hash));
	cds_hex_encode(x->head, b, CDS_LEDGER_HEAD_BYTES);
	cds_hex_encode(x->sig, h->sig, sizeof(h->sig));
	cds_hex_encode(x->signed_head, b, sizeof(b));
	cds_hex_encode(x->pk, h->pk, sizeof(h->pk));
}

json_t *legal_head_json(const struct legal_signed_head *h)
{
	struct head_hex x;

	to_hex(&x, h);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "entries",
			 (json_int_t)h->head.entries, "hash", x.hash, "head",
			 x.head, "signature", x.sig, "signed_head",
			 x.signed_head, "public_key", x.pk);
}

enum cds_err legal_head_md(const struct legal_signed_head *h,
			   struct cds_buf *o)
{
	struct head_hex x;

	to_hex(&x, h);
	return cds_buf_appendf(
		o, "\nLedger head: %llu entries, last entry hash `%s`.  Signed "
		   "head (check later with `cdsctl legal verify --head`):\n\n"
		   "    %s\n\nLedger key (Ed25519): `%s`\n",
		(unsigned long long)h->head.entries, x.hash, x.signed_head,
		x.pk);
}

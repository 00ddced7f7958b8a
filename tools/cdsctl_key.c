/*
 * cdsctl_key.c: `cdsctl key rotate|list`: OPRF key epochs.
 *
 *   cdsctl --data DIR key rotate    new epoch; prints its number
 *   cdsctl --data DIR key rotate --ohttp
 *                                   new Oblivious HTTP gateway key; prints
 *                                   its key id
 *   cdsctl --data DIR key list --ohttp
 *                                   the gateway keys in service
 *   cdsctl --data DIR key list      epochs on disk, newest first
 *
 * A running cdsd finds a new epoch on its next poll, builds its index and
 * then serves it, keeping the previous epoch for its grace period.  Keys
 * go through DIR's key source (store/keysrc.h): files in DIR/keys, or, on
 * a PostgreSQL store made with replicas in mind, rows sealed in the
 * database, so a rotation through any replica's DIR reaches all.  Secret
 * keys are never printed; `list` shows the public keys clients verify
 * proofs against.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cdsctl.h"
#include "cli.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "crypto/gwkeys.h"
#include "crypto/keys.h"
#include "store/keysrc.h"

static const char usage_head[] =
	"usage: cdsctl --data DIR key COMMAND\n"
	"\n"
	"Manage the OPRF key epochs (in DIR/keys, or sealed in the PostgreSQL\n"
	"store that replicas share).";

static const char rotate_usage[] =
	"usage: cdsctl --data DIR key rotate [--ohttp]\n"
	"\n"
	"Create the key of a new epoch (newest + 1) and print its number.  A\n"
	"running cdsd switches to it once its index is built and answers the\n"
	"previous epoch for a grace period.\n"
	"\n"
	"--ohttp  rotate the Oblivious HTTP gateway key instead: a new key pair\n"
	"         with the next free key id (printed) becomes the one cdsd\n"
	"         publishes; the old one still decrypts requests for 7 days.\n"
	"         A running cdsd picks the change up within a few seconds.\n";

/* `key rotate --ohttp`: a new gateway key pair. */
static int rotate_ohttp(void)
{
	struct cds_keysrc ks;
	struct cds_error err;
	uint8_t id = 0;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = cds_keysrc_open(&ks, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_keysrc_gw_rotate(&ks, cds_now_us(), &id, &err);
	cds_keysrc_fini(&ks);
	if (rc)
		return cli_error(&err);
	printf("%u\n", id);
	return CLI_OK;
}

static const char list_usage[] =
	"usage: cdsctl --data DIR key list [--ohttp]\n"
	"\n"
	"Print each key epoch on disk, newest first: its number, creation time\n"
	"and public key (base64).\n"
	"\n"
	"--ohttp  the Oblivious HTTP gateway keys instead: key id, creation\n"
	"         time, public key, and whether current or since when retired.\n";

/* `key list --ohttp`: the gateway keys still in service, current first. */
static int list_ohttp(void)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	char when[CDS_RFC3339_BYTES], ret[CDS_RFC3339_BYTES];
	char pk[CDS_B64_LEN(CDS_HPKE_PK_BYTES)];
	struct cds_keysrc ks;
	struct cds_error err;
	size_t n = 0;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = cds_keysrc_open(&ks, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_keysrc_gw_load(&ks, cds_now_us(), k, &n, &err);
	cds_keysrc_fini(&ks);
	if (rc)
		return cli_error(&err);
	for (size_t i = 0; i < n; i++) {
		cds_time_format(when, k[i].created_us);
		cds_time_format(ret, k[i].retired_us);
		cds_b64_encode(pk, k[i].key.pk, sizeof(k[i].key.pk));
		printf("ohttp key id %u  created %s  public_key %s  %s%s\n",
		       k[i].key.id, when, pk,
		       k[i].retired_us ? "retired " : "(current)",
		       k[i].retired_us ? ret : "");
	}
	sodium_memzero(k, sizeof(k));
	return CLI_OK;
}

static int rotate(int argc, char **argv)
{
	struct cds_keysrc ks;
	struct cds_error err;
	uint32_t epoch = 0;
	enum cds_err rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(rotate_usage, stdout);
		return CLI_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--ohttp"))
		return rotate_ohttp();
	if (argc > 1)
		return cli_usage("unexpected argument '%s' (try --help)", argv[1]);
	rc = cds_keysrc_open(&ks, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_keysrc_epoch_rotate(&ks, &epoch, &err);
	cds_keysrc_fini(&ks);
	if (rc)
		return cli_error(&err);
	printf("%lu\n", (unsigned long)epoch);
	return CLI_OK;
}

static int list(int argc, char **argv)
{
	struct cds_epoch_key *keys = NULL;
	char when[CDS_RFC3339_BYTES], pk[CDS_B64_LEN(CDS_OPRF_ELEMENT_BYTES)];
	struct cds_keysrc ks;
	struct cds_error err;
	size_t n = 0;
	enum cds_err rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(list_usage, stdout);
		return CLI_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--ohttp"))
		return list_ohttp();
	if (argc > 1)
		return cli_usage("unexpected argument '%s' (try --help)", argv[1]);
	rc = cds_keysrc_open(&ks, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_keysrc_epochs_load(&ks, &keys, &n, &err);
	cds_keysrc_fini(&ks);
	if (rc)
		return cli_error(&err);
	for (size_t i = 0; i < n; i++) {
		cds_time_format(when, keys[i].created_us);
		cds_b64_encode(pk, keys[i].pk, sizeof(keys[i].pk));
		printf("epoch %lu  created %s  public_key %s%s\n",
		       (unsigned long)keys[i].epoch, when, pk,
		       i == 0 ? "  (newest)" : "");
	}
	cds_keys_free(keys, n);
	return CLI_OK;
}

static const struct cli_cmd commands[] = {
	{"rotate", rotate, "create a new key epoch and print its number"},
	{"list", list, "list key epochs, newest first"},
	{NULL, NULL, NULL},
};

int cdsctl_key(int argc, char **argv)
{
	return cli_dispatch(commands, argc - 1, argv + 1, usage_head);
}

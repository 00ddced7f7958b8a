/*
 * cdsctl_join.c: `cdsctl join`: a data directory for one more replica of
 * an existing PostgreSQL store.
 *
 *   cdsctl --data DIR join --store URL --kek FILE
 *
 * Writes DIR/store.conf (URL), DIR/keys/kek (a copy of FILE, the
 * key-encryption key of the directory that made the database, 0600) and a
 * metrics token of DIR's own; copies no other file.  The OPRF epochs, the
 * gateway keys, the verification key and the legal ledger's signing key
 * are read from the database,
 * sealed under the KEK (store/keysrc.h), so a key rotated later through
 * any data directory reaches this one too.
 *
 * Checked before anything is kept: DIR holds no store and no keys, URL is
 * a database with a cds store that keeps sealed keys, and FILE is its KEK
 * (a wrong one is refused: its check row does not open).  On any failure
 * the files join wrote are removed again.
 */
#include <stdio.h>
#include <unistd.h>

#include "cdsctl.h"
#include "cdsctl_opt.h"
#include "cli.h"
#include "crypto/seal.h"
#include "store/keysrc.h"
#include "store/metrics_token.h"
#include "store/store.h"

static const char usage[] =
	"usage: cdsctl --data DIR join --store URL --kek FILE\n"
	"\n"
	"Make DIR the data directory of one more cdsd replica of the PostgreSQL\n"
	"store at URL (made by 'cdsctl init --store URL').  FILE is the store's\n"
	"key-encryption key: DIR/keys/kek of the data directory that made it.\n"
	"join copies it to DIR/keys/kek (0600) and writes DIR/store.conf and\n"
	"DIR/metrics.token; the OPRF, gateway and ledger keys stay sealed in\n"
	"the database, where every replica reads them.  DIR is created if\n"
	"missing; a directory that has a store or keys is refused.\n"
	"\n"
	"  --store URL   postgresql://[user@]host[:port]/dbname, no password\n"
	"                (libpq reads it from PGPASSFILE, a service file or\n"
	"                PGPASSWORD)\n"
	"  --kek FILE    the key-encryption key file to copy\n";

/* Check that DIR's copy of the KEK opens the database's sealed keys. */
static enum cds_err check_sealed(const char *dir, struct cds_error *err)
{
	struct cds_keysrc ks = {0};
	struct cds_store *s = NULL;
	enum cds_err rc = cds_store_open(&s, dir, err);

	if (!rc)
		rc = cds_keysrc_init(&ks, dir, s, err);
	if (!rc && !cds_keysrc_sealed(&ks))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "the database keeps no sealed keys (its data "
			      "directory keeps them as files): copy that "
			      "directory instead of joining");
	cds_keysrc_fini(&ks);
	cds_store_close(s);
	return rc;
}

/* Remove what a failed join wrote. */
static void undo(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/store.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys/kek", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keys", dir);
	rmdir(path);
}

static enum cds_err join(const char *dir, const char *url, const char *kek,
			 struct cds_error *err)
{
	char path[4096];
	uint8_t hash[CDS_TOKEN_HASH_BYTES];
	bool created = false;
	enum cds_err rc = cdsctl_keys_dir(dir, err);

	if (!rc)
		rc = cds_kek_path(path, dir, err);
	if (!rc)
		rc = cds_kek_copy(path, kek, err);
	if (!rc)
		rc = cds_store_join(dir, url, err);
	if (!rc)
		rc = check_sealed(dir, err);
	if (!rc)
		rc = cds_metrics_token_load(dir, hash, &created, err);
	if (rc)
		undo(dir);
	return rc;
}

int cdsctl_join(int argc, char **argv)
{
	struct cdsctl_opt opts[] = {{"--store", NULL}, {"--kek", NULL},
				    {NULL, NULL}};
	const char *dir = cdsctl_datadir, *url, *kek;
	struct cds_error err;
	int rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return CLI_USAGE;
	url = cdsctl_opt_get(opts, "--store");
	kek = cdsctl_opt_get(opts, "--kek");
	if (!url || !kek)
		return cli_usage("join needs --store URL and --kek FILE (try --help)");
	if (cds_store_url_check(url, &err))
		return cli_usage("--store: %s", err.msg);
	rc = cdsctl_dir_fresh(dir);
	if (rc)
		return rc;
	if (join(dir, url, kek, &err))
		return cli_error(&err);
	printf("joined the store in %s, recorded in %s/store.conf\n", url, dir);
	printf("copied the key-encryption key to %s/keys/kek (mode 0600)\n", dir);
	printf("wrote the metrics token to %s/metrics.token (mode 0600)\n", dir);
	return CLI_OK;
}

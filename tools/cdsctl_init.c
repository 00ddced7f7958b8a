/*
 * cdsctl_init.c: `cdsctl init`: a new data directory.
 *
 *   cdsctl --data DIR init [--prefix-bits K | --expected-handles N]
 *                          [--store URL]
 *
 * Creates DIR (0700) if it is missing, the store (DIR/cds.sqlite3, or a
 * PostgreSQL database that DIR/store.conf then names), the OPRF key of
 * epoch 1, the Oblivious HTTP gateway key, the legal ledger's signing
 * key and the transparency key (signed heads) in DIR/keys (on PostgreSQL: the key-encryption key DIR/keys/kek, and
 * those keys sealed under it in the database, where every replica finds
 * them: store/keysrc.h), the admin token DIR/admin.token and the metrics
 * token DIR/metrics.token (all 0600).  Refuses a
 * directory that already has a store or keys, and a database that has a
 * store: init never overwrites anything.
 *
 * The bucket prefix is fixed for the store's life (clients compute bucket
 * numbers from it), so it is chosen for the size the directory will reach:
 * by default buckets average about 64 handles for a million handles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cdsctl.h"
#include "cdsctl_args.h"
#include "cdsctl_opt.h"
#include "cli.h"
#include "crypto/entry.h"
#include "crypto/gwkeys.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "legal/ledger_head.h"
#include "store/keysrc.h"
#include "store/metrics_token.h"
#include "store/store.h"

#define DEFAULT_EXPECTED 1000000
#define MAX_EXPECTED UINT64_C(1000000000000)

static const char usage[] =
	"usage: cdsctl --data DIR init [--prefix-bits K | --expected-handles N]\n"
	"                              [--store URL]\n"
	"\n"
	"Create a data directory: the store (DIR/cds.sqlite3, or PostgreSQL with\n"
	"--store), the OPRF key of\n"
	"epoch 1 and the Oblivious HTTP gateway key (DIR/keys), the admin token\n"
	"(DIR/admin.token) and the metrics token (DIR/metrics.token), both mode 0600.\n"
	"DIR is created if missing; a directory that has a store is refused.\n"
	"It also makes the legal ledger's key and the transparency key, which\n"
	"signs the directory's published versions (DIR/keys/ledger.key and\n"
	"DIR/keys/transparency.key).\n"
	"On PostgreSQL the OPRF, gateway, ledger and transparency keys live in\n"
	"the database, sealed under the key-encryption key DIR/keys/kek (0600),\n"
	"which replicas copy ('cdsctl --data DIR2 join --store URL --kek\n"
	"DIR/keys/kek').\n"
	"\n"
	"  --store URL            where the directory store lives: 'sqlite' (the\n"
	"                         default: DIR/cds.sqlite3) or a libpq URI\n"
	"                         postgresql://[user@]host[:port]/dbname, which\n"
	"                         DIR/store.conf records for every later command.\n"
	"                         No password in the URI: libpq reads it from\n"
	"                         PGPASSFILE (~/.pgpass), a service file or\n"
	"                         PGPASSWORD\n"
	"  --prefix-bits K        bucket prefix bits, 0..24 (fixed for the life\n"
	"                         of the store)\n"
	"  --expected-handles N   choose K so that buckets average 32..128 handles\n"
	"                         for N registered handles (default 1000000: K = 14)\n";

/*
 * The K that puts 2^K buckets closest to N / 64 handles each (in log
 * terms): an average between 45 and 91, inside the 32..128 target.
 */
static unsigned bits_for(uint64_t n)
{
	unsigned k = 0;

	while (k < CDS_PREFIX_BITS_MAX && (double)n / (double)(1u << k) > 90.51)
		k++;
	return k;
}

static int parse(int argc, char **argv, unsigned *bits, uint64_t *expected,
		 const char **store)
{
	struct cdsctl_opt opts[] = {{"--prefix-bits", NULL},
				    {"--expected-handles", NULL},
				    {"--store", NULL}, {NULL, NULL}};
	struct cds_error err;
	const char *k, *n;
	uint64_t v;

	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return -1;
	k = cdsctl_opt_get(opts, "--prefix-bits");
	n = cdsctl_opt_get(opts, "--expected-handles");
	*store = cdsctl_opt_get(opts, "--store");
	if (*store && strcmp(*store, "sqlite") != 0 &&
	    cds_store_url_check(*store, &err) != CDS_OK) {
		cli_usage("--store: %s", err.msg);
		return -1;
	}
	if (k && n) {
		cli_usage("give --prefix-bits or --expected-handles, not both");
		return -1;
	}
	*expected = DEFAULT_EXPECTED;
	if (n && args_u64(expected, n, 1, MAX_EXPECTED, "--expected-handles"))
		return -1;
	*bits = bits_for(*expected);
	if (k && args_u64(&v, k, 0, CDS_PREFIX_BITS_MAX, "--prefix-bits"))
		return -1;
	if (k)
		*bits = (unsigned)v;
	return 0;
}

/* Make DIR if missing; refuse before creating anything if it holds a store or keys. */
int cdsctl_dir_fresh(const char *dir)
{
	char path[4096];
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cli_fail("cannot create data directory '%s': %s", dir,
				strerror(errno));
	snprintf(path, sizeof(path), "%s/cds.sqlite3", dir);
	if (stat(path, &st) == 0)
		return cli_fail("'%s' already has a store ('%s'); init refuses to "
				"overwrite it", dir, path);
	snprintf(path, sizeof(path), "%s/store.conf", dir);
	if (stat(path, &st) == 0)
		return cli_fail("'%s' already has a store ('%s'); init refuses to "
				"overwrite it", dir, path);
	snprintf(path, sizeof(path), "%s/keys", dir);
	if (stat(path, &st) == 0)
		return cli_fail("'%s' already has OPRF keys ('%s'); init refuses to "
				"overwrite them", dir, path);
	return CLI_OK;
}

/* SQLite: the OPRF key and the gateway key as files in DIR/keys. */
static enum cds_err file_keys(const char *dir, struct cds_error *err)
{
	enum cds_err rc = cds_keys_init(dir, err);

	return rc ? rc : cds_gwkeys_create(dir, err);
}

/* Make DIR/keys (0700) for the KEK and other per-directory keys. */
enum cds_err cdsctl_keys_dir(const char *dir, struct cds_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/keys", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", path,
				strerror(errno));
	return CDS_OK;
}

/* PostgreSQL: a new KEK in DIR/keys, and the first keys sealed under it. */
static enum cds_err seal_keys(const char *dir, struct cds_error *err)
{
	char path[4096];
	struct cds_store *s = NULL;
	enum cds_err rc = cdsctl_keys_dir(dir, err);

	if (!rc)
		rc = cds_kek_path(path, dir, err);
	if (!rc)
		rc = cds_kek_create(path, err);
	if (!rc)
		rc = cds_store_open(&s, dir, err);
	if (!rc)
		rc = cds_keysrc_seal_new(dir, s, err);
	cds_store_close(s);
	return rc;
}

/* The transparency key (store/keysrc.h): a file, or sealed. */
static enum cds_err transparency_key(const char *dir, struct cds_error *err)
{
	uint8_t seed[32];
	struct cds_keysrc ks;
	enum cds_err rc = cds_keysrc_open(&ks, dir, err);

	if (!rc)
		rc = cds_keysrc_tkey(&ks, true, seed, err);
	sodium_memzero(seed, sizeof(seed));
	cds_keysrc_fini(&ks);
	return rc;
}

int cdsctl_init(int argc, char **argv)
{
	const char *dir = cdsctl_datadir;
	struct cds_error err;
	uint8_t hash[CDS_TOKEN_HASH_BYTES];
	const char *store = NULL;
	uint64_t expected;
	unsigned bits;
	bool created, sealed;
	int rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (parse(argc, argv, &bits, &expected, &store))
		return CLI_USAGE;
	rc = cdsctl_dir_fresh(dir);
	if (rc)
		return rc;
	sealed = store && strcmp(store, "sqlite") != 0;
	if (cds_store_create_at(dir, bits, store, &err) ||
	    (sealed ? seal_keys(dir, &err) : file_keys(dir, &err)) ||
	    cds_metrics_token_load(dir, hash, &created, &err) ||
	    cds_ledger_key_ensure(dir, &err) || transparency_key(dir, &err))
		return cli_error(&err);
	if (sealed)
		printf("created store in %s, recorded in %s/store.conf", store, dir);
	else
		printf("created store %s/cds.sqlite3", dir);
	printf(" (prefix bits %u: %u buckets)\n", bits, 1u << bits);
	if (sealed) {
		printf("created the key-encryption key %s/keys/kek (mode 0600)\n",
		       dir);
		printf("created OPRF key epoch 1 and Oblivious HTTP gateway key 1, "
		       "sealed under it in the database\n");
	} else {
		printf("created OPRF key epoch 1 in %s/keys\n", dir);
		printf("created Oblivious HTTP gateway key 1 in %s/keys\n", dir);
	}
	printf("wrote the admin token to %s/admin.token (mode 0600)\n", dir);
	printf("wrote the metrics token to %s/metrics.token (mode 0600)\n", dir);
	if (sealed)
		printf("created the ledger key and the transparency key, sealed "
		       "in the database\n");
	else
		printf("created the ledger key %s/keys/ledger.key and the "
		       "transparency key %s/keys/transparency.key (mode 0600)\n",
		       dir, dir);
	return CLI_OK;
}

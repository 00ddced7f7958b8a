/*
 * cdsctl_account.c: `cdsctl account add|remove`: one account at a time.
 *
 *   cdsctl --data DIR account add --identity-key B64 HANDLE...
 *       prints {"account":HEX,"token":T}: the only time the token is shown
 *   cdsctl --data DIR account remove ACCOUNT
 *
 * Arguments are checked before the store is opened: a non-canonical handle
 * or a malformed key is a usage error (exit 2) that quotes it.  A running
 * cdsd sees the change through the store's change log.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cdsctl.h"
#include "cdsctl_args.h"
#include "cli.h"
#include "core/codec.h"
#include "core/handle.h"
#include "store/store.h"

static const char usage_head[] =
	"usage: cdsctl --data DIR account COMMAND ...\n"
	"\n"
	"Add or remove one account.";

static const char add_usage[] =
	"usage: cdsctl --data DIR account add --identity-key B64 HANDLE...\n"
	"\n"
	"Register an account with its identity key (32 bytes, padded base64) and\n"
	"one or more canonical handles (tel:+15551234567, mailto:a@example.org).\n"
	"Prints {\"account\":HEX,\"token\":T}; the token is shown only here.\n";

static const char remove_usage[] =
	"usage: cdsctl --data DIR account remove ACCOUNT\n"
	"\n"
	"Remove an account (32 hex digits) and all its handles.\n";

static int print_created(const struct cds_new_account *a)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	json_t *o;
	char *s;

	cds_hex_encode(hex, a->id, sizeof(a->id));
	o = json_pack("{s:s, s:s}", "account", hex, "token", a->token);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return cli_fail("out of memory printing the new account %s", hex);
	puts(s);
	sodium_memzero(s, strlen(s));
	free(s);
	return fflush(stdout) == 0 ? CLI_OK
				   : cli_fail("cannot write the token to stdout");
}

/* Parse argv into the key and the handle list (argv is reused for it). */
static int add_args(int argc, char **argv, struct cds_new_account *a,
		    const char **handles)
{
	const char *key = NULL;
	struct cds_error err;
	size_t n = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		r = args_option(argc, argv, &i, "--identity-key", &key);
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-')
			return cli_usage("unknown option '%s' (try --help)", argv[i]);
		if (cds_handle_check(argv[i], strlen(argv[i]), NULL, &err))
			return cli_usage("%s", err.msg);
		handles[n++] = argv[i];
	}
	if (!key)
		return cli_usage("--identity-key B64 is required");
	if (n == 0)
		return cli_usage("give at least one HANDLE");
	if (cds_b64_decode_exact(a->identity_key, sizeof(a->identity_key), key,
				 strlen(key), "identity key", &err))
		return cli_usage("--identity-key '%.60s': %s", key, err.msg);
	a->handles = handles;
	a->n_handles = n;
	return CLI_OK;
}

static int add(int argc, char **argv)
{
	struct cds_new_account a = {0};
	struct cds_store *s = NULL;
	struct cds_error err;
	const char **handles;
	int rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(add_usage, stdout);
		return CLI_OK;
	}
	handles = calloc((size_t)argc, sizeof(*handles));
	if (!handles)
		return cli_fail("out of memory");
	rc = add_args(argc, argv, &a, handles);
	if (rc)
		goto out;
	if (cds_store_open(&s, cdsctl_datadir, &err) ||
	    cds_store_accounts_create(s, &a, 1, &err)) {
		rc = cli_error(&err);
		goto out;
	}
	rc = print_created(&a);
out:
	sodium_memzero(a.token, sizeof(a.token));
	cds_store_close(s);
	free(handles);
	return rc;
}

static const char *hex_of(const uint8_t id[static CDS_ACCOUNT_ID_BYTES])
{
	static char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	return hex;
}

static int remove_cmd(int argc, char **argv)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	struct cds_store *s = NULL;
	struct cds_error err;
	int rc = CLI_OK;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(remove_usage, stdout);
		return CLI_OK;
	}
	if (argc != 2)
		return cli_usage("give exactly one ACCOUNT (try --help)");
	if (cds_hex_decode_exact(id, sizeof(id), argv[1], strlen(argv[1]),
				 "account", &err))
		return cli_usage("account '%.60s': %s", argv[1], err.msg);
	if (cds_store_open(&s, cdsctl_datadir, &err) ||
	    cds_store_account_delete(s, id, &err))
		rc = cli_error(&err);
	else
		printf("removed account %s\n", hex_of(id));
	cds_store_close(s);
	return rc;
}

static const struct cli_cmd commands[] = {
	{"add", add, "register an account with its identity key and handles"},
	{"remove", remove_cmd, "remove an account and its handles"},
	{NULL, NULL, NULL},
};

int cdsctl_account(int argc, char **argv)
{
	return cli_dispatch(commands, argc - 1, argv + 1, usage_head);
}

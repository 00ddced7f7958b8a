/*
 * cdsd.c: the cds server.  Parses options into a struct cds_server_config,
 * starts the server (lib/server), waits for SIGTERM or SIGINT, then drains
 * and stops it.  Everything else lives in the library.
 *
 * Core dumps are turned off before anything secret is read
 * (core/secrets.h).
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * starts) and taken synchronously with sigwait, so no handler ever runs in
 * the middle of a request.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/log.h"
#include "core/secrets.h"
#include "core/timeutil.h"
#include "server/server.h"

static const char usage_text[] =
	"usage: cdsd --data DIR [OPTIONS]\n"
	"\n"
	"The cds directory server: HTTP/JSON API v1 (docs/api.md).\n"
	"\n"
	"  --data DIR               data directory made by 'cdsctl init' (required)\n"
	"  --listen HOST:PORT       address to serve (default 127.0.0.1:8080; [::1]:8080)\n"
	"  --plain-lookup on|off    serve POST /v1/lookup (default off)\n"
	"  --log-ip full|truncated|none\n"
	"                           client address in the query log (default truncated)\n"
	"  --retention-days N       keep the query log N days, 0 = no log (default 30)\n"
	"  --durability batch|sync  query-log commit mode (default batch)\n"
	"  --threads N              HTTP worker threads (default 2)\n"
	"  --epoch-grace SECONDS    serve the previous key epoch this long (default 86400)\n"
	"  --max-batch N            elements or handles per request (default 1024)\n"
	"  --max-prefixes N         prefixes per POST /v1/buckets (default 256)\n"
	"  --max-body BYTES         request body limit (default 1048576)\n"
	"  --max-conns N            concurrent connections (default 4096)\n"
	"  --max-conns-per-ip N     concurrent connections per address (default 1024)\n"
	"  --timeout SECONDS        idle connection timeout (default 10)\n"
	"  --request-deadline SECONDS\n"
	"                           time to receive a whole request, headers and\n"
	"                           body, however it trickles in (default 30)\n"
	"  --conn-memory BYTES      memory per connection, bounds the headers (default 32768)\n"
	"  --rate-allowance N       OPRF elements/lookup handles a new account may use (default 50000)\n"
	"  --rate-refill N          tokens refilled per day (default 5000)\n"
	"  --bucket-bytes-per-ip N  bucket reply bytes per second per address, 0 = no limit\n"
	"                           (default 8388608: 8 MiB/s)\n"
	"  --bucket-burst-bytes N   burst of that limit (default 268435456: 256 MiB)\n"
	"  --max-bucket-reply BYTES cap of one POST /v1/buckets reply (default 16777216)\n"
	"  --bucket-max-age SECONDS Cache-Control max-age of buckets (default 5)\n"
	"  --trusted-proxy CIDR     believe X-Forwarded-For from peers in CIDR (for\n"
	"                           the query log and per-address limits); repeatable\n"
	"  --metrics-listen HOST:PORT\n"
	"                           also serve GET /metrics here, without a token\n"
	"                           (on --listen it needs DIR/metrics.token)\n"
	"  --registration open|closed\n"
	"                           POST /v1/register creates accounts (default open)\n"
	"  --verify-smtp URL        send e-mail codes via smtp://HOST:PORT or smtps://\n"
	"  --verify-from ADDR       sender address of those e-mails\n"
	"  --verify-sms-webhook URL send phone codes by a JSON POST to an SMS gateway\n"
	"  --verify-sms-token-file FILE\n"
	"                           bearer token of that webhook (first line)\n"
	"  --verify-outbox DIR      write codes as files in DIR (development, tests)\n"
	"  --verify-per-handle N    codes sent per handle per hour (default 5)\n"
	"  --verify-per-ip N        verifications per address per hour (default 30)\n"
	"  --account-writes N       changes per account per hour (default 60)\n"
	"  --verify-timeout SECONDS delivery timeout per code (default 10)\n"
	"  --verify-ttl SECONDS     code lifetime (default 600; for tests only)\n"
	"  --no-change-notify       PostgreSQL: learn of other replicas' changes by\n"
	"                           polling only (every second), not by LISTEN\n"
	"  --prune-interval SECONDS delete change-log rows no consumer needs this\n"
	"                           often, 0 = never (default 3600)\n"
	"  --transparency-interval MS\n"
	"                           seal a directory version at most this often\n"
	"                           while anything changed, 100..60000 (default 1000)\n"
	"  --index-threads N        threads for index builds (default: all cores)\n"
	"  --drain SECONDS          on SIGTERM, wait this long for requests in flight (default 10)\n"
	"  --quiet                  no index-build progress\n"
	"  --verbose                debug messages\n"
	"  -h, --help               this text\n";

/* Enough for any real proxy chain; more is a configuration mistake. */
#define MAX_TRUSTED_PROXIES 64

struct opts {
	struct cds_server_config cfg;
	long drain_s;
	const char *proxies[MAX_TRUSTED_PROXIES];
};

typedef int (*opt_fn)(struct opts *o, const char *name, const char *v);

static int parse_choice(int *out, const char *v, const char *name,
			const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (!strcmp(v, choices[i])) {
			*out = i;
			return 0;
		}
	cli_usage("%s: '%s' is not one of the allowed values (try --help)",
		  name, v);
	return -1;
}

static int parse_double(double *out, const char *v, const char *name)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !isfinite(d) || d < 0 || d > 1e15) {
		cli_usage("%s: '%s' is not a number from 0 to 1e15", name, v);
		return -1;
	}
	*out = d;
	return 0;
}

static int opt_registration(struct opts *o, const char *name, const char *v)
{
	static const char *const c[] = {"open", "closed", NULL};
	int i;

	if (parse_choice(&i, v, name, c))
		return -1;
	o->cfg.registration_closed = i == 1;
	return 0;
}

static int opt_onoff(struct opts *o, const char *name, const char *v)
{
	static const char *const c[] = {"off", "on", NULL};
	int i;

	if (parse_choice(&i, v, name, c))
		return -1;
	o->cfg.plain_lookup = i == 1;
	return 0;
}

static int opt_log_ip(struct opts *o, const char *name, const char *v)
{
	static const char *const c[] = {"full", "truncated", "none", NULL};
	int i;

	if (parse_choice(&i, v, name, c))
		return -1;
	o->cfg.log_ip = (enum cds_qlog_ip_policy)i;
	return 0;
}

static int opt_durability(struct opts *o, const char *name, const char *v)
{
	static const char *const c[] = {"batch", "sync", NULL};
	int i;

	if (parse_choice(&i, v, name, c))
		return -1;
	o->cfg.durability = (enum cds_qlog_durability)i;
	return 0;
}

/* Whole-number options: where each one goes, and in what unit. */
enum num_kind { NUM_UNSIGNED, NUM_SIZE, NUM_INT, NUM_LONG, NUM_SECONDS_US };

static const struct {
	const char *name;
	long min, max;
	enum num_kind kind;
	size_t off; /* in struct opts */
} numbers[] = {
	{"--retention-days", 0, 36500, NUM_INT, offsetof(struct opts, cfg.retention_days)},
	{"--threads", 1, 256, NUM_UNSIGNED, offsetof(struct opts, cfg.threads)},
	{"--index-threads", 0, 256, NUM_UNSIGNED, offsetof(struct opts, cfg.index_threads)},
	{"--prune-interval", 0, 365L * 86400, NUM_UNSIGNED, offsetof(struct opts, cfg.prune_interval_s)},
	{"--epoch-grace", 0, 365L * 86400, NUM_SECONDS_US, offsetof(struct opts, cfg.epoch_grace_us)},
	{"--transparency-interval", 100, 60000, NUM_UNSIGNED, offsetof(struct opts, cfg.transparency_interval_ms)},
	{"--max-batch", 1, 65536, NUM_SIZE, offsetof(struct opts, cfg.max_batch)},
	{"--max-prefixes", 1, 65536, NUM_SIZE, offsetof(struct opts, cfg.max_prefixes)},
	{"--max-body", 64, 64L << 20, NUM_SIZE, offsetof(struct opts, cfg.max_body)},
	{"--max-conns", 1, 1000000, NUM_UNSIGNED, offsetof(struct opts, cfg.max_conns)},
	{"--max-conns-per-ip", 1, 1000000, NUM_UNSIGNED, offsetof(struct opts, cfg.max_conns_per_ip)},
	{"--timeout", 1, 3600, NUM_UNSIGNED, offsetof(struct opts, cfg.timeout_s)},
	{"--request-deadline", 1, 3600, NUM_UNSIGNED, offsetof(struct opts, cfg.deadline_s)},
	{"--conn-memory", 4096, 1L << 20, NUM_SIZE, offsetof(struct opts, cfg.conn_memory)},
	{"--max-bucket-reply", 4096, 1L << 30, NUM_SIZE, offsetof(struct opts, cfg.max_bucket_reply)},
	{"--bucket-max-age", 0, 86400, NUM_UNSIGNED, offsetof(struct opts, cfg.bucket_max_age)},
	{"--drain", 0, 3600, NUM_LONG, offsetof(struct opts, drain_s)},
	{"--verify-per-handle", 1, 1000, NUM_UNSIGNED, offsetof(struct opts, cfg.verify_per_handle)},
	{"--verify-timeout", 1, 300, NUM_UNSIGNED, offsetof(struct opts, cfg.verify_timeout_s)},
	{"--verify-ttl", 0, 3600, NUM_UNSIGNED, offsetof(struct opts, cfg.verify_ttl_s)},
};

static int opt_long(struct opts *o, const char *name, const char *v)
{
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		void *p = (char *)o + numbers[i].off;
		long x;

		if (strcmp(name, numbers[i].name))
			continue;
		if (cli_parse_long(&x, v, numbers[i].min, numbers[i].max, name))
			return -1;
		switch (numbers[i].kind) {
		case NUM_UNSIGNED: *(unsigned *)p = (unsigned)x; break;
		case NUM_SIZE: *(size_t *)p = (size_t)x; break;
		case NUM_INT: *(int *)p = (int)x; break;
		case NUM_LONG: *(long *)p = x; break;
		case NUM_SECONDS_US: *(int64_t *)p = x * CDS_USEC_PER_SEC; break;
		}
		return 0;
	}
	return cli_usage("internal: no table entry for %s", name), -1;
}

static int opt_double(struct opts *o, const char *name, const char *v)
{
	struct cds_server_config *c = &o->cfg;

	if (!strcmp(name, "--rate-allowance"))
		return parse_double(&c->rate_allowance, v, name);
	if (!strcmp(name, "--rate-refill"))
		return parse_double(&c->rate_refill, v, name);
	if (!strcmp(name, "--bucket-bytes-per-ip"))
		return parse_double(&c->bucket_bytes_per_ip, v, name);
	if (!strcmp(name, "--verify-per-ip"))
		return parse_double(&c->verify_per_ip, v, name);
	if (!strcmp(name, "--account-writes"))
		return parse_double(&c->writes_per_account, v, name);
	return parse_double(&c->bucket_burst_bytes, v, name);
}

static int opt_string(struct opts *o, const char *name, const char *v)
{
	static const struct {
		const char *name;
		size_t off;
	} dest[] = {
		{"--data", offsetof(struct opts, cfg.datadir)},
		{"--listen", offsetof(struct opts, cfg.listen)},
		{"--metrics-listen", offsetof(struct opts, cfg.metrics_listen)},
		{"--verify-outbox", offsetof(struct opts, cfg.verify_outbox)},
		{"--verify-smtp", offsetof(struct opts, cfg.verify_smtp)},
		{"--verify-from", offsetof(struct opts, cfg.verify_from)},
		{"--verify-sms-webhook", offsetof(struct opts, cfg.verify_sms_webhook)},
		{"--verify-sms-token-file",
		 offsetof(struct opts, cfg.verify_sms_token_file)},
	};

	for (size_t i = 0; i < sizeof(dest) / sizeof(dest[0]); i++)
		if (!strcmp(name, dest[i].name)) {
			*(const char **)((char *)o + dest[i].off) = v;
			return 0;
		}
	return cli_usage("internal: no destination for %s", name), -1;
}

/* --trusted-proxy: collected here, checked by the server at start. */
static int opt_proxy(struct opts *o, const char *name, const char *v)
{
	if (o->cfg.n_trusted_proxies == MAX_TRUSTED_PROXIES)
		return cli_usage("%s: at most %d ranges", name,
				 MAX_TRUSTED_PROXIES), -1;
	o->proxies[o->cfg.n_trusted_proxies++] = v;
	o->cfg.trusted_proxies = o->proxies;
	return 0;
}

static int opt_flag(struct opts *o, const char *name, const char *v)
{
	(void)v;
	if (!strcmp(name, "--no-change-notify"))
		o->cfg.change_notify = false;
	else if (!strcmp(name, "--quiet"))
		o->cfg.quiet = true;
	else if (!strcmp(name, "--verbose"))
		cds_log_set_level(2);
	return 0;
}

static const struct {
	const char *name;
	bool has_arg;
	opt_fn fn;
} options[] = {
	{"--data", true, opt_string},
	{"--listen", true, opt_string},
	{"--plain-lookup", true, opt_onoff},
	{"--log-ip", true, opt_log_ip},
	{"--retention-days", true, opt_long},
	{"--durability", true, opt_durability},
	{"--threads", true, opt_long},
	{"--index-threads", true, opt_long},
	{"--prune-interval", true, opt_long},
	{"--epoch-grace", true, opt_long},
	{"--transparency-interval", true, opt_long},
	{"--max-batch", true, opt_long},
	{"--max-prefixes", true, opt_long},
	{"--max-body", true, opt_long},
	{"--max-conns", true, opt_long},
	{"--max-conns-per-ip", true, opt_long},
	{"--timeout", true, opt_long},
	{"--request-deadline", true, opt_long},
	{"--conn-memory", true, opt_long},
	{"--bucket-max-age", true, opt_long},
	{"--max-bucket-reply", true, opt_long},
	{"--drain", true, opt_long},
	{"--rate-allowance", true, opt_double},
	{"--rate-refill", true, opt_double},
	{"--bucket-bytes-per-ip", true, opt_double},
	{"--bucket-burst-bytes", true, opt_double},
	{"--trusted-proxy", true, opt_proxy},
	{"--metrics-listen", true, opt_string},
	{"--registration", true, opt_registration},
	{"--verify-outbox", true, opt_string},
	{"--verify-smtp", true, opt_string},
	{"--verify-from", true, opt_string},
	{"--verify-sms-webhook", true, opt_string},
	{"--verify-sms-token-file", true, opt_string},
	{"--verify-per-handle", true, opt_long},
	{"--verify-per-ip", true, opt_double},
	{"--account-writes", true, opt_double},
	{"--verify-timeout", true, opt_long},
	{"--verify-ttl", true, opt_long},
	{"--no-change-notify", false, opt_flag},
	{"--quiet", false, opt_flag},
	{"--verbose", false, opt_flag},
};

/* One option at argv[*i] ("--name value" or "--name=value"). */
static int parse_one(struct opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *eq = strchr(a, '=');
	size_t n = eq ? (size_t)(eq - a) : strlen(a);

	for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
		const char *name = options[k].name;
		const char *v = NULL;

		if (strlen(name) != n || strncmp(a, name, n))
			continue;
		if (options[k].has_arg) {
			if (eq)
				v = eq + 1;
			else if (*i + 1 < argc)
				v = argv[++*i];
			else
				return cli_usage("%s needs a value", name), -1;
		} else if (eq) {
			return cli_usage("%s takes no value", name), -1;
		}
		return options[k].fn(o, name, v);
	}
	return cli_usage("unknown option '%s' (try --help)", a), -1;
}

/* 0 = run, 1 = help printed, -1 = usage error (already reported). */
static int parse_args(struct opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (parse_one(o, argc, argv, &i))
			return -1;
	}
	if (!o->cfg.datadir) {
		cli_usage("--data DIR is required (try --help)");
		return -1;
	}
	return 0;
}

/* Block the stop signals in this and every later thread; ignore SIGPIPE. */
static void setup_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct opts o = {.drain_s = 10};
	struct cds_server *srv = NULL;
	struct cds_error err = {0};
	sigset_t set;
	int r, sig = 0;

	cli_prog = "cdsd";
	cds_log_set_program("cdsd");
	cds_server_config_init(&o.cfg);
	r = parse_args(&o, argc, argv);
	if (r)
		return r > 0 ? CLI_OK : CLI_USAGE;
	setup_signals(&set);
	/* Before any key is read: a core dump would copy the OPRF keys. */
	if (cds_secrets_no_core_dumps(&err) ||
	    cds_server_start(&srv, &o.cfg, &err))
		return cli_error(&err);
	sigwait(&set, &sig);
	cds_log_info("%s received: draining and stopping",
		     sig == SIGINT ? "SIGINT" : "SIGTERM");
	if (cds_server_stop(srv, (unsigned)o.drain_s * 1000)) {
		cds_log_warn("stopped with errors");
		return CLI_FAIL;
	}
	cds_log_info("stopped");
	return CLI_OK;
}

/*
 * test_mirror.c: the server's mirror of the directory (lib/index/mirror*.c)
 * over a real store in a temporary directory.
 *
 * Discovery is checked the way a client does it, through the mirror's own
 * API: blind, cds_mirror_evaluate, verify the proof and finalise with the
 * published key, fetch the bucket with cds_mirror_bucket, find and open the
 * entry.  Changes are made through a second store connection, as cdsctl
 * would, and reach the mirror by cds_mirror_poll.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "crypto/entry.h"
#include "crypto/keys.h"
#include "crypto/mlog.h"
#include "crypto/thead.h"
#include "index/mirror.h"
#include "store/store.h"
#include "storetest.h"

#define N_ACCOUNTS 600
#define N_HANDLES (2 * N_ACCOUNTS)
#define BATCH 300 /* above PARALLEL_EVAL_MIN: batches use every core */

struct fixture {
	char dir[64];
	unsigned bits;
	struct cds_store *s2; /* "another process" making changes */
	char handles[N_HANDLES][24];
	uint8_t ids[N_ACCOUNTS][CDS_ACCOUNT_ID_BYTES];
	uint8_t iks[N_ACCOUNTS][CDS_IDENTITY_KEY_BYTES];
	char tokens[N_ACCOUNTS][CDS_TOKEN_MAX_BYTES];
};

static const char *cur_dir; /* the running test's data directory */

static void handle_name(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "tel:+1555%07u", i);
}

static int make_fixture(void **state, unsigned bits)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct cds_new_account *na = calloc(N_ACCOUNTS, sizeof(*na));
	const char **hp = calloc(N_HANDLES, sizeof(*hp));
	struct cds_error err;
	int rc = -1;

	if (!fx || !na || !hp)
		goto out;
	fx->bits = bits;
	strcpy(fx->dir, "/tmp/cds-test-mirror-XXXXXX");
	if (!mkdtemp(fx->dir) || storetest_create(fx->dir, bits, &err) ||
	    cds_keys_init(fx->dir, &err) ||
	    cds_store_open(&fx->s2, fx->dir, &err))
		goto out;
	for (unsigned i = 0; i < N_HANDLES; i++) {
		handle_name(fx->handles[i], sizeof(fx->handles[i]), i);
		hp[i] = fx->handles[i];
	}
	for (unsigned a = 0; a < N_ACCOUNTS; a++) {
		randombytes_buf(na[a].identity_key, CDS_IDENTITY_KEY_BYTES);
		na[a].handles = &hp[2 * a];
		na[a].n_handles = 2;
	}
	if (cds_store_accounts_create(fx->s2, na, N_ACCOUNTS, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		goto out;
	}
	for (unsigned a = 0; a < N_ACCOUNTS; a++) {
		memcpy(fx->ids[a], na[a].id, CDS_ACCOUNT_ID_BYTES);
		memcpy(fx->iks[a], na[a].identity_key, CDS_IDENTITY_KEY_BYTES);
		memcpy(fx->tokens[a], na[a].token, CDS_TOKEN_MAX_BYTES);
	}
	cur_dir = fx->dir;
	*state = fx;
	fx = NULL;
	rc = 0;
out:
	free(fx);
	free(na);
	free(hp);
	return rc;
}

static int setup6(void **state) { return make_fixture(state, 6); }
static int setup0(void **state) { return make_fixture(state, 0); }
static int setup24(void **state) { return make_fixture(state, 24); }

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	cds_store_close(fx->s2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static struct cds_mirror *open_mirror(struct fixture *fx, bool plain,
				      int64_t grace_us)
{
	struct cds_mirror_config c = {
		.datadir = fx->dir, .threads = 2, .plain_lookup = plain,
		.epoch_grace_us = grace_us,
		.quiet = true,
	};
	struct cds_mirror *m = NULL;
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_mirror_open(&m, &c, &err) != CDS_OK) {
		fprintf(stderr, "mirror open: %s\n", err.msg);
		fail();
	}
	return m;
}

static void poll_ok(struct cds_mirror *m)
{
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_mirror_poll(m, &err) != CDS_OK) {
		fprintf(stderr, "poll: %s\n", err.msg);
		fail();
	}
}

struct result {
	int state; /* 1 registered, 0 absent */
	uint8_t acct[CDS_ACCOUNT_ID_BYTES];
	uint8_t ik[CDS_IDENTITY_KEY_BYTES];
};

/* The client's private discovery of n <= BATCH handles under `epoch`. */
static void discover(struct cds_mirror *m, uint32_t epoch,
		     const char *const *h, size_t n, struct result *res)
{
	uint8_t blinds[BATCH][32], blinded[BATCH][32], evaluated[BATCH][32];
	uint8_t outs[BATCH][CDS_OPRF_OUTPUT_BYTES], proof[CDS_OPRF_PROOF_BYTES];
	const uint8_t *in[BATCH];
	size_t lens[BATCH];
	struct cds_mirror_params p;
	struct cds_error err;
	const uint8_t *pk = NULL;
	uint8_t old_pk[32];

	assert_true(n <= BATCH);
	cds_mirror_params(m, &p);
	if (epoch == p.epoch) {
		pk = p.public_key;
	} else {
		/* The previous epoch's public key: from its key file. */
		struct cds_epoch_key *keys;
		size_t nk;

		assert_int_equal(cds_keys_load(cur_dir, &keys, &nk, &err),
				 CDS_OK);
		for (size_t i = 0; i < nk; i++) {
			if (keys[i].epoch != epoch)
				continue;
			memcpy(old_pk, keys[i].pk, 32);
			pk = old_pk;
		}
		cds_keys_free(keys, nk);
		assert_non_null(pk);
	}
	for (size_t i = 0; i < n; i++) {
		in[i] = (const uint8_t *)h[i];
		lens[i] = strlen(h[i]);
		assert_int_equal(cds_oprf_blind(blinds[i], blinded[i],
						CDS_OPRF_MODE_VOPRF, in[i],
						lens[i], NULL, &err), CDS_OK);
	}
	assert_int_equal(cds_mirror_evaluate(m, epoch, &blinded[0][0], n,
					     &evaluated[0][0], proof, &err),
			 CDS_OK);
	assert_int_equal(cds_oprf_finalize(&outs[0][0], CDS_OPRF_MODE_VOPRF, pk,
					   in, lens, &blinds[0][0],
					   &blinded[0][0], &evaluated[0][0], n,
					   proof, NULL, 0, &err), CDS_OK);
	for (size_t i = 0; i < n; i++) {
		struct cds_buf b;
		const uint8_t *e;
		uint64_t v;

		cds_buf_init(&b);
		assert_int_equal(cds_mirror_bucket(m, epoch,
				 cds_bucket_of(in[i], lens[i], p.prefix_bits),
				 &b, &v, NULL, &err), CDS_OK);
		e = cds_entry_find(b.data, b.len / CDS_ENTRY_BYTES, outs[i]);
		res[i].state = 0;
		if (e) {
			assert_int_equal(cds_entry_open(res[i].acct, res[i].ik,
							e, outs[i], epoch,
							&err), CDS_OK);
			res[i].state = 1;
		}
		cds_buf_fini(&b);
	}
}

static struct result discover1(struct cds_mirror *m, uint32_t epoch,
			       const char *h)
{
	struct result r;

	discover(m, epoch, &h, 1, &r);
	return r;
}

/* Every fixture handle i in [from, to) answers its original account. */
static void assert_all_registered(struct fixture *fx, struct cds_mirror *m,
				  uint32_t epoch, unsigned from, unsigned to,
				  unsigned step)
{
	const char *h[BATCH];
	unsigned idx[BATCH];
	struct result r[BATCH];
	size_t n = 0;

	for (unsigned i = from; i < to; i += step) {
		idx[n] = i;
		h[n++] = fx->handles[i];
		if (n < BATCH && i + step < to)
			continue;
		discover(m, epoch, h, n, r);
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(r[j].state, 1);
			assert_memory_equal(r[j].acct, fx->ids[idx[j] / 2], 16);
			assert_memory_equal(r[j].ik, fx->iks[idx[j] / 2], 32);
		}
		n = 0;
	}
}

static void test_open_and_discover(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, true, 0);
	struct cds_mirror_params p;
	struct cds_mirror_stats st;
	uint8_t bad[2][32], ev[2][32], proof[64];
	struct cds_buf b;
	struct cds_error err;
	uint64_t v;
	char h[32];

	cds_mirror_params(m, &p);
	assert_int_equal(p.epoch, 1);
	assert_int_equal(p.n_epochs, 1);
	assert_int_equal(p.epochs[0], 1);
	assert_int_equal(p.prefix_bits, fx->bits);
	assert_int_equal(p.handles, N_HANDLES);
	assert_int_equal(p.accounts, N_ACCOUNTS);
	assert_true(p.seq > 0);
	cds_mirror_stats(m, &st);
	assert_int_equal(st.evaluations, N_HANDLES);
	assert_true(st.index_bytes >= (size_t)N_HANDLES * CDS_ENTRY_BYTES);
	assert_true(st.dir_bytes > 0);
	assert_false(st.building);
	assert_all_registered(fx, m, 1, 0, N_HANDLES, 1);
	for (unsigned i = N_HANDLES; i < N_HANDLES + 100; i++) {
		handle_name(h, sizeof(h), i);
		assert_int_equal(discover1(m, 1, h).state, 0);
	}
	/* Errors a request can cause. */
	randombytes_buf(bad[0], 32);
	memset(bad[1], 0xff, 32); /* not a canonical encoding */
	assert_int_equal(cds_mirror_evaluate(m, 2, &bad[0][0], 1, &ev[0][0],
					     proof, &err), CDS_ERR_EPOCH);
	assert_int_equal(cds_mirror_evaluate(m, 1, &bad[0][0], 0, &ev[0][0],
					     proof, &err), CDS_ERR_INVALID);
	cds_error_clear(&err);
	assert_int_equal(cds_mirror_evaluate(m, 1, &bad[0][0], 2, &ev[0][0],
					     proof, &err), CDS_ERR_INVALID);
	/* A bad element deep in a large (parallel) batch is named by index. */
	{
		static uint8_t big[BATCH][32], bev[BATCH][32];
		uint8_t blind[32];

		for (size_t i = 0; i < BATCH; i++)
			assert_int_equal(cds_oprf_blind(blind, big[i],
					 CDS_OPRF_MODE_VOPRF,
					 (const uint8_t *)"tel:+15550001111", 16,
					 NULL, &err), CDS_OK);
		memset(big[BATCH - 37], 0xff, 32);
		cds_error_clear(&err);
		assert_int_equal(cds_mirror_evaluate(m, 1, &big[0][0], BATCH,
						     &bev[0][0], proof, &err),
				 CDS_ERR_INVALID);
		assert_int_equal(err.index, BATCH - 37);
	}
	cds_buf_init(&b);
	assert_int_equal(cds_mirror_bucket(m, 1, 1u << fx->bits, &b, &v, NULL, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_mirror_bucket(m, 7, 0, &b, &v, NULL, &err),
			 CDS_ERR_EPOCH);
	assert_non_null(strstr(err.msg, "epoch 7"));
	cds_buf_fini(&b);
	cds_mirror_close(m);
}

static void test_auth(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, false, 0);
	struct cds_account a;
	struct cds_error err;
	char tok[CDS_TOKEN_MAX_BYTES + 8];
	size_t len;

	for (unsigned i = 0; i < N_ACCOUNTS; i += 37) {
		assert_int_equal(cds_mirror_auth(m, fx->tokens[i], &a, &err),
				 CDS_OK);
		assert_memory_equal(a.id, fx->ids[i], 16);
		assert_memory_equal(a.identity_key, fx->iks[i], 32);
	}
	/* Wrong secret. */
	strcpy(tok, fx->tokens[0]);
	len = strlen(tok);
	tok[len - 1] = tok[len - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(cds_mirror_auth(m, tok, &a, &err), CDS_ERR_AUTH);
	/* Another account's id with this secret. */
	memcpy(tok, fx->tokens[1], 32);
	tok[len - 1] = fx->tokens[0][len - 1];
	assert_int_equal(cds_mirror_auth(m, tok, &a, &err), CDS_ERR_AUTH);
	/* Unknown account. */
	memcpy(tok, "00000000000000000000000000000000", 32);
	assert_int_equal(cds_mirror_auth(m, tok, &a, &err), CDS_ERR_AUTH);
	/* Malformed. */
	assert_int_equal(cds_mirror_auth(m, "", &a, &err), CDS_ERR_AUTH);
	assert_int_equal(cds_mirror_auth(m, "nodot", &a, &err), CDS_ERR_AUTH);
	assert_int_equal(cds_mirror_auth(m, "admin.secret", &a, &err),
			 CDS_ERR_AUTH);
	assert_int_equal(cds_mirror_auth(m, NULL, &a, &err), CDS_ERR_AUTH);
	cds_mirror_close(m);
}

static void test_plain_lookup(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, true, 0);
	struct cds_account a;
	char h[32];

	for (unsigned i = 0; i < N_HANDLES; i++) {
		assert_true(cds_mirror_lookup(m, fx->handles[i],
					      strlen(fx->handles[i]), &a));
		assert_memory_equal(a.id, fx->ids[i / 2], 16);
		assert_memory_equal(a.identity_key, fx->iks[i / 2], 32);
	}
	handle_name(h, sizeof(h), N_HANDLES);
	assert_false(cds_mirror_lookup(m, h, strlen(h), &a));
	assert_false(cds_mirror_lookup(m, fx->handles[0], 10, &a));
	/* The batched form answers exactly as one lookup at a time: every
	 * third handle is unregistered, over more than one prefetch round. */
	{
		const char *hs[CDS_MIRROR_LOOKUP_MAX];
		char unreg[CDS_MIRROR_LOOKUP_MAX][32];
		struct cds_account many[CDS_MIRROR_LOOKUP_MAX];
		bool found[CDS_MIRROR_LOOKUP_MAX];

		for (unsigned i = 0; i < CDS_MIRROR_LOOKUP_MAX; i++) {
			handle_name(unreg[i], sizeof(unreg[i]), N_HANDLES + i);
			hs[i] = i % 3 == 2 ? unreg[i] : fx->handles[i];
		}
		cds_mirror_lookup_many(m, hs, CDS_MIRROR_LOOKUP_MAX, many, found);
		for (unsigned i = 0; i < CDS_MIRROR_LOOKUP_MAX; i++) {
			assert_int_equal(found[i], i % 3 != 2);
			if (found[i]) {
				assert_memory_equal(many[i].id, fx->ids[i / 2], 16);
				assert_memory_equal(many[i].identity_key,
						    fx->iks[i / 2], 32);
			}
		}
	}
	cds_mirror_close(m);
	/* Off: no map at all. */
	m = open_mirror(fx, false, 0);
	assert_false(cds_mirror_lookup(m, fx->handles[0],
				       strlen(fx->handles[0]), &a));
	{
		const char *hs[1] = {fx->handles[0]};
		bool found[1] = {true};

		cds_mirror_lookup_many(m, hs, 1, &a, found);
		assert_false(found[0]);
	}
	cds_mirror_close(m);
}

struct bucket_copy {
	size_t n;
	uint8_t **bytes;
	size_t *len;
	uint64_t *version;
};

static void copy_buckets(struct cds_mirror *m, uint32_t epoch,
			 struct bucket_copy *c)
{
	struct cds_mirror_params p;
	struct cds_error err;

	cds_mirror_params(m, &p);
	c->n = (size_t)1 << p.prefix_bits;
	c->bytes = calloc(c->n, sizeof(*c->bytes));
	c->len = calloc(c->n, sizeof(*c->len));
	c->version = calloc(c->n, sizeof(*c->version));
	assert_non_null(c->version);
	for (size_t i = 0; i < c->n; i++) {
		struct cds_buf b;

		cds_buf_init(&b);
		assert_int_equal(cds_mirror_bucket(m, epoch, (uint32_t)i, &b,
						   &c->version[i], NULL, &err),
				 CDS_OK);
		c->bytes[i] = cds_buf_steal(&b, &c->len[i]);
		cds_buf_fini(&b);
	}
}

static void free_copy(struct bucket_copy *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->bytes[i]);
	free(c->bytes);
	free(c->len);
	free(c->version);
}

/* Buckets whose bytes differ; asserts versions differ exactly there. */
/*
 * Buckets whose bytes differ.  Within one process a bucket's ETag version
 * follows its bytes; across a restart only the bytes are promised (the
 * published view is reloaded from the store's history, its versions are
 * the new process's own).
 */
static size_t diff_buckets_in(const struct bucket_copy *a,
			      const struct bucket_copy *b, bool versions)
{
	size_t changed = 0;

	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		bool same = a->len[i] == b->len[i] &&
			    (a->len[i] == 0 ||
			     memcmp(a->bytes[i], b->bytes[i], a->len[i]) == 0);

		if (same && versions) {
			assert_int_equal(a->version[i], b->version[i]);
		} else if (!same) {
			if (versions)
				assert_true(a->version[i] != b->version[i]);
			changed++;
		}
	}
	return changed;
}

static size_t diff_buckets(const struct bucket_copy *a,
			   const struct bucket_copy *b)
{
	return diff_buckets_in(a, b, true);
}

static void test_incremental(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, true, 0);
	struct cds_new_account na = { 0 };
	const char *nh[] = { "tel:+4915112345678", "mailto:new@example.org" };
	const char *add[] = { "mailto:zero@example.org" };
	const char *rem[] = { fx->handles[0] };
	uint8_t ik2[32];
	struct bucket_copy before, after;
	struct cds_mirror_params p0, p1;
	struct cds_account a;
	struct cds_error err;
	struct result r;

	cds_mirror_params(m, &p0);
	copy_buckets(m, 1, &before);
	/* A new account with two handles. */
	randombytes_buf(na.identity_key, 32);
	na.handles = nh;
	na.n_handles = 2;
	assert_int_equal(cds_store_accounts_create(fx->s2, &na, 1, &err),
			 CDS_OK);
	assert_int_equal(cds_mirror_auth(m, na.token, &a, &err), CDS_ERR_AUTH);
	poll_ok(m);
	copy_buckets(m, 1, &after);
	assert_true(diff_buckets(&before, &after) >= 1);
	assert_true(diff_buckets(&before, &after) <= 2);
	for (int i = 0; i < 2; i++) {
		r = discover1(m, 1, nh[i]);
		assert_int_equal(r.state, 1);
		assert_memory_equal(r.acct, na.id, 16);
		assert_memory_equal(r.ik, na.identity_key, 32);
		assert_true(cds_mirror_lookup(m, nh[i], strlen(nh[i]), &a));
	}
	assert_int_equal(cds_mirror_auth(m, na.token, &a, &err), CDS_OK);
	cds_mirror_params(m, &p1);
	assert_true(p1.seq > p0.seq);
	assert_int_equal(p1.handles, N_HANDLES + 2);
	assert_int_equal(p1.accounts, N_ACCOUNTS + 1);
	/* A poll with nothing new changes nothing. */
	free_copy(&before);
	poll_ok(m);
	copy_buckets(m, 1, &before);
	assert_int_equal(diff_buckets(&after, &before), 0);
	free_copy(&after);
	/* Account 0 gains one handle and loses another. */
	assert_int_equal(cds_store_handles_update(fx->s2, fx->ids[0], add, 1,
						  rem, 1, &err), CDS_OK);
	poll_ok(m);
	r = discover1(m, 1, add[0]);
	assert_int_equal(r.state, 1);
	assert_memory_equal(r.acct, fx->ids[0], 16);
	assert_int_equal(discover1(m, 1, rem[0]).state, 0);
	assert_false(cds_mirror_lookup(m, rem[0], strlen(rem[0]), &a));
	assert_true(cds_mirror_lookup(m, add[0], strlen(add[0]), &a));
	assert_all_registered(fx, m, 1, 1, N_HANDLES, 13);
	/* Account 1 re-keyed: its entries open to the new key. */
	randombytes_buf(ik2, sizeof(ik2));
	assert_int_equal(cds_store_account_set_key(fx->s2, fx->ids[1], ik2,
						   &err), CDS_OK);
	poll_ok(m);
	for (int i = 2; i < 4; i++) {
		r = discover1(m, 1, fx->handles[i]);
		assert_int_equal(r.state, 1);
		assert_memory_equal(r.ik, ik2, 32);
	}
	assert_int_equal(cds_mirror_auth(m, fx->tokens[1], &a, &err), CDS_OK);
	assert_memory_equal(a.identity_key, ik2, 32);
	/* Account 2 deleted. */
	assert_int_equal(cds_store_account_delete(fx->s2, fx->ids[2], &err),
			 CDS_OK);
	poll_ok(m);
	assert_int_equal(discover1(m, 1, fx->handles[4]).state, 0);
	assert_int_equal(discover1(m, 1, fx->handles[5]).state, 0);
	assert_int_equal(cds_mirror_auth(m, fx->tokens[2], &a, &err),
			 CDS_ERR_AUTH);
	assert_false(cds_mirror_lookup(m, fx->handles[4],
				       strlen(fx->handles[4]), &a));
	cds_mirror_params(m, &p1);
	assert_int_equal(p1.handles, N_HANDLES + 2 + 1 - 1 - 2);
	assert_int_equal(p1.accounts, N_ACCOUNTS);
	free_copy(&before);
	cds_mirror_close(m);
}

static bool file_exists(const char *dir, const char *fmt, uint32_t epoch)
{
	char path[256], name[64];

	snprintf(name, sizeof(name), fmt, epoch);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_rotation(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, false, CDS_USEC_PER_SEC);
	struct cds_new_account na = { 0 };
	const char *nh[] = { "tel:+33612345678" };
	struct cds_mirror_params p;
	struct cds_error err;
	uint8_t el[32], ev[32], proof[64];
	uint32_t e2 = 0;
	int64_t t0;
	struct result r;

	assert_int_equal(cds_keys_rotate(fx->dir, &e2, &err), CDS_OK);
	assert_int_equal(e2, 2);
	poll_ok(m); /* notices the key, starts the build */
	/* A change while the new index is being built must reach it too. */
	randombytes_buf(na.identity_key, 32);
	na.handles = nh;
	na.n_handles = 1;
	assert_int_equal(cds_store_accounts_create(fx->s2, &na, 1, &err),
			 CDS_OK);
	t0 = cds_monotonic_us();
	do {
		usleep(20000);
		poll_ok(m);
		cds_mirror_params(m, &p);
	} while (p.epoch != 2 && cds_monotonic_us() - t0 < 30 * CDS_USEC_PER_SEC);
	assert_int_equal(p.epoch, 2);
	assert_int_equal(p.n_epochs, 2);
	assert_int_equal(p.epochs[0], 2);
	assert_int_equal(p.epochs[1], 1);
	/* Both epochs answer, each with its own key. */
	assert_all_registered(fx, m, 2, 0, N_HANDLES, 7);
	assert_all_registered(fx, m, 1, 3, N_HANDLES, 11);
	for (uint32_t e = 1; e <= 2; e++) {
		r = discover1(m, e, nh[0]);
		assert_int_equal(r.state, 1);
		assert_memory_equal(r.acct, na.id, 16);
	}
	/* After the grace period only the new epoch is served. */
	usleep(1100000);
	poll_ok(m);
	cds_mirror_params(m, &p);
	assert_int_equal(p.n_epochs, 1);
	assert_int_equal(p.epochs[0], 2);
	randombytes_buf(el, 32);
	assert_int_equal(cds_mirror_evaluate(m, 1, el, 1, ev, proof, &err),
			 CDS_ERR_EPOCH);
	assert_false(file_exists(fx->dir, "keys/epoch-%u.key", 1));
	assert_true(file_exists(fx->dir, "keys/epoch-%u.key", 2));
	assert_all_registered(fx, m, 2, 1, N_HANDLES, 5);
	cds_mirror_close(m);
	/* A restart serves epoch 2 from the store's history. */
	m = open_mirror(fx, false, CDS_USEC_PER_SEC);
	cds_mirror_params(m, &p);
	assert_int_equal(p.epoch, 2);
	assert_int_equal(p.n_epochs, 1);
	r = discover1(m, 2, nh[0]);
	assert_int_equal(r.state, 1);
	cds_mirror_close(m);
}

/* A restart within the grace period serves the previous epoch again. */
static void test_restart_within_grace(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m;
	struct cds_mirror_params p;
	struct cds_error err;
	uint32_t e2;
	int64_t t0;

	assert_int_equal(cds_keys_rotate(fx->dir, &e2, &err), CDS_OK);
	m = open_mirror(fx, false, 60 * CDS_USEC_PER_SEC);
	t0 = cds_monotonic_us();
	do {
		usleep(20000);
		poll_ok(m);
		cds_mirror_params(m, &p);
	} while (p.n_epochs < 2 && cds_monotonic_us() - t0 < 30 * CDS_USEC_PER_SEC);
	assert_int_equal(p.epoch, 2);
	assert_int_equal(p.n_epochs, 2);
	assert_int_equal(p.epochs[1], 1);
	assert_all_registered(fx, m, 1, 0, N_HANDLES, 9);
	assert_all_registered(fx, m, 2, 0, N_HANDLES, 9);
	assert_true(file_exists(fx->dir, "keys/epoch-%u.key", 1));
	cds_mirror_close(m);
}

/*
 * A restart evaluates nothing: the view comes from the store's history and
 * the sealer's working index is a copy of it.  Changes made while no server
 * ran are replayed over that copy, so the next version changes exactly
 * their buckets; every other bucket keeps its bytes (nonces included).
 */
static void test_restart(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, false, 0);
	struct bucket_copy first, again;
	struct cds_mirror_stats st;
	const char *add[] = { "mailto:snap@example.org" };
	const char *rem[] = { fx->handles[10] };
	struct cds_error err;
	uint32_t ba, br;

	cds_mirror_stats(m, &st);
	assert_int_equal(st.evaluations, N_HANDLES);
	copy_buckets(m, 1, &first);
	cds_mirror_close(m);
	m = open_mirror(fx, false, 0);
	cds_mirror_stats(m, &st);
	assert_int_equal(st.evaluations, 0);
	copy_buckets(m, 1, &again);
	assert_int_equal(diff_buckets_in(&first, &again, false), 0);
	free_copy(&again);
	assert_all_registered(fx, m, 1, 0, N_HANDLES, 3);
	cds_mirror_close(m);
	/* Changes while no server runs: replayed from the change log. */
	assert_int_equal(cds_store_handles_update(fx->s2, fx->ids[5], add, 1,
						  rem, 1, &err), CDS_OK);
	m = open_mirror(fx, false, 0);
	cds_mirror_stats(m, &st);
	assert_int_equal(st.evaluations, 2);
	assert_int_equal(discover1(m, 1, add[0]).state, 1);
	assert_int_equal(discover1(m, 1, rem[0]).state, 0);
	copy_buckets(m, 1, &again);
	ba = cds_bucket_of((const uint8_t *)add[0], strlen(add[0]), fx->bits);
	br = cds_bucket_of((const uint8_t *)rem[0], strlen(rem[0]), fx->bits);
	assert_int_equal(diff_buckets_in(&first, &again, false),
			 ba == br ? 1 : 2);
	free_copy(&again);
	cds_mirror_close(m);
	free_copy(&first);
}

/*
 * Behind a balancer a client may get a bucket at version V from the sealer,
 * then ask a replica still at V - 1 for V's consistency proof: the replica
 * reads what it has not followed from the store.  (PostgreSQL only: there
 * the second mirror is a follower; on SQLite every mirror seals.)
 */
static void test_proof_ahead_of_follower(void **state)
{
	struct fixture *fx = *state;
	uint8_t pa[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	uint8_t pb[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	const char *add[] = { "mailto:ahead@example.org" };
	struct cds_mirror *a, *b;
	struct cds_thead ha, hb;
	struct cds_error err;
	size_t la = 0, lb = 0;

	if (!storetest_pg())
		skip();
	a = open_mirror(fx, false, 0); /* the sealer: seals version 1 */
	b = open_mirror(fx, false, 0); /* a follower, loads version 1 */
	assert_int_equal(cds_store_handles_update(fx->s2, fx->ids[1], add, 1,
						  NULL, 0, &err), CDS_OK);
	poll_ok(a);
	assert_true(cds_mirror_thead(a, &ha));
	assert_true(cds_mirror_thead(b, &hb));
	assert_int_equal(hb.version + 1, ha.version); /* b has not polled */
	assert_int_equal(cds_mirror_tconsistency(b, NULL, 1, ha.version, pb,
						 &lb, &err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_mirror_tconsistency(b, fx->s2, hb.version,
						 ha.version, pb, &lb, &err),
			 CDS_OK);
	assert_int_equal(cds_mirror_tconsistency(a, NULL, hb.version,
						 ha.version, pa, &la, &err),
			 CDS_OK);
	assert_int_equal(lb, la);
	assert_memory_equal(pb, pa, la * CDS_HASH_BYTES);
	assert_int_equal(cds_mlog_verify_consistency(hb.version, ha.version,
						     hb.log_root, ha.log_root,
						     (const uint8_t (*)[CDS_HASH_BYTES])pb,
						     lb, &err), CDS_OK);
	/* A version sealed nowhere is not found, store or not. */
	assert_int_equal(cds_mirror_tconsistency(b, fx->s2, 1, ha.version + 1,
						 pb, &lb, &err),
			 CDS_ERR_NOT_FOUND);
	poll_ok(b);
	assert_true(cds_mirror_thead(b, &hb));
	assert_int_equal(hb.version, ha.version);
	cds_mirror_close(b);
	cds_mirror_close(a);
}

static void test_prefix_edge(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, true, 0);
	struct cds_mirror_params p;
	struct cds_buf b;
	struct cds_error err;
	uint64_t v;

	cds_mirror_params(m, &p);
	assert_int_equal(p.prefix_bits, fx->bits);
	assert_all_registered(fx, m, 1, 0, N_HANDLES, 4);
	cds_buf_init(&b);
	assert_int_equal(cds_mirror_bucket(m, 1, (1u << fx->bits) - 1, &b, &v, NULL,
					   &err), CDS_OK);
	assert_int_equal(cds_mirror_bucket(m, 1, 1u << fx->bits, &b, &v, NULL, &err),
			 CDS_ERR_INVALID);
	if (fx->bits == 0) {
		cds_buf_reset(&b);
		assert_int_equal(cds_mirror_bucket(m, 1, 0, &b, &v, NULL, &err),
				 CDS_OK);
		assert_int_equal(b.len, (size_t)N_HANDLES * CDS_ENTRY_BYTES);
	}
	cds_buf_fini(&b);
	cds_mirror_close(m);
}

struct reader {
	struct cds_mirror *m;
	struct fixture *fx;
	atomic_int stop;
	unsigned long rounds;
	int failures;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct cds_error err;
	struct cds_account a;
	uint8_t el[32], ev[32], proof[64], sk[32];

	crypto_core_ristretto255_scalar_random(sk);
	crypto_scalarmult_ristretto255_base(el, sk);
	while (!atomic_load(&rd->stop)) {
		struct cds_buf b;
		uint64_t v;
		unsigned i = (unsigned)(rd->rounds % N_ACCOUNTS);

		cds_buf_init(&b);
		if (cds_mirror_bucket(rd->m, 1, (uint32_t)(rd->rounds & 63), &b,
				      &v, NULL, &err) ||
		    cds_mirror_auth(rd->m, rd->fx->tokens[i], &a, &err) ||
		    cds_mirror_evaluate(rd->m, 1, el, 1, ev, proof, &err))
			rd->failures++;
		(void)cds_mirror_lookup(rd->m, rd->fx->handles[2 * i], 16, &a);
		cds_buf_fini(&b);
		rd->rounds++;
	}
	return NULL;
}

/* Readers on two threads while the poller applies changes. */
static void test_concurrent_readers(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror *m = open_mirror(fx, true, 0);
	struct reader rd[2] = { { .m = m, .fx = fx }, { .m = m, .fx = fx } };
	pthread_t th[2];
	struct cds_error err;
	char h[32];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_main,
						&rd[i]), 0);
	for (unsigned i = 0; i < 40; i++) {
		const char *add[1] = { h };

		handle_name(h, sizeof(h), 5000000 + i);
		assert_int_equal(cds_store_handles_update(fx->s2,
				 fx->ids[i + 10], add, 1, NULL, 0, &err),
				 CDS_OK);
		poll_ok(m);
	}
	for (int i = 0; i < 2; i++) {
		atomic_store(&rd[i].stop, 1);
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].failures, 0);
		assert_true(rd[i].rounds > 0);
	}
	handle_name(h, sizeof(h), 5000039);
	assert_int_equal(discover1(m, 1, h).state, 1);
	cds_mirror_close(m);
}

static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	struct cds_mirror_config c = { .datadir = NULL, .quiet = true };
	struct cds_mirror *m = (struct cds_mirror *)1;
	struct cds_error err;
	char path[128];

	assert_int_equal(cds_mirror_open(&m, &c, &err), CDS_ERR_INVALID);
	assert_null(m);
	c.datadir = "/nonexistent/cds-test";
	assert_int_not_equal(cds_mirror_open(&m, &c, &err), CDS_OK);
	assert_null(m);
	c.datadir = fx->dir;
	c.epoch_grace_us = -1;
	assert_int_equal(cds_mirror_open(&m, &c, &err), CDS_ERR_INVALID);
	/* A store without keys. */
	c.epoch_grace_us = 0;
	snprintf(path, sizeof(path), "rm -rf '%s/keys'", fx->dir);
	assert_int_equal(system(path), 0);
	assert_int_equal(cds_mirror_open(&m, &c, &err), CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "cdsctl init"));
	assert_null(m);
	cds_mirror_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_discover, setup6,
						teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_plain_lookup, setup6,
						teardown),
		cmocka_unit_test_setup_teardown(test_incremental, setup6,
						teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_restart_within_grace,
						setup6, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_proof_ahead_of_follower,
						setup6, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_edge, setup0,
						teardown),
		cmocka_unit_test_setup_teardown(test_prefix_edge, setup24,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_readers, setup6,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup6,
						teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

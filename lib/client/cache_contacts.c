/*
 * cache_contacts.c: the contact list in the client cache.
 *
 * Invariants: contacts come back in the order saved, each with its handles
 * and problems in order; contact ids, stored as SQLite's signed 64-bit
 * integers, round-trip bit for bit; the list is replaced whole, inside the
 * caller's transaction.
 */
#include "cache_int.h"

#include <stdlib.h>
#include <string.h>

enum { ITEM_HANDLE = 0, ITEM_PROBLEM = 1 };

static enum cds_err save_items(struct cds_cache *c, sqlite3_stmt *st,
			       uint64_t id, int kind, char *const *v, size_t n,
			       struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		sqlite3_bind_int(st, 2, kind);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
		sqlite3_bind_text(st, 4, v[i], -1, SQLITE_STATIC);
		rc = cds_cache_step_done(c, st, "saving a contact", err);
	}
	return rc;
}

enum cds_err cds_cache_contacts_save(struct cds_cache *c,
				     const struct cds_contact_list *l,
				     struct cds_error *err)
{
	sqlite3_stmt *sc = NULL, *si = NULL;
	enum cds_err rc;

	rc = cds_cache_exec(c, "DELETE FROM contact_items; DELETE FROM contacts;",
			    err);
	if (!rc)
		rc = cds_cache_prepare(c, &sc,
			"INSERT INTO contacts(id, pos, name) VALUES (?, ?, ?)", err);
	if (!rc)
		rc = cds_cache_prepare(c, &si,
			"INSERT INTO contact_items(contact_id, kind, pos, value)"
			" VALUES (?, ?, ?, ?)", err);
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct cds_contact_rec *r = &l->v[i];

		sqlite3_bind_int64(sc, 1, (sqlite3_int64)r->id);
		sqlite3_bind_int64(sc, 2, (sqlite3_int64)i);
		sqlite3_bind_text(sc, 3, r->name ? r->name : "", -1, SQLITE_STATIC);
		rc = cds_cache_step_done(c, sc, "saving a contact", err);
		if (!rc)
			rc = save_items(c, si, r->id, ITEM_HANDLE, r->handles,
					r->n_handles, err);
		if (!rc)
			rc = save_items(c, si, r->id, ITEM_PROBLEM, r->problems,
					r->n_problems, err);
	}
	if (!rc)
		rc = cds_cache_meta_set_next_id(c, l->next_id, err);
	sqlite3_finalize(sc);
	sqlite3_finalize(si);
	return rc;
}

/* Read the handles and problems of contact r. */
static enum cds_err load_items(struct cds_cache *c, sqlite3_stmt *st,
			       struct cds_contact_rec *r,
			       struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	int s;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 1);
		int kind = sqlite3_column_int(st, 0);

		if (!v)
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		else if (kind == ITEM_HANDLE)
			rc = cds_strv_add(&r->handles, &r->n_handles, v);
		else
			rc = cds_strv_add(&r->problems, &r->n_problems, v);
		if (rc == CDS_ERR_NOMEM)
			cds_fail(err, rc, "out of memory loading contacts");
	}
	if (!rc && s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "loading contacts");
	sqlite3_reset(st);
	return rc;
}

static enum cds_err load_one(struct cds_cache *c, sqlite3_stmt *sc,
			     sqlite3_stmt *si, struct cds_contact_list *l,
			     struct cds_error *err)
{
	struct cds_contact_rec r;
	const char *name = (const char *)sqlite3_column_text(sc, 1);
	enum cds_err rc;

	memset(&r, 0, sizeof(r));
	r.id = (uint64_t)sqlite3_column_int64(sc, 0);
	r.name = strdup(name ? name : "");
	if (!r.name)
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory loading contacts");
	else
		rc = load_items(c, si, &r, err);
	if (!rc && r.id == 0)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "cache '%s': a contact has id 0 (damaged)", c->path);
	if (!rc)
		rc = cds_contacts_append(l, &r, err);
	cds_contact_rec_fini(&r);
	return rc;
}

enum cds_err cds_cache_contacts_load(struct cds_cache *c,
				     struct cds_contact_list *l,
				     struct cds_error *err)
{
	sqlite3_stmt *sc = NULL, *si = NULL;
	uint64_t next = 0;
	bool found = false;
	enum cds_err rc;
	int s = SQLITE_DONE;

	rc = cds_cache_prepare(c, &sc,
		"SELECT id, name FROM contacts ORDER BY pos", err);
	if (!rc)
		rc = cds_cache_prepare(c, &si,
			"SELECT kind, value FROM contact_items WHERE contact_id = ?"
			" ORDER BY kind, pos", err);
	while (!rc && (s = sqlite3_step(sc)) == SQLITE_ROW)
		rc = load_one(c, sc, si, l, err);
	if (!rc && s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "loading contacts");
	if (!rc)
		rc = cds_cache_meta_next_id(c, &next, &found, err);
	if (!rc && found && next > l->next_id)
		l->next_id = next;
	sqlite3_finalize(sc);
	sqlite3_finalize(si);
	return rc;
}

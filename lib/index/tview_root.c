/*
 * tview_root.c: rehash a tree's changed leaves level by level (tview_int.h,
 * struct tview_path), so that c changed buckets cost at most c x K node
 * hashes, each shared ancestor hashed once, with no copy of the tree: a
 * node's sibling is the next position of the same level when both changed,
 * otherwise the tree's (unchanged) node.
 */
#include "index/tview_int.h"

#include <stdlib.h>
#include <string.h>

static void level_free(struct tview_path *p, unsigned level)
{
	free(p->pos[level]);
	free(p->h[level]);
	p->pos[level] = NULL;
	p->h[level] = NULL;
}

static enum cds_err level_alloc(struct tview_path *p, unsigned level, size_t n,
				struct cds_error *err)
{
	p->pos[level] = malloc((n ? n : 1) * sizeof(*p->pos[level]));
	p->h[level] = malloc((n ? n : 1) * sizeof(*p->h[level]));
	p->n[level] = n;
	if (!p->pos[level] || !p->h[level]) {
		level_free(p, level);
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot rehash %zu buckets of the tree", n);
	}
	return CDS_OK;
}

enum cds_err cds_tview_path_init(struct tview_path *p, unsigned k, size_t n,
				 struct cds_error *err)
{
	memset(p, 0, sizeof(*p));
	p->k = k;
	return level_alloc(p, 0, n, err);
}

void cds_tview_path_fini(struct tview_path *p)
{
	for (unsigned l = 0; l <= p->k; l++)
		level_free(p, l);
}

/* Level l + 1 from level l (the parents of its positions). */
static void climb_one(struct tview_path *p, const struct cds_btree *t,
		      unsigned l)
{
	const uint32_t *pos = p->pos[l];
	uint8_t (*h)[CDS_HASH_BYTES] = p->h[l];
	size_t m = 0;

	for (size_t j = 0; j < p->n[l]; j++, m++) {
		uint32_t q = pos[j];

		p->pos[l + 1][m] = q >> 1;
		if (!(q & 1) && j + 1 < p->n[l] && pos[j + 1] == (q | 1)) {
			cds_mlog_node_hash(p->h[l + 1][m], h[j], h[j + 1]);
			j++;
		} else if (q & 1) {
			cds_mlog_node_hash(p->h[l + 1][m],
					   cds_btree_node(t, l, q ^ 1), h[j]);
		} else {
			cds_mlog_node_hash(p->h[l + 1][m], h[j],
					   cds_btree_node(t, l, q ^ 1));
		}
	}
	p->n[l + 1] = m;
}

/* Parents of level l's positions: one per distinct q >> 1. */
static size_t parents(const struct tview_path *p, unsigned l)
{
	size_t m = 0;

	for (size_t j = 0; j < p->n[l]; j++)
		if (j == 0 || p->pos[l][j] >> 1 != p->pos[l][j - 1] >> 1)
			m++;
	return m;
}

enum cds_err cds_tview_path_climb(struct tview_path *p,
				  const struct cds_btree *t,
				  uint8_t root[CDS_HASH_BYTES],
				  struct cds_error *err)
{
	enum cds_err rc;

	if (p->n[0] == 0) {
		cds_btree_root(t, root);
		return CDS_OK;
	}
	for (unsigned l = 0; l < p->k; l++) {
		rc = level_alloc(p, l + 1, parents(p, l), err);
		if (rc)
			return rc;
		climb_one(p, t, l);
	}
	memcpy(root, p->h[p->k][0], CDS_HASH_BYTES);
	return CDS_OK;
}

void cds_tview_path_write(const struct tview_path *p, struct cds_btree *t)
{
	for (unsigned l = 0; l <= p->k; l++)
		for (size_t j = 0; j < p->n[l]; j++)
			cds_btree_put_node(t, l, p->pos[l][j], p->h[l][j]);
}

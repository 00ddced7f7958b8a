/*
 * vectest.h: reading JSON known-answer vectors from $CDS_TEST_DATA/vectors
 * in cmocka tests (test_hpke.c, test_ohttp.c).  Every helper fails the
 * test on a missing field or bad hex, so a vector file that lost a value
 * cannot pass silently.
 */
#ifndef CDS_TESTS_VECTEST_H
#define CDS_TESTS_VECTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

static json_t *vec_load(const char *name)
{
	const char *dir = getenv("CDS_TEST_DATA");
	char path[512];
	json_error_t je;
	json_t *doc;

	if (!dir)
		fail_msg("CDS_TEST_DATA is not set");
	snprintf(path, sizeof(path), "%s/vectors/%s", dir, name);
	doc = json_load_file(path, 0, &je);
	if (!doc)
		fail_msg("%s: %s", path, je.text);
	return doc;
}

static const char *vec_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v || !json_is_string(v))
		fail_msg("vector field %s missing", key);
	return json_string_value(v);
}

/* Hex field key into a malloc'd buffer (*len bytes); caller frees. */
static uint8_t *vec_hex(json_t *o, const char *key, size_t *len)
{
	const char *s = vec_str(o, key);
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *out = malloc(cap);
	const char *end = NULL;

	assert_non_null(out);
	assert_int_equal(sodium_hex2bin(out, cap, s, strlen(s), NULL, &n, &end),
			 0);
	assert_ptr_equal(end, s + strlen(s));
	*len = n;
	return out;
}

/* Hex field key, which must be exactly n bytes, into out. */
static void vec_hex_exact(uint8_t *out, size_t n, json_t *o, const char *key)
{
	size_t len;
	uint8_t *b = vec_hex(o, key, &len);

	if (len != n)
		fail_msg("vector field %s: %zu bytes, want %zu", key, len, n);
	memcpy(out, b, n);
	free(b);
}

/* Assert that got[0..n) equals the hex field key. */
static void vec_expect(const uint8_t *got, size_t n, json_t *o,
		       const char *key)
{
	size_t len;
	uint8_t *want = vec_hex(o, key, &len);

	if (len != n || memcmp(got, want, n))
		fail_msg("%s differs from the vector", key);
	free(want);
}

#endif

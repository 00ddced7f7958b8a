/*
 * import.h: bulk import of accounts from CSV (cdsctl import).
 *
 * A file holds one account per line: "handle,identity_key_b64", the handle
 * canonical (DESIGN.md "Handles"), the key 32 bytes in padded base64.  Blank
 * lines are skipped, as is a first line "handle,identity_key[_b64]"; spaces
 * around a field and double quotes around a whole field are allowed (what
 * spreadsheets write).  Lines end in LF or CRLF.
 *
 * An import is all or nothing with respect to the file's content: the whole
 * file is checked (syntax, handles repeated within the file, handles
 * already registered) before anything is committed, and only a clean file
 * is written, in transactions of opts->batch accounts.  The one way to end
 * up half-imported is another process registering one of the file's handles
 * between the check and the write; the error then says how many lines went
 * in.  The check, the parsing of the next batch and the store's writes run
 * side by side on three threads (import_impl.h); the callbacks are called
 * on the caller's thread only.
 */
#ifndef CDS_STORE_IMPORT_H
#define CDS_STORE_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/handle.h"
#include "crypto/entry.h"
#include "store/store.h"

#define CDS_IMPORT_LINE_MAX 1024     /* bytes, without the line end */
#define CDS_IMPORT_BATCH 50000       /* default accounts per transaction */
#define CDS_IMPORT_MAX_MESSAGES 20   /* bad lines reported by name */

/* One parsed line. */
struct cds_import_record {
	char handle[CDS_HANDLE_MAX_BYTES + 1]; /* NUL-terminated */
	size_t handle_len;
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
};

/*
 * Parse one line (len bytes, without its '\n'; a final '\r' is ignored).
 * CDS_ERR_INVALID or CDS_ERR_TOO_LARGE with a message naming the bad field
 * (but not the line number, which the caller knows).  Never reads past
 * line[len); line need not be NUL-terminated.
 */
enum cds_err cds_import_parse_line(struct cds_import_record *out,
				   const char *line, size_t len,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Phases reported to the progress callback. */
enum cds_import_phase { CDS_IMPORT_CHECKING = 1, CDS_IMPORT_WRITING = 2 };

struct cds_import_opts {
	size_t batch; /* accounts per transaction; 0 = CDS_IMPORT_BATCH */
	/*
	 * Progress: while checking (every fraction of a second while the
	 * import waits for the check, and once at its end with done == total),
	 * done and total are bytes of the file; then once per committed
	 * batch, accounts.  Every CHECKING call comes before the first
	 * WRITING one.  May be NULL.
	 */
	void (*progress)(void *ctx, enum cds_import_phase phase, uint64_t done,
			 uint64_t total);
	/*
	 * Called for every account once its transaction has committed (to write
	 * its token somewhere); non-zero stops the import with CDS_ERR_IO.  The
	 * token is wiped after the call.  May be NULL.
	 */
	int (*created)(void *ctx, uint64_t line, const struct cds_new_account *a);
	void *ctx;
	/*
	 * A second handle on the same store (cds_store_open of the same
	 * directory), for the check's lookups of already registered handles.
	 * With it the store's writes go on while the check looks up, as they
	 * do on an empty store; without it (NULL) the check has the one
	 * handle to itself and every write waits for its verdict.  The
	 * caller keeps ownership; it is used only during the call.
	 */
	struct cds_store *lookup;
};

/* What an import found and did. */
struct cds_import_report {
	uint64_t lines;      /* account lines in the file */
	uint64_t bad;        /* lines rejected by the check */
	uint64_t imported;   /* accounts created */
	size_t n_messages;   /* first CDS_IMPORT_MAX_MESSAGES bad lines found, */
	uint64_t message_line[CDS_IMPORT_MAX_MESSAGES]; /* in line order */
	char messages[CDS_IMPORT_MAX_MESSAGES][CDS_ERROR_MSG_BYTES];
};

/*
 * Import the regular file f (named `name` in messages) into s, read from
 * its start through its descriptor (f's own position is not used).  If the
 * check finds bad lines, returns CDS_ERR_INVALID (or CDS_ERR_EXISTS when
 * the only problems are taken or repeated handles) having written nothing;
 * rep->messages then say "line N: what is wrong" for the first ones and
 * rep->bad counts them all.
 */
enum cds_err cds_import_file(struct cds_store *s, FILE *f, const char *name,
			     const struct cds_import_opts *opts,
			     struct cds_import_report *rep,
			     struct cds_error *err) CDS_MUST_CHECK;

#endif

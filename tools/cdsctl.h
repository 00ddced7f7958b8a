/*
 * cdsctl.h: the operator tool's subcommands, one file per group.  Each
 * command gets the data directory from the global --data option and its own
 * argv (argv[0] = command name).  Exit codes as in cli.h.
 */
#ifndef CDS_TOOLS_CDSCTL_H
#define CDS_TOOLS_CDSCTL_H

#include "core/err.h"

extern const char *cdsctl_datadir; /* --data DIR (required) */

int cdsctl_init(int argc, char **argv);    /* cdsctl_init.c */
int cdsctl_join(int argc, char **argv);    /* cdsctl_join.c */
int cdsctl_account(int argc, char **argv); /* cdsctl_account.c */
int cdsctl_import(int argc, char **argv);  /* cdsctl_import.c */
int cdsctl_synth(int argc, char **argv);   /* cdsctl_synth.c */
int cdsctl_key(int argc, char **argv);     /* cdsctl_key.c */
int cdsctl_log(int argc, char **argv);     /* cdsctl_log.c */
int cdsctl_legal(int argc, char **argv);   /* cdsctl_legal.c */

/*
 * cdsctl_init.c, shared with cdsctl_join.c: make DIR (0700) if missing;
 * CLI_OK if it holds no store and no keys yet (else a message and
 * CLI_FAIL).  And make DIR/keys (0700).
 */
int cdsctl_dir_fresh(const char *dir);
enum cds_err cdsctl_keys_dir(const char *dir, struct cds_error *err);

#endif

/*
 * log.h: the daemon's and tools' own diagnostics on stderr (not the query
 * log).  One line per event: "2026-11-27T12:00:00.000000Z cdsd: message".
 */
#ifndef CDS_CORE_LOG_H
#define CDS_CORE_LOG_H

/* Name printed after the time; defaults to "cds". Not copied. */
void cds_log_set_program(const char *name);

/* 0 = errors and warnings only, 1 = info (default), 2 = debug. */
void cds_log_set_level(int level);

void cds_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cds_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cds_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

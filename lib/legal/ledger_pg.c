#include "legal/ledger_impl.h"
enum cds_err ledger_pg_open(struct cds_ledger **out, const char *url,
			    bool create, struct cds_error *err)
{
	(void)out; (void)url; (void)create;
	return cds_fail(err, CDS_ERR_STORE, "todo");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tw-nss.h"

G_BEGIN_DECLS

/* a list of one database's group of the record, e.g. "modules" */
GStrv tw_nss_record_get_list(TwNssRecord *record, const gchar *dbdir, const gchar *key);
void tw_nss_record_set_list(TwNssRecord *record,
			    const gchar *dbdir,
			    const gchar *key,
			    const gchar *const *values);
gboolean tw_nss_record_contains(TwNssRecord *record,
				const gchar *dbdir,
				const gchar *key,
				const gchar *value);
/* appends value to key and value2 to key2 (parallel lists) */
void tw_nss_record_append(TwNssRecord *record,
			  const gchar *dbdir,
			  const gchar *key,
			  const gchar *value,
			  const gchar *key2,
			  const gchar *value2);
/* removes the entry of key equal to value, and the same index of key2 */
void tw_nss_record_remove(TwNssRecord *record,
			  const gchar *dbdir,
			  const gchar *key,
			  const gchar *value,
			  const gchar *key2);
/* the entry of key2 at the index of value in key, or NULL */
gchar *tw_nss_record_lookup(TwNssRecord *record,
			    const gchar *dbdir,
			    const gchar *key,
			    const gchar *value,
			    const gchar *key2);

G_END_DECLS

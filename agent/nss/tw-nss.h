/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The user's NSS databases and p11-kit configuration: register a token's
 * PKCS#11 module and public copies of its certificates, as Windows vendor
 * middleware does with the system store, and remove exactly what was added.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TW_NSS_ERROR (tw_nss_error_quark())
GQuark tw_nss_error_quark(void);

typedef enum {
	TW_NSS_ERROR_FAILED,	  /* NSS or file error */
	TW_NSS_ERROR_BUSY,	  /* the database is in use (Firefox running): retry later */
	TW_NSS_ERROR_IN_USE,	  /* NSS is already initialised in this process by someone else */
	TW_NSS_ERROR_INVALID_DATA /* bad certificate or record */
} TwNssError;

typedef struct {
	gchar *module_name;   /* e.g. "tokenwatch: OpenSC" */
	gchar *module_path;   /* absolute path of the PKCS#11 module */
	GPtrArray *certs;     /* GBytes, DER */
	GPtrArray *nicknames; /* gchar*, one for each certificate, "<token label> - <holder CN>" */
} TwNssRegistration;

typedef struct _TwNssRecord TwNssRecord;

GPtrArray *tw_nss_find_databases(const gchar *home) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_nss_ensure_database(const gchar *dbdir, GError **error);
gboolean tw_nss_database_is_busy(const gchar *dbdir);

gboolean tw_nss_register(const gchar *dbdir,
			 const TwNssRegistration *reg,
			 TwNssRecord *record,
			 GError **error);
gboolean tw_nss_unregister_all(const gchar *dbdir, TwNssRecord *record, GError **error);
gboolean tw_nss_remove_certificates(const gchar *dbdir,
				    TwNssRecord *record,
				    const gchar *const *sha256s,
				    GError **error);

TwNssRecord *tw_nss_record_load(const gchar *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_nss_record_save(TwNssRecord *record, GError **error);
void tw_nss_record_free(TwNssRecord *record);
GStrv tw_nss_record_get_modules(TwNssRecord *record, const gchar *dbdir) G_GNUC_WARN_UNUSED_RESULT;
GStrv tw_nss_record_get_certificates(TwNssRecord *record,
				     const gchar *dbdir) G_GNUC_WARN_UNUSED_RESULT;
GStrv tw_nss_record_get_removed_modules(TwNssRecord *record,
					const gchar *dbdir) G_GNUC_WARN_UNUSED_RESULT;
GStrv tw_nss_record_get_removed_certificates(TwNssRecord *record,
					     const gchar *dbdir) G_GNUC_WARN_UNUSED_RESULT;
GStrv tw_nss_record_get_p11kit_files(TwNssRecord *record) G_GNUC_WARN_UNUSED_RESULT;
GStrv tw_nss_record_get_databases(TwNssRecord *record) G_GNUC_WARN_UNUSED_RESULT;
void tw_nss_record_forget_database(TwNssRecord *record, const gchar *dbdir);

gboolean tw_nss_p11kit_ensure_module(const gchar *config_home,
				     const gchar *module_path,
				     TwNssRecord *record,
				     GError **error);
gboolean tw_nss_p11kit_unregister_all(TwNssRecord *record, GError **error);

gchar *tw_nss_sha256_hex(GBytes *der) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwNssRecord, tw_nss_record_free)

G_END_DECLS

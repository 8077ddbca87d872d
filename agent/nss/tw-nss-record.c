/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The agent's record of what it added to the user's stores: a keyfile with
 * one group per NSS database ("database <escaped dir>") and a "p11-kit" group.
 * Per database: modules + module-paths, certificates (sha256) + nicknames
 * (parallel lists), and removed-modules / removed-certificates: what the user
 * deleted by hand, never added again.
 */
#define G_LOG_DOMAIN "TwNss"

#include "tw-nss-private.h"

#include <errno.h>
#include <string.h>

#define TW_NSS_RECORD_VERSION 1

struct _TwNssRecord {
	gchar *path;
	GKeyFile *kf;
};

GQuark
tw_nss_error_quark(void)
{
	return g_quark_from_static_string("tw-nss-error-quark");
}

static gchar *
tw_nss_record_group(const gchar *dbdir)
{
	g_autofree gchar *escaped =
		g_uri_escape_string(dbdir, G_URI_RESERVED_CHARS_ALLOWED_IN_PATH, TRUE);
	return g_strdup_printf("database %s", escaped);
}

TwNssRecord *
tw_nss_record_load(const gchar *path, GError **error)
{
	g_autoptr(TwNssRecord) self = g_new0(TwNssRecord, 1);
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	self->path = g_strdup(path);
	self->kf = g_key_file_new();
	if (!g_key_file_load_from_file(self->kf, path, G_KEY_FILE_KEEP_COMMENTS, &error_local)) {
		if (!g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_INVALID_DATA,
				    "cannot read the record %s: %s", path, error_local->message);
			return NULL;
		}
		g_key_file_set_integer(self->kf, "record", "version", TW_NSS_RECORD_VERSION);
	}
	return g_steal_pointer(&self);
}

gboolean
tw_nss_record_save(TwNssRecord *self, GError **error)
{
	g_autofree gchar *data = NULL;
	g_autofree gchar *dir = NULL;
	gsize len = 0;

	g_return_val_if_fail(self != NULL, FALSE);
	g_key_file_set_integer(self->kf, "record", "version", TW_NSS_RECORD_VERSION);
	data = g_key_file_to_data(self->kf, &len, error);
	if (data == NULL)
		return FALSE;
	dir = g_path_get_dirname(self->path);
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "cannot create %s: %s", dir, g_strerror(errsv));
		return FALSE;
	}
	return g_file_set_contents_full(self->path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
					error);
}

void
tw_nss_record_free(TwNssRecord *self)
{
	if (self == NULL)
		return;
	g_free(self->path);
	if (self->kf != NULL)
		g_key_file_unref(self->kf);
	g_free(self);
}

GStrv
tw_nss_record_get_list(TwNssRecord *self, const gchar *dbdir, const gchar *key)
{
	g_autofree gchar *group = dbdir != NULL ? tw_nss_record_group(dbdir) : g_strdup("p11-kit");
	GStrv list = g_key_file_get_string_list(self->kf, group, key, NULL, NULL);
	if (list == NULL)
		list = g_new0(gchar *, 1);
	return list;
}

void
tw_nss_record_set_list(TwNssRecord *self,
		       const gchar *dbdir,
		       const gchar *key,
		       const gchar *const *values)
{
	g_autofree gchar *group = dbdir != NULL ? tw_nss_record_group(dbdir) : g_strdup("p11-kit");
	guint n = values != NULL ? g_strv_length((gchar **)values) : 0;

	if (n == 0) {
		g_key_file_remove_key(self->kf, group, key, NULL);
		return;
	}
	g_key_file_set_string_list(self->kf, group, key, values, n);
	if (dbdir != NULL)
		g_key_file_set_string(self->kf, group, "path", dbdir);
}

static gint
tw_nss_strv_index(gchar **strv, const gchar *value)
{
	for (guint i = 0; strv != NULL && strv[i] != NULL; i++) {
		if (g_strcmp0(strv[i], value) == 0)
			return (gint)i;
	}
	return -1;
}

gboolean
tw_nss_record_contains(TwNssRecord *self, const gchar *dbdir, const gchar *key, const gchar *value)
{
	g_auto(GStrv) list = tw_nss_record_get_list(self, dbdir, key);
	return tw_nss_strv_index(list, value) >= 0;
}

static GStrv
tw_nss_strv_append(gchar **strv, const gchar *value)
{
	guint n = g_strv_length(strv);
	strv = g_renew(gchar *, strv, n + 2);
	strv[n] = g_strdup(value);
	strv[n + 1] = NULL;
	return strv;
}

/* a list as long as ref, padded with "" */
static GStrv
tw_nss_strv_pad(gchar **strv, guint n)
{
	guint len = g_strv_length(strv);
	if (len >= n)
		return strv;
	strv = g_renew(gchar *, strv, n + 1);
	for (guint i = len; i < n; i++)
		strv[i] = g_strdup("");
	strv[n] = NULL;
	return strv;
}

void
tw_nss_record_append(TwNssRecord *self,
		     const gchar *dbdir,
		     const gchar *key,
		     const gchar *value,
		     const gchar *key2,
		     const gchar *value2)
{
	g_auto(GStrv) list = tw_nss_record_get_list(self, dbdir, key);
	guint n = g_strv_length(list);

	if (key2 != NULL) {
		g_auto(GStrv) list2 = tw_nss_record_get_list(self, dbdir, key2);
		list2 = tw_nss_strv_pad(list2, n);
		list2[n] = NULL; /* cut anything beyond the first list */
		list2 = tw_nss_strv_append(list2, value2 != NULL ? value2 : "");
		tw_nss_record_set_list(self, dbdir, key2, (const gchar *const *)list2);
	}
	list = tw_nss_strv_append(list, value);
	tw_nss_record_set_list(self, dbdir, key, (const gchar *const *)list);
}

static void
tw_nss_strv_remove_index(gchar **strv, guint idx)
{
	guint n = g_strv_length(strv);
	if (idx >= n)
		return;
	g_free(strv[idx]);
	memmove(&strv[idx], &strv[idx + 1], (n - idx) * sizeof(gchar *));
}

void
tw_nss_record_remove(TwNssRecord *self,
		     const gchar *dbdir,
		     const gchar *key,
		     const gchar *value,
		     const gchar *key2)
{
	g_auto(GStrv) list = tw_nss_record_get_list(self, dbdir, key);
	gint idx = tw_nss_strv_index(list, value);

	if (idx < 0)
		return;
	if (key2 != NULL) {
		g_auto(GStrv) list2 = tw_nss_record_get_list(self, dbdir, key2);
		tw_nss_strv_remove_index(list2, (guint)idx);
		tw_nss_record_set_list(self, dbdir, key2, (const gchar *const *)list2);
	}
	tw_nss_strv_remove_index(list, (guint)idx);
	tw_nss_record_set_list(self, dbdir, key, (const gchar *const *)list);
}

gchar *
tw_nss_record_lookup(TwNssRecord *self,
		     const gchar *dbdir,
		     const gchar *key,
		     const gchar *value,
		     const gchar *key2)
{
	g_auto(GStrv) list = tw_nss_record_get_list(self, dbdir, key);
	g_auto(GStrv) list2 = tw_nss_record_get_list(self, dbdir, key2);
	gint idx = tw_nss_strv_index(list, value);

	if (idx < 0 || (guint)idx >= g_strv_length(list2))
		return NULL;
	return g_strdup(list2[idx]);
}

GStrv
tw_nss_record_get_modules(TwNssRecord *self, const gchar *dbdir)
{
	return tw_nss_record_get_list(self, dbdir, "modules");
}

GStrv
tw_nss_record_get_certificates(TwNssRecord *self, const gchar *dbdir)
{
	return tw_nss_record_get_list(self, dbdir, "certificates");
}

GStrv
tw_nss_record_get_removed_modules(TwNssRecord *self, const gchar *dbdir)
{
	return tw_nss_record_get_list(self, dbdir, "removed-modules");
}

GStrv
tw_nss_record_get_removed_certificates(TwNssRecord *self, const gchar *dbdir)
{
	return tw_nss_record_get_list(self, dbdir, "removed-certificates");
}

GStrv
tw_nss_record_get_p11kit_files(TwNssRecord *self)
{
	return tw_nss_record_get_list(self, NULL, "files");
}

/* every database the record has a group for, in the record's order */
GStrv
tw_nss_record_get_databases(TwNssRecord *self)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) groups = NULL;

	g_return_val_if_fail(self != NULL, NULL);
	groups = g_key_file_get_groups(self->kf, NULL);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *dbdir = NULL;

		if (!g_str_has_prefix(groups[i], "database "))
			continue;
		dbdir = g_uri_unescape_string(groups[i] + strlen("database "), NULL);
		if (dbdir != NULL)
			g_strv_builder_add(builder, dbdir);
	}
	return g_strv_builder_end(builder);
}

/* drops what the record says of dbdir (a profile deleted with all that was
 * in it), what the user removed by hand included */
void
tw_nss_record_forget_database(TwNssRecord *self, const gchar *dbdir)
{
	g_autofree gchar *group = NULL;

	g_return_if_fail(self != NULL);
	group = tw_nss_record_group(dbdir);
	g_key_file_remove_group(self->kf, group, NULL);
}

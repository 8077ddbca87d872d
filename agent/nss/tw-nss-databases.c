/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Where the user's NSS databases are: the shared ~/.pki/nssdb (created when
 * missing) and every Firefox and Thunderbird profile that has a cert9.db.
 */
#define G_LOG_DOMAIN "TwNss"

#include "tw-nss.h"

#include <stdlib.h>

/* profile roots, relative to $HOME: deb/tarball, snap and flatpak builds */
static const gchar *const tw_nss_profile_roots[] = {
	".mozilla/firefox",
	".thunderbird",
	"snap/firefox/common/.mozilla/firefox",
	"snap/thunderbird/common/.thunderbird",
	".var/app/org.mozilla.firefox/.mozilla/firefox",
	".var/app/org.mozilla.Thunderbird/.thunderbird",
};

static void
tw_nss_add_database(GPtrArray *dbs, const gchar *dir)
{
	g_autofree gchar *cert9 = g_build_filename(dir, "cert9.db", NULL);
	g_autofree gchar *real = NULL;

	if (!g_file_test(cert9, G_FILE_TEST_IS_REGULAR))
		return;
	real = realpath(dir, NULL);
	if (real == NULL)
		return;
	for (guint i = 0; i < dbs->len; i++) {
		if (g_strcmp0(g_ptr_array_index(dbs, i), real) == 0)
			return;
	}
	g_ptr_array_add(dbs, g_steal_pointer(&real));
}

/* the profiles profiles.ini names, in its order */
static void
tw_nss_add_profiles_ini(GPtrArray *dbs, const gchar *root)
{
	g_autofree gchar *ini = g_build_filename(root, "profiles.ini", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) groups = NULL;

	if (!g_key_file_load_from_file(kf, ini, G_KEY_FILE_NONE, NULL))
		return;
	groups = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *dir = NULL;
		g_autoptr(GError) error_local = NULL;
		gboolean relative;

		if (!g_str_has_prefix(groups[i], "Profile"))
			continue;
		path = g_key_file_get_string(kf, groups[i], "Path", NULL);
		if (path == NULL)
			continue;
		relative = g_key_file_get_boolean(kf, groups[i], "IsRelative", &error_local);
		if (error_local != NULL)
			relative = TRUE;
		dir = relative ? g_build_filename(root, path, NULL) : g_strdup(path);
		tw_nss_add_database(dbs, dir);
	}
}

static gint
tw_nss_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* and any other directory of root with a cert9.db */
static void
tw_nss_add_profile_dirs(GPtrArray *dbs, const gchar *root)
{
	g_autoptr(GDir) dir = g_dir_open(root, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	if (dir == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, tw_nss_compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *path = g_build_filename(root, g_ptr_array_index(names, i), NULL);
		tw_nss_add_database(dbs, path);
	}
}

GPtrArray *
tw_nss_find_databases(const gchar *home)
{
	GPtrArray *dbs = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *shared = NULL;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(home != NULL, dbs);

	shared = g_build_filename(home, ".pki", "nssdb", NULL);
	if (!tw_nss_ensure_database(shared, &error_local))
		g_warning("%s", error_local->message);
	else
		tw_nss_add_database(dbs, shared);
	for (guint i = 0; i < G_N_ELEMENTS(tw_nss_profile_roots); i++) {
		g_autofree gchar *root = g_build_filename(home, tw_nss_profile_roots[i], NULL);
		tw_nss_add_profiles_ini(dbs, root);
		tw_nss_add_profile_dirs(dbs, root);
	}
	return dbs;
}

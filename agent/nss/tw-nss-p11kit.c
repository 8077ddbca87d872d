/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * p11-kit: a user module file ($XDG_CONFIG_HOME/pkcs11/modules/
 * tokenwatch-<name>.module) for a PKCS#11 module p11-kit does not know yet,
 * recorded so that unregistering removes it again.
 */
#define G_LOG_DOMAIN "TwNss"

#include "tw-nss-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <p11-kit/p11-kit.h>
#include <stdlib.h>

#define TW_NSS_P11KIT_MARKER "# written by tokenwatch-agent"

static gboolean
tw_nss_p11kit_same_file(const gchar *a, const gchar *b)
{
	g_autofree gchar *ra = realpath(a, NULL);
	g_autofree gchar *rb = realpath(b, NULL);

	if (ra == NULL || rb == NULL)
		return g_strcmp0(a, b) == 0;
	return g_strcmp0(ra, rb) == 0;
}

/* the modules p11-kit loads for this process (the user's configuration is
 * ignored for root, and follows $XDG_CONFIG_HOME, not config_home) */
static gboolean
tw_nss_p11kit_loaded(const gchar *module_path)
{
	CK_FUNCTION_LIST **modules = p11_kit_modules_load(NULL, 0);
	gboolean found = FALSE;

	for (guint i = 0; modules != NULL && modules[i] != NULL && !found; i++) {
		char *filename = p11_kit_module_get_filename(modules[i]);
		if (filename != NULL && tw_nss_p11kit_same_file(filename, module_path))
			found = TRUE;
		free(filename);
	}
	if (modules != NULL)
		p11_kit_modules_release(modules);
	return found;
}

/* a "module:" line of a .module file of dir naming module_path */
static gboolean
tw_nss_p11kit_dir_names(const gchar *dir, const gchar *module_path)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;

	if (d == NULL)
		return FALSE;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *fn = g_build_filename(dir, name, NULL);
		g_autofree gchar *contents = NULL;
		g_auto(GStrv) lines = NULL;

		if (!g_str_has_suffix(name, ".module") ||
		    !g_file_get_contents(fn, &contents, NULL, NULL))
			continue;
		lines = g_strsplit(contents, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			g_autofree gchar *value = NULL;
			g_autofree gchar *full = NULL;
			gchar *line = g_strstrip(lines[i]);

			if (!g_str_has_prefix(line, "module:"))
				continue;
			value = g_strstrip(g_strdup(line + strlen("module:")));
			full = g_path_is_absolute(value)
				       ? g_strdup(value)
				       : g_build_filename(TW_P11_MODULE_PATH, value, NULL);
			if (tw_nss_p11kit_same_file(full, module_path))
				return TRUE;
		}
	}
	return FALSE;
}

static gchar *
tw_nss_p11kit_file_name(const gchar *config_home, const gchar *module_path)
{
	g_autofree gchar *base = g_path_get_basename(module_path);
	gchar *dot = strstr(base, ".so");
	g_autofree gchar *name = NULL;

	if (dot != NULL && dot != base)
		*dot = '\0';
	g_strcanon(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", '_');
	name = g_strdup_printf("tokenwatch-%s.module", base);
	return g_build_filename(config_home, "pkcs11", "modules", name, NULL);
}

gboolean
tw_nss_p11kit_ensure_module(const gchar *config_home,
			    const gchar *module_path,
			    TwNssRecord *record,
			    GError **error)
{
	g_autofree gchar *fn = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *user_dir = NULL;
	g_autofree gchar *contents = NULL;

	g_return_val_if_fail(config_home != NULL, FALSE);
	g_return_val_if_fail(module_path != NULL, FALSE);
	g_return_val_if_fail(record != NULL, FALSE);

	fn = tw_nss_p11kit_file_name(config_home, module_path);
	if (tw_nss_record_contains(record, NULL, "removed-files", fn))
		return TRUE;
	if (tw_nss_record_contains(record, NULL, "files", fn)) {
		if (g_file_test(fn, G_FILE_TEST_EXISTS))
			return TRUE;
		g_info("%s was removed by the user", fn);
		tw_nss_record_remove(record, NULL, "files", fn, NULL);
		tw_nss_record_append(record, NULL, "removed-files", fn, NULL, NULL);
		return TRUE;
	}
	user_dir = g_build_filename(config_home, "pkcs11", "modules", NULL);
	if (tw_nss_p11kit_dir_names(user_dir, module_path) ||
	    tw_nss_p11kit_dir_names(TW_P11_SYSTEM_CONFIG_MODULES, module_path) ||
	    tw_nss_p11kit_dir_names(TW_P11_PACKAGE_CONFIG_MODULES, module_path) ||
	    tw_nss_p11kit_loaded(module_path)) {
		g_debug("p11-kit already knows %s", module_path);
		return TRUE;
	}
	if (g_file_test(fn, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_FAILED, "%s exists and is not ours",
			    fn);
		return FALSE;
	}
	dir = g_path_get_dirname(fn);
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_FAILED, "cannot create %s: %s", dir,
			    g_strerror(errsv));
		return FALSE;
	}
	contents = g_strdup_printf(TW_NSS_P11KIT_MARKER
				   ", removed by tokenwatch-agent --unregister-all\n"
				   "module: %s\n",
				   module_path);
	if (!g_file_set_contents_full(fn, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      error))
		return FALSE;
	tw_nss_record_append(record, NULL, "files", fn, NULL, NULL);
	return TRUE;
}

gboolean
tw_nss_p11kit_unregister_all(TwNssRecord *record, GError **error)
{
	g_auto(GStrv) files = NULL;

	g_return_val_if_fail(record != NULL, FALSE);

	files = tw_nss_record_get_list(record, NULL, "files");
	for (guint i = 0; files[i] != NULL; i++) {
		g_autofree gchar *contents = NULL;

		/* only a file that is still the one we wrote */
		if (g_file_get_contents(files[i], &contents, NULL, NULL) &&
		    g_str_has_prefix(contents, TW_NSS_P11KIT_MARKER) && g_unlink(files[i]) != 0) {
			int errsv = errno;
			g_set_error(error, TW_NSS_ERROR, TW_NSS_ERROR_FAILED,
				    "cannot remove %s: %s", files[i], g_strerror(errsv));
			return FALSE;
		}
		tw_nss_record_remove(record, NULL, "files", files[i], NULL);
	}
	return TRUE;
}

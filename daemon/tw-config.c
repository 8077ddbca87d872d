/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The configuration: defaults in code, an optional sparse keyfile, command
 * line options on top. Every key is documented in tokenwatch.conf(5).
 *
 * An absent file is fine. A file that cannot be parsed, or a key with an
 * invalid value, fails start-up with a message that names the file, the
 * group and the key: a service that silently ignores what its administrator
 * wrote does harm. An unknown key or group is only a warning, so that a
 * newer file works with an older daemon.
 */
#define G_LOG_DOMAIN "TwConfig"

#include "config.h"

#include <gio/gio.h>

#include "tw-config.h"

#define TW_CONFIG_TOKEN_TIMEOUT_DEFAULT_S 10
#define TW_CONFIG_TOKEN_TIMEOUT_MAX_S	  600

struct _TwConfig {
	GObject parent_instance;
	gchar *path;	       /* the file read, NULL if none */
	gchar *requested_path; /* the file asked for (it may not exist) */
	gboolean use_p11_kit;
	gboolean isolate_modules;
	GPtrArray *modules; /* paths, null-terminated */
	guint token_timeout_s;
	GArray *expiry_days; /* gint, descending */
	GArray *device_days; /* gint, descending */
	guint free_memory_percent;
	gchar *devices_data_dir;  /* NULL: the build's */
	gchar *devices_local_dir; /* NULL: the build's */
	gchar *state_dir;	  /* set by the daemon */
	gchar *metrics_dir;	  /* NULL: no metrics file */
	gboolean metrics_names;
};

G_DEFINE_TYPE(TwConfig, tw_config, G_TYPE_OBJECT)

typedef struct {
	const gchar *group;
	const gchar *key;
} TwConfigKey;

static const TwConfigKey tw_config_keys[] = {
	{"PKCS11", "UseP11KitModules"},	   {"PKCS11", "Modules"},
	{"PKCS11", "IsolateModules"},	   {"PKCS11", "TokenTimeout"},
	{"Warnings", "ExpiryDays"},	   {"Warnings", "DeviceDays"},
	{"Warnings", "FreeMemoryPercent"}, {"Devices", "DataDirectory"},
	{"Devices", "LocalDirectory"},	   {"Metrics", "TextfileDirectory"},
	{"Metrics", "IncludeNames"},
};

/**
 * tw_config_directory:
 *
 * The configuration directory: the first one systemd gives us in
 * $CONFIGURATION_DIRECTORY (it may give several, separated by ':'), else
 * the one of this build. Holds tokenwatch.conf and devices.d.
 */
const gchar *
tw_config_directory(void)
{
	static gchar *path = NULL;
	const gchar *dir = g_getenv("CONFIGURATION_DIRECTORY");

	if (path == NULL) {
		if (dir != NULL && *dir != '\0' && !g_str_has_prefix(dir, ":")) {
			g_auto(GStrv) dirs = g_strsplit(dir, ":", 2);

			path = g_strdup(dirs[0]);
		} else {
			path = g_build_filename(TW_SYSCONFDIR, "tokenwatch", NULL);
		}
	}
	return path;
}

/* the file given by TOKENWATCH_CONFIG, else the one in the configuration
 * directory */
const gchar *
tw_config_default_path(void)
{
	static gchar *path = NULL;
	const gchar *env = g_getenv("TOKENWATCH_CONFIG");

	if (env != NULL && *env != '\0')
		return env;
	if (path == NULL)
		path = g_build_filename(tw_config_directory(), "tokenwatch.conf", NULL);
	return path;
}

static gboolean
tw_config_key_known(const gchar *group, const gchar *key)
{
	for (guint i = 0; i < G_N_ELEMENTS(tw_config_keys); i++) {
		if (g_strcmp0(tw_config_keys[i].group, group) == 0 &&
		    (key == NULL || g_strcmp0(tw_config_keys[i].key, key) == 0))
			return TRUE;
	}
	return FALSE;
}

static void
tw_config_warn_unknown(GKeyFile *kf, const gchar *path)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = NULL;

		if (!tw_config_key_known(groups[i], NULL)) {
			g_warning("%s: unknown group [%s] ignored", path, groups[i]);
			continue;
		}
		keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			if (!tw_config_key_known(groups[i], keys[j]))
				g_warning("%s: unknown key %s in [%s] ignored", path, keys[j],
					  groups[i]);
		}
	}
}

/* GKeyFile's own message is good; say where */
static gboolean
tw_config_fail(
	GError **error, GError *local, const gchar *path, const gchar *group, const gchar *key)
{
	g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s",
		    path, group, key, local->message);
	g_error_free(local);
	return FALSE;
}

static gint
tw_config_compare_desc(gconstpointer a, gconstpointer b)
{
	return *(const gint *)b - *(const gint *)a;
}

/* a list of day counts, each 1..3650, duplicates dropped, sorted descending */
static gboolean
tw_config_read_days(GKeyFile *kf, const gchar *path, const gchar *key, GArray *out, GError **error)
{
	GError *local = NULL;
	gsize n = 0;
	g_autofree gint *days = NULL;

	if (!g_key_file_has_key(kf, "Warnings", key, NULL))
		return TRUE;
	days = g_key_file_get_integer_list(kf, "Warnings", key, &n, &local);
	if (local != NULL)
		return tw_config_fail(error, local, path, "Warnings", key);
	g_array_set_size(out, 0);
	for (gsize i = 0; i < n; i++) {
		gboolean dup = FALSE;

		if (days[i] < 1 || days[i] > 3650) {
			g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [Warnings] %s: %d is not between 1 and 3650 days", path,
				    key, days[i]);
			return FALSE;
		}
		for (guint j = 0; j < out->len; j++)
			dup |= g_array_index(out, gint, j) == days[i];
		if (!dup)
			g_array_append_val(out, days[i]);
	}
	g_array_sort(out, tw_config_compare_desc);
	return TRUE;
}

static gboolean
tw_config_read_dir(GKeyFile *kf,
		   const gchar *path,
		   const gchar *group,
		   const gchar *key,
		   gboolean empty_ok,
		   gchar **out,
		   GError **error)
{
	g_autofree gchar *dir = NULL;
	GError *local = NULL;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return TRUE;
	dir = g_key_file_get_string(kf, group, key, &local);
	if (local != NULL)
		return tw_config_fail(error, local, path, group, key);
	g_strstrip(dir);
	if (empty_ok && *dir == '\0') {
		g_clear_pointer(out, g_free);
		return TRUE;
	}
	if (!g_path_is_absolute(dir)) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			    "%s: [%s] %s: \"%s\" is not an absolute path", path, group, key, dir);
		return FALSE;
	}
	g_free(*out);
	*out = g_steal_pointer(&dir);
	return TRUE;
}

static gboolean
tw_config_read(TwConfig *self, GKeyFile *kf, const gchar *path, GError **error)
{
	GError *local = NULL;

	if (g_key_file_has_key(kf, "PKCS11", "IsolateModules", NULL)) {
		gboolean isolate = g_key_file_get_boolean(kf, "PKCS11", "IsolateModules", &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "PKCS11", "IsolateModules");
		self->isolate_modules = isolate;
	}
	if (g_key_file_has_key(kf, "PKCS11", "UseP11KitModules", NULL)) {
		gboolean use = g_key_file_get_boolean(kf, "PKCS11", "UseP11KitModules", &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "PKCS11", "UseP11KitModules");
		self->use_p11_kit = use;
	}
	if (g_key_file_has_key(kf, "PKCS11", "Modules", NULL)) {
		g_auto(GStrv) modules =
			g_key_file_get_string_list(kf, "PKCS11", "Modules", NULL, &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "PKCS11", "Modules");
		for (guint i = 0; modules[i] != NULL; i++) {
			g_strstrip(modules[i]);
			if (*modules[i] == '\0')
				continue;
			if (!g_path_is_absolute(modules[i])) {
				g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
					    "%s: [PKCS11] Modules: \"%s\" is not an absolute path",
					    path, modules[i]);
				return FALSE;
			}
			tw_config_add_module(self, modules[i]);
		}
	}
	if (g_key_file_has_key(kf, "PKCS11", "TokenTimeout", NULL)) {
		gint timeout = g_key_file_get_integer(kf, "PKCS11", "TokenTimeout", &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "PKCS11", "TokenTimeout");
		if (timeout < 1 || timeout > TW_CONFIG_TOKEN_TIMEOUT_MAX_S) {
			g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [PKCS11] TokenTimeout: %d is not between 1 and %d seconds",
				    path, timeout, TW_CONFIG_TOKEN_TIMEOUT_MAX_S);
			return FALSE;
		}
		self->token_timeout_s = (guint)timeout;
	}
	if (!tw_config_read_days(kf, path, "ExpiryDays", self->expiry_days, error) ||
	    !tw_config_read_days(kf, path, "DeviceDays", self->device_days, error))
		return FALSE;
	if (g_key_file_has_key(kf, "Warnings", "FreeMemoryPercent", NULL)) {
		gint percent = g_key_file_get_integer(kf, "Warnings", "FreeMemoryPercent", &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "Warnings", "FreeMemoryPercent");
		if (percent < 0 || percent > 100) {
			g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [Warnings] FreeMemoryPercent: %d is not between 0 and 100",
				    path, percent);
			return FALSE;
		}
		self->free_memory_percent = (guint)percent;
	}
	if (g_key_file_has_key(kf, "Metrics", "IncludeNames", NULL)) {
		gboolean names = g_key_file_get_boolean(kf, "Metrics", "IncludeNames", &local);

		if (local != NULL)
			return tw_config_fail(error, local, path, "Metrics", "IncludeNames");
		self->metrics_names = names;
	}
	return tw_config_read_dir(kf, path, "Devices", "DataDirectory", FALSE,
				  &self->devices_data_dir, error) &&
	       tw_config_read_dir(kf, path, "Devices", "LocalDirectory", FALSE,
				  &self->devices_local_dir, error) &&
	       tw_config_read_dir(kf, path, "Metrics", "TextfileDirectory", TRUE,
				  &self->metrics_dir, error);
}

/**
 * tw_config_load:
 * @path: (nullable): the file; NULL for tw_config_default_path()
 *
 * Reads the file on top of the defaults. A missing file is no error.
 */
gboolean
tw_config_load(TwConfig *self, const gchar *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(TW_IS_CONFIG(self), FALSE);

	if (path == NULL)
		path = tw_config_default_path();
	g_free(self->requested_path);
	self->requested_path = g_strdup(path);
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error_local)) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_debug("no configuration file %s: defaults", path);
			return TRUE;
		}
		g_set_error(error, error_local->domain, error_local->code, "%s: %s", path,
			    error_local->message);
		return FALSE;
	}
	tw_config_warn_unknown(kf, path);
	if (!tw_config_read(self, kf, path, error))
		return FALSE;
	g_free(self->path);
	self->path = g_strdup(path);
	g_info("configuration read from %s", path);
	return TRUE;
}

/* the file that was asked for, read or not; NULL before tw_config_load() */
const gchar *
tw_config_get_requested_path(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->requested_path;
}

const gchar *
tw_config_get_path(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->path;
}

gboolean
tw_config_get_isolate_modules(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), TRUE);
	return self->isolate_modules;
}

gboolean
tw_config_get_use_p11_kit(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), FALSE);
	return self->use_p11_kit;
}

void
tw_config_set_use_p11_kit(TwConfig *self, gboolean use)
{
	g_return_if_fail(TW_IS_CONFIG(self));
	self->use_p11_kit = use;
}

/* Returns: (array zero-terminated=1): module paths, in order, no duplicates */
const gchar *const *
tw_config_get_modules(TwConfig *self)
{
	static const gchar *const none[] = {NULL};

	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	if (self->modules->len == 0)
		return none;
	return (const gchar *const *)self->modules->pdata;
}

void
tw_config_add_module(TwConfig *self, const gchar *path)
{
	g_return_if_fail(TW_IS_CONFIG(self));
	g_return_if_fail(path != NULL);

	for (guint i = 0; i < self->modules->len; i++) {
		if (g_strcmp0(g_ptr_array_index(self->modules, i), path) == 0)
			return;
	}
	g_ptr_array_add(self->modules, g_strdup(path));
}

/* Returns: (transfer none) (element-type gint): days before expiry, descending */
GArray *
tw_config_get_expiry_days(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->expiry_days;
}

/* Returns: (transfer none) (element-type gint): days before the device's
 * certification ends, descending */
GArray *
tw_config_get_device_days(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->device_days;
}

guint
tw_config_get_free_memory_percent(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), 0);
	return self->free_memory_percent;
}

/* NULL: the build's default */
const gchar *
tw_config_get_devices_data_dir(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->devices_data_dir;
}

const gchar *
tw_config_get_devices_local_dir(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->devices_local_dir;
}

const gchar *
tw_config_get_state_dir(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->state_dir;
}

void
tw_config_set_state_dir(TwConfig *self, const gchar *dir)
{
	g_return_if_fail(TW_IS_CONFIG(self));
	g_free(self->state_dir);
	self->state_dir = g_strdup(dir);
}

guint
tw_config_get_token_timeout_ms(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), 0);
	return self->token_timeout_s * 1000;
}

/* the node_exporter textfile directory to write tokenwatch.prom in; NULL: none */
const gchar *
tw_config_get_metrics_dir(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), NULL);
	return self->metrics_dir;
}

/* whether the metrics carry names of people and tokens (labels cn, label) */
gboolean
tw_config_get_metrics_names(TwConfig *self)
{
	g_return_val_if_fail(TW_IS_CONFIG(self), FALSE);
	return self->metrics_names;
}

static void
tw_config_finalize(GObject *object)
{
	TwConfig *self = TW_CONFIG(object);

	g_free(self->path);
	g_free(self->requested_path);
	g_ptr_array_unref(self->modules);
	g_array_unref(self->expiry_days);
	g_array_unref(self->device_days);
	g_free(self->devices_data_dir);
	g_free(self->devices_local_dir);
	g_free(self->state_dir);
	g_free(self->metrics_dir);
	G_OBJECT_CLASS(tw_config_parent_class)->finalize(object);
}

static void
tw_config_init(TwConfig *self)
{
	self->use_p11_kit = TRUE;
	self->isolate_modules = TRUE;
	self->token_timeout_s = TW_CONFIG_TOKEN_TIMEOUT_DEFAULT_S;
	const gint expiry[] = {60, 30, 14, 7, 3, 1};
	const gint device[] = {180, 90, 30, 7};

	self->modules = g_ptr_array_new_null_terminated(0, g_free, TRUE);
	self->expiry_days = g_array_new(FALSE, FALSE, sizeof(gint));
	g_array_append_vals(self->expiry_days, expiry, G_N_ELEMENTS(expiry));
	self->device_days = g_array_new(FALSE, FALSE, sizeof(gint));
	g_array_append_vals(self->device_days, device, G_N_ELEMENTS(device));
	self->free_memory_percent = 10;
	self->metrics_names = TRUE;
}

static void
tw_config_class_init(TwConfigClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = tw_config_finalize;
}

TwConfig *
tw_config_new(void)
{
	return g_object_new(TW_TYPE_CONFIG, NULL);
}

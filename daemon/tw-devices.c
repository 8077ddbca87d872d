/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What tokenwatch knows about device models: one keyfile per model, shipped
 * in the data directory and overridable by the administrator in
 * /etc/tokenwatch/devices.d. The format, the matching rules and what is
 * shipped are documented in docs/devices.md.
 *
 * Every fact (an ATR, a PKCS#11 pattern, a certification date, a capacity)
 * must name its source in [Sources]: a wrong date here would make the daemon
 * tell people their qualified certificates are safe when they are about to
 * be revoked, so a fact nobody can check is not loaded at all.
 *
 * Unlike the configuration file, one bad entry does not stop the daemon: it
 * is skipped with a warning that names the file, the group and the key, and
 * the other entries load. The data check test loads the shipped directory in
 * strict mode, where any skipped entry is a failure.
 */
#define G_LOG_DOMAIN "TwDevices"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tw-config.h"
#include "tw-devices.h"

#ifndef TW_DATADIR
#error "config.h lacks TW_DATADIR: meson.build conf.set_quoted('TW_DATADIR', datadir)"
#endif

#define TW_DEVICES_SUFFIX	   ".conf"
#define TW_DEVICES_GROUP	   "Device"
#define TW_DEVICES_GROUP_SOURCES   "Sources"
#define TW_DEVICES_ATR_MIN	   2  /* TS and T0 */
#define TW_DEVICES_ATR_MAX	   33 /* ISO/IEC 7816-3: TS and at most 32 bytes */
#define TW_DEVICES_CAPACITY_MAX	   255
#define TW_DEVICES_SECONDS_PER_DAY 86400

typedef struct {
	guint len;
	guint8 bytes[TW_DEVICES_ATR_MAX]; /* already masked */
	guint8 mask[TW_DEVICES_ATR_MAX];
	guint specificity; /* bits set in the mask */
} TwDeviceAtr;

struct _TwDevices {
	GObject parent_instance;
	GHashTable *devices; /* id → TwDevice */
};

G_DEFINE_TYPE(TwDevices, tw_devices, G_TYPE_OBJECT)

/* the keys of [Device] that state a fact and so need a key in [Sources] */
static const gchar *const tw_devices_fact_keys[] = {
	"Atr", "Manufacturer", "Model", "QscdCertifiedUntil", "QualifiedCapacity",
};
static const gchar *const tw_devices_other_keys[] = {"Name", "Enabled"};

static gboolean
tw_devices_key_in(const gchar *key, const gchar *const *keys, gsize n_keys)
{
	for (gsize i = 0; i < n_keys; i++) {
		if (g_strcmp0(keys[i], key) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
tw_device_free(TwDevice *device)
{
	if (device == NULL)
		return;
	g_free(device->id);
	g_free(device->name);
	g_ptr_array_unref(device->atrs);
	g_strfreev(device->manufacturer_patterns);
	g_strfreev(device->model_patterns);
	g_hash_table_unref(device->sources);
	g_free(device->origin);
	g_free(device);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwDevice, tw_device_free)

static TwDevice *
tw_device_new(const gchar *id, const gchar *origin)
{
	TwDevice *device = g_new0(TwDevice, 1);

	device->id = g_strdup(id);
	device->origin = g_strdup(origin);
	device->atrs = g_ptr_array_new_with_free_func(g_free);
	device->manufacturer_patterns = g_new0(gchar *, 1);
	device->model_patterns = g_new0(gchar *, 1);
	device->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return device;
}

/* "3B7E94", "3b 7e 94" or "3B:7E:94": pairs of hex digits, optionally
 * separated by one space or colon; at most @max bytes */
static gboolean
tw_devices_parse_hex(const gchar *text, guint8 *out, guint max, guint *len)
{
	const gchar *p = text;
	guint n = 0;

	while (*p != '\0') {
		gint hi, lo;

		if (n > 0 && (*p == ' ' || *p == ':'))
			p++;
		hi = g_ascii_xdigit_value(p[0]);
		if (hi < 0)
			return FALSE;
		lo = g_ascii_xdigit_value(p[1]);
		if (lo < 0 || n == max)
			return FALSE;
		out[n++] = (guint8)((hi << 4) | lo);
		p += 2;
	}
	*len = n;
	return TRUE;
}

static guint
tw_devices_popcount(guint8 byte)
{
	guint bits = 0;

	for (; byte != 0; byte &= (guint8)(byte - 1))
		bits++;
	return bits;
}

/* "HEX" or "HEX/MASK"; the message says what is wrong */
static TwDeviceAtr *
tw_devices_parse_atr(const gchar *text, gchar **message)
{
	g_autofree TwDeviceAtr *atr = g_new0(TwDeviceAtr, 1);
	g_auto(GStrv) parts = g_strsplit(text, "/", 3);
	guint mask_len = 0;

	if (g_strv_length(parts) > 2) {
		*message = g_strdup_printf("\"%s\" has more than one '/'", text);
		return NULL;
	}
	g_strstrip(parts[0]);
	if (!tw_devices_parse_hex(parts[0], atr->bytes, TW_DEVICES_ATR_MAX, &atr->len) ||
	    atr->len < TW_DEVICES_ATR_MIN) {
		*message = g_strdup_printf("\"%s\" is not an ATR: %d to %d bytes in hex", parts[0],
					   TW_DEVICES_ATR_MIN, TW_DEVICES_ATR_MAX);
		return NULL;
	}
	if (parts[1] == NULL) {
		memset(atr->mask, 0xff, atr->len);
	} else {
		g_strstrip(parts[1]);
		if (!tw_devices_parse_hex(parts[1], atr->mask, TW_DEVICES_ATR_MAX, &mask_len) ||
		    mask_len == 0) {
			*message = g_strdup_printf("mask \"%s\" is not hex", parts[1]);
			return NULL;
		}
		if (mask_len != atr->len) {
			*message = g_strdup_printf(
				"mask \"%s\" and ATR differ in length (%u and %u bytes)", parts[1],
				mask_len, atr->len);
			return NULL;
		}
	}
	for (guint i = 0; i < atr->len; i++) {
		atr->bytes[i] &= atr->mask[i];
		atr->specificity += tw_devices_popcount(atr->mask[i]);
	}
	return g_steal_pointer(&atr);
}

/* YYYY-MM-DD → 00:00 UTC of the next day, in Unix seconds */
static gboolean
tw_devices_parse_date(const gchar *text, gint64 *until)
{
	GDate date, epoch;
	guint year, month, day;

	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return FALSE;
	for (guint i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !g_ascii_isdigit(text[i]))
			return FALSE;
	}
	year = (guint)g_ascii_strtoull(text, NULL, 10);
	month = (guint)g_ascii_strtoull(text + 5, NULL, 10);
	day = (guint)g_ascii_strtoull(text + 8, NULL, 10);
	if (year < 1970 || !g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year))
		return FALSE;
	g_date_clear(&date, 1);
	g_date_clear(&epoch, 1);
	g_date_set_dmy(&date, (GDateDay)day, (GDateMonth)month, (GDateYear)year);
	g_date_set_dmy(&epoch, 1, G_DATE_JANUARY, 1970);
	*until = ((gint64)g_date_days_between(&epoch, &date) + 1) * TW_DEVICES_SECONDS_PER_DAY;
	return TRUE;
}

/* sets @error to "FILE: [GROUP] KEY: MESSAGE" and returns FALSE */
static gboolean tw_devices_fail(GError **error,
				const gchar *path,
				const gchar *group,
				const gchar *key,
				const gchar *format,
				...) G_GNUC_PRINTF(5, 6);

static gboolean
tw_devices_fail(GError **error,
		const gchar *path,
		const gchar *group,
		const gchar *key,
		const gchar *format,
		...)
{
	g_autofree gchar *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: [%s] %s: %s",
		    path, group, key, message);
	return FALSE;
}

/* a ';'-separated list; elements trimmed, empty ones dropped */
static GStrv
tw_devices_get_list(GKeyFile *kf, const gchar *key, const gchar *path, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_auto(GStrv) list = NULL;
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	list = g_key_file_get_string_list(kf, TW_DEVICES_GROUP, key, NULL, &error_local);
	if (error_local != NULL) {
		tw_devices_fail(error, path, TW_DEVICES_GROUP, key, "%s", error_local->message);
		return NULL;
	}
	for (guint i = 0; list != NULL && list[i] != NULL; i++) {
		g_strstrip(list[i]);
		if (*list[i] != '\0')
			g_strv_builder_add(builder, list[i]);
	}
	return g_strv_builder_end(builder);
}

static gboolean
tw_devices_read_atrs(TwDevice *device, GKeyFile *kf, const gchar *path, GError **error)
{
	g_auto(GStrv) atrs = NULL;

	if (!g_key_file_has_key(kf, TW_DEVICES_GROUP, "Atr", NULL))
		return TRUE;
	atrs = tw_devices_get_list(kf, "Atr", path, error);
	if (atrs == NULL)
		return FALSE;
	for (guint i = 0; atrs[i] != NULL; i++) {
		g_autofree gchar *message = NULL;
		TwDeviceAtr *atr = tw_devices_parse_atr(atrs[i], &message);

		if (atr == NULL)
			return tw_devices_fail(error, path, TW_DEVICES_GROUP, "Atr", "%s", message);
		g_ptr_array_add(device->atrs, atr);
	}
	return TRUE;
}

static gboolean
tw_devices_read_patterns(
	GStrv *patterns, GKeyFile *kf, const gchar *key, const gchar *path, GError **error)
{
	GStrv list;

	if (!g_key_file_has_key(kf, TW_DEVICES_GROUP, key, NULL))
		return TRUE;
	list = tw_devices_get_list(kf, key, path, error);
	if (list == NULL)
		return FALSE;
	g_strfreev(*patterns);
	*patterns = list;
	return TRUE;
}

/* the trimmed value, NULL when the key is absent; FALSE when it cannot be
 * read (a bad escape sequence) */
static gboolean
tw_devices_get_string(GKeyFile *kf,
		      const gchar *group,
		      const gchar *key,
		      const gchar *path,
		      gchar **value,
		      GError **error)
{
	g_autoptr(GError) error_local = NULL;

	*value = NULL;
	if (!g_key_file_has_key(kf, group, key, NULL))
		return TRUE;
	/* on a bad escape sequence it sets the error and returns a value too */
	*value = g_key_file_get_string(kf, group, key, &error_local);
	if (error_local != NULL) {
		g_clear_pointer(value, g_free);
		return tw_devices_fail(error, path, group, key, "%s", error_local->message);
	}
	g_strstrip(*value);
	return TRUE;
}

static gboolean
tw_devices_read_until(TwDevice *device, GKeyFile *kf, const gchar *path, GError **error)
{
	g_autofree gchar *until = NULL;

	if (!tw_devices_get_string(kf, TW_DEVICES_GROUP, "QscdCertifiedUntil", path, &until, error))
		return FALSE;
	if (until != NULL && *until != '\0' &&
	    !tw_devices_parse_date(until, &device->qscd_certified_until))
		return tw_devices_fail(error, path, TW_DEVICES_GROUP, "QscdCertifiedUntil",
				       "\"%s\" is not a date YYYY-MM-DD", until);
	return TRUE;
}

static gboolean
tw_devices_read_capacity(TwDevice *device, GKeyFile *kf, const gchar *path, GError **error)
{
	g_autofree gchar *capacity = NULL;
	guint64 value = 0;

	if (!tw_devices_get_string(kf, TW_DEVICES_GROUP, "QualifiedCapacity", path, &capacity,
				   error))
		return FALSE;
	if (capacity == NULL || *capacity == '\0')
		return TRUE;
	if (!g_ascii_string_to_unsigned(capacity, 10, 0, TW_DEVICES_CAPACITY_MAX, &value, NULL))
		return tw_devices_fail(error, path, TW_DEVICES_GROUP, "QualifiedCapacity",
				       "\"%s\" is not a number from 0 to %d", capacity,
				       TW_DEVICES_CAPACITY_MAX);
	device->qualified_capacity = (guint)value;
	return TRUE;
}

static gboolean
tw_devices_read_facts(TwDevice *device, GKeyFile *kf, const gchar *path, GError **error)
{
	if (!tw_devices_get_string(kf, TW_DEVICES_GROUP, "Name", path, &device->name, error))
		return FALSE;
	if (device->name == NULL || *device->name == '\0')
		return tw_devices_fail(error, path, TW_DEVICES_GROUP, "Name", "missing or empty");
	if (!tw_devices_read_atrs(device, kf, path, error) ||
	    !tw_devices_read_patterns(&device->manufacturer_patterns, kf, "Manufacturer", path,
				      error) ||
	    !tw_devices_read_patterns(&device->model_patterns, kf, "Model", path, error))
		return FALSE;
	if (device->atrs->len == 0 && device->manufacturer_patterns[0] == NULL &&
	    device->model_patterns[0] == NULL)
		return tw_devices_fail(
			error, path, TW_DEVICES_GROUP, "Atr",
			"no Atr, Manufacturer or Model: the entry would never match");
	return tw_devices_read_until(device, kf, path, error) &&
	       tw_devices_read_capacity(device, kf, path, error);
}

static gboolean
tw_devices_fact_given(const TwDevice *device, const gchar *key)
{
	if (g_str_equal(key, "Atr"))
		return device->atrs->len > 0;
	if (g_str_equal(key, "Manufacturer"))
		return device->manufacturer_patterns[0] != NULL;
	if (g_str_equal(key, "Model"))
		return device->model_patterns[0] != NULL;
	if (g_str_equal(key, "QscdCertifiedUntil"))
		return device->qscd_certified_until != 0;
	return device->qualified_capacity != 0;
}

/* every fact given needs a non-empty source; sources of facts not given
 * (e.g. where the unknown date is published) are kept too */
static gboolean
tw_devices_read_sources(TwDevice *device, GKeyFile *kf, const gchar *path, GError **error)
{
	g_auto(GStrv) keys = g_key_file_get_keys(kf, TW_DEVICES_GROUP_SOURCES, NULL, NULL);

	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		g_autofree gchar *source = NULL;

		if (!tw_devices_get_string(kf, TW_DEVICES_GROUP_SOURCES, keys[i], path, &source,
					   error))
			return FALSE;
		if (*source == '\0')
			continue;
		g_hash_table_replace(device->sources, g_strdup(keys[i]), g_steal_pointer(&source));
	}
	for (guint i = 0; i < G_N_ELEMENTS(tw_devices_fact_keys); i++) {
		const gchar *key = tw_devices_fact_keys[i];

		if (tw_devices_fact_given(device, key) &&
		    !g_hash_table_contains(device->sources, key))
			return tw_devices_fail(error, path, TW_DEVICES_GROUP_SOURCES, key,
					       "no source for [%s] %s: a fact without a "
					       "source is not loaded",
					       TW_DEVICES_GROUP, key);
	}
	return TRUE;
}

static void
tw_devices_warn_unknown(GKeyFile *kf, const gchar *path)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = NULL;
		gboolean sources = g_str_equal(groups[i], TW_DEVICES_GROUP_SOURCES);

		if (!sources && !g_str_equal(groups[i], TW_DEVICES_GROUP)) {
			g_warning("%s: unknown group [%s] ignored", path, groups[i]);
			continue;
		}
		keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			if (tw_devices_key_in(keys[j], tw_devices_fact_keys,
					      G_N_ELEMENTS(tw_devices_fact_keys)))
				continue;
			if (!sources && tw_devices_key_in(keys[j], tw_devices_other_keys,
							  G_N_ELEMENTS(tw_devices_other_keys)))
				continue;
			g_warning("%s: unknown key %s in [%s] ignored", path, keys[j], groups[i]);
		}
	}
}

/* Returns: (transfer full): the entry; NULL with @error when it is to be
 * skipped, NULL without when it says Enabled=false */
static TwDevice *
tw_devices_read(const gchar *path, const gchar *id, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;
	g_autoptr(TwDevice) device = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;
	gboolean enabled = TRUE;

	/* its message names the file */
	if (!g_file_get_contents(path, &text, &len, error))
		return NULL;
	/* GKeyFile would only notice in the values it is asked for */
	if (!g_utf8_validate(text, (gssize)len, NULL)) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_UNKNOWN_ENCODING,
			    "%s: not UTF-8 text", path);
		return NULL;
	}
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &error_local)) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "%s: %s", path,
			    error_local->message);
		return NULL;
	}
	if (!g_key_file_has_group(kf, TW_DEVICES_GROUP)) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
			    "%s: no [%s] group", path, TW_DEVICES_GROUP);
		return NULL;
	}
	tw_devices_warn_unknown(kf, path);
	if (g_key_file_has_key(kf, TW_DEVICES_GROUP, "Enabled", NULL)) {
		enabled = g_key_file_get_boolean(kf, TW_DEVICES_GROUP, "Enabled", &error_local);
		if (error_local != NULL) {
			tw_devices_fail(error, path, TW_DEVICES_GROUP, "Enabled", "%s",
					error_local->message);
			return NULL;
		}
	}
	if (!enabled)
		return NULL;
	device = tw_device_new(id, path);
	if (!tw_devices_read_facts(device, kf, path, error) ||
	    !tw_devices_read_sources(device, kf, path, error))
		return NULL;
	return g_steal_pointer(&device);
}

static gint
tw_devices_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the *.conf file names of @dir, sorted; NULL if it cannot be read */
static GPtrArray *
tw_devices_list_dir(const gchar *dir, GError **error)
{
	g_autoptr(GDir) gdir = g_dir_open(dir, 0, error);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	if (gdir == NULL)
		return NULL;
	while ((name = g_dir_read_name(gdir)) != NULL) {
		/* hidden files are editors' and package managers' leftovers */
		if (name[0] != '.' && g_str_has_suffix(name, TW_DEVICES_SUFFIX))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, tw_devices_compare_names);
	return g_steal_pointer(&names);
}

/* loads one directory into @devices; adds what was skipped to @skipped */
static void
tw_devices_load_dir(GHashTable *devices, const gchar *dir, GPtrArray *skipped)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) names = tw_devices_list_dir(dir, &error);

	if (names == NULL) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_debug("no device directory %s", dir);
			return;
		}
		g_warning("device directory %s: %s", dir, error->message);
		g_ptr_array_add(skipped, g_strdup(dir));
		return;
	}
	for (guint i = 0; i < names->len; i++) {
		const gchar *name = g_ptr_array_index(names, i);
		g_autofree gchar *id = g_strndup(name, strlen(name) - strlen(TW_DEVICES_SUFFIX));
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_autoptr(GError) error_local = NULL;
		TwDevice *device = tw_devices_read(path, id, &error_local);

		if (error_local != NULL) {
			/* an earlier entry of the same id stays */
			g_warning("%s (entry skipped)", error_local->message);
			g_ptr_array_add(skipped, g_strdup(path));
			continue;
		}
		if (device == NULL) {
			g_debug("%s: %s disabled", path, id);
			g_hash_table_remove(devices, id);
			continue;
		}
		if (g_hash_table_contains(devices, id))
			g_debug("%s overrides the entry %s", path, id);
		g_hash_table_replace(devices, device->id, device);
	}
}

/**
 * tw_devices_load:
 * @directories: (nullable): directories in order, later ones override; NULL
 *   for tw_devices_default_data_dir() then tw_devices_default_local_dir()
 * @strict: fail when any entry was skipped
 *
 * Replaces what was loaded before with every *.conf of each directory. An
 * entry with the id of one in an earlier directory replaces it; one that says
 * Enabled=false removes it. A file that cannot be used is skipped with a
 * warning naming the file, group and key, and the others load. Missing
 * directories are fine. Pointers from tw_devices_match() and
 * tw_devices_lookup() are valid until the next load.
 *
 * Returns: FALSE only when @strict and an entry was skipped (the others are
 * loaded all the same)
 */
gboolean
tw_devices_load(TwDevices *self, const gchar *const *directories, gboolean strict, GError **error)
{
	const gchar *defaults[] = {tw_devices_default_data_dir(), tw_devices_default_local_dir(),
				   NULL};
	g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
	GHashTable *devices;

	g_return_val_if_fail(TW_IS_DEVICES(self), FALSE);

	if (directories == NULL)
		directories = defaults;
	devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					(GDestroyNotify)tw_device_free);
	for (guint i = 0; directories[i] != NULL; i++)
		tw_devices_load_dir(devices, directories[i], skipped);
	g_hash_table_unref(self->devices);
	self->devices = devices;
	g_debug("%u device entries loaded, %u skipped", g_hash_table_size(devices), skipped->len);

	if (strict && skipped->len > 0) {
		g_autofree gchar *list = NULL;

		g_ptr_array_add(skipped, NULL);
		list = g_strjoinv(", ", (gchar **)skipped->pdata);
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			    "%u device entries skipped: %s", skipped->len - 1, list);
		return FALSE;
	}
	return TRUE;
}

/* how well an entry matches; compared field by field */
typedef struct {
	guint criteria; /* ATR, manufacturer, model: how many matched */
	guint atr_bits; /* bits of the ATR compared: an exact ATR beats a masked one */
	guint literal;	/* characters of the globs that are not wildcards */
} TwDevicesScore;

static guint
tw_devices_literal_length(const gchar *pattern)
{
	guint n = 0;

	for (const gchar *p = pattern; *p != '\0'; p++) {
		if (*p != '*' && *p != '?')
			n++;
	}
	return n;
}

/* the best literal length of the globs that match, -1 if none does */
static gint
tw_devices_match_globs(const gchar *const *patterns, const gchar *value)
{
	gint best = -1;

	if (value == NULL)
		return -1;
	for (guint i = 0; patterns[i] != NULL; i++) {
		if (g_pattern_match_simple(patterns[i], value))
			best = MAX(best, (gint)tw_devices_literal_length(patterns[i]));
	}
	return best;
}

static gboolean
tw_devices_match_atr(const TwDevice *device, const guint8 *atr, guint len, guint *bits)
{
	gboolean found = FALSE;

	for (guint i = 0; i < device->atrs->len; i++) {
		const TwDeviceAtr *pattern = g_ptr_array_index(device->atrs, i);
		guint j;

		if (pattern->len != len)
			continue;
		for (j = 0; j < len && (atr[j] & pattern->mask[j]) == pattern->bytes[j]; j++)
			;
		if (j == len && (!found || pattern->specificity > *bits)) {
			*bits = pattern->specificity;
			found = TRUE;
		}
	}
	return found;
}

/* FALSE when the entry does not match; every kind it gives must */
static gboolean
tw_devices_score(const TwDevice *device,
		 const guint8 *atr,
		 guint atr_len,
		 const gchar *manufacturer,
		 const gchar *model,
		 TwDevicesScore *score)
{
	gint literal;

	memset(score, 0, sizeof(*score));
	if (device->atrs->len > 0) {
		if (!tw_devices_match_atr(device, atr, atr_len, &score->atr_bits))
			return FALSE;
		score->criteria++;
	}
	if (device->manufacturer_patterns[0] != NULL) {
		literal = tw_devices_match_globs(
			(const gchar *const *)device->manufacturer_patterns, manufacturer);
		if (literal < 0)
			return FALSE;
		score->criteria++;
		score->literal += (guint)literal;
	}
	if (device->model_patterns[0] != NULL) {
		literal =
			tw_devices_match_globs((const gchar *const *)device->model_patterns, model);
		if (literal < 0)
			return FALSE;
		score->criteria++;
		score->literal += (guint)literal;
	}
	return score->criteria > 0;
}

static gint
tw_devices_score_cmp(const TwDevicesScore *a, const TwDevicesScore *b)
{
	if (a->criteria != b->criteria)
		return a->criteria < b->criteria ? -1 : 1;
	if (a->atr_bits != b->atr_bits)
		return a->atr_bits < b->atr_bits ? -1 : 1;
	if (a->literal != b->literal)
		return a->literal < b->literal ? -1 : 1;
	return 0;
}

/**
 * tw_devices_match:
 * @atr_hex: (nullable): the ATR in hex; "" or NULL when unknown
 * @manufacturer: (nullable): CK_TOKEN_INFO manufacturerID, padded or not
 * @model: (nullable): CK_TOKEN_INFO model, padded or not
 *
 * The entry that matches best: one that gives ATR patterns needs one of them
 * to match, one that gives Manufacturer or Model patterns needs one of each
 * to match; more criteria matched win, then an ATR compared on more bits,
 * then longer literal text in the globs, then the smaller id.
 *
 * Returns: (nullable): the entry, or NULL when none matches
 */
const TwDevice *
tw_devices_match(TwDevices *self,
		 const gchar *atr_hex,
		 const gchar *manufacturer,
		 const gchar *model)
{
	guint8 atr[TW_DEVICES_ATR_MAX];
	guint atr_len = 0;
	g_autofree gchar *manufacturer_trimmed = NULL;
	g_autofree gchar *model_trimmed = NULL;
	const TwDevice *best = NULL;
	TwDevicesScore best_score = {0};
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(TW_IS_DEVICES(self), NULL);

	if (atr_hex != NULL && !tw_devices_parse_hex(atr_hex, atr, TW_DEVICES_ATR_MAX, &atr_len))
		atr_len = 0; /* not an ATR: as unknown */
	if (manufacturer != NULL)
		manufacturer_trimmed = g_strstrip(g_strdup(manufacturer));
	if (model != NULL)
		model_trimmed = g_strstrip(g_strdup(model));

	g_hash_table_iter_init(&iter, self->devices);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const TwDevice *device = value;
		TwDevicesScore score;
		gint cmp;

		if (!tw_devices_score(device, atr, atr_len, manufacturer_trimmed, model_trimmed,
				      &score))
			continue;
		cmp = best == NULL ? 1 : tw_devices_score_cmp(&score, &best_score);
		if (cmp > 0 || (cmp == 0 && g_strcmp0(device->id, best->id) < 0)) {
			best = device;
			best_score = score;
		}
	}
	return best;
}

/* Returns: (nullable): the entry of that id */
const TwDevice *
tw_devices_lookup(TwDevices *self, const gchar *id)
{
	g_return_val_if_fail(TW_IS_DEVICES(self), NULL);
	g_return_val_if_fail(id != NULL, NULL);
	return g_hash_table_lookup(self->devices, id);
}

guint
tw_devices_get_count(TwDevices *self)
{
	g_return_val_if_fail(TW_IS_DEVICES(self), 0);
	return g_hash_table_size(self->devices);
}

/* TOKENWATCH_DEVICES_DATA_DIR (tests, running in-tree), else the build's */
const gchar *
tw_devices_default_data_dir(void)
{
	static gchar *path = NULL;
	const gchar *env = g_getenv("TOKENWATCH_DEVICES_DATA_DIR");

	if (env != NULL && *env != '\0')
		return env;
	if (path == NULL)
		path = g_build_filename(TW_DATADIR, "tokenwatch", "devices", NULL);
	return path;
}

/* TOKENWATCH_DEVICES_LOCAL_DIR, else devices.d in the configuration directory */
const gchar *
tw_devices_default_local_dir(void)
{
	static gchar *path = NULL;
	const gchar *env = g_getenv("TOKENWATCH_DEVICES_LOCAL_DIR");

	if (env != NULL && *env != '\0')
		return env;
	if (path == NULL)
		path = g_build_filename(tw_config_directory(), "devices.d", NULL);
	return path;
}

static void
tw_devices_finalize(GObject *object)
{
	TwDevices *self = TW_DEVICES(object);

	g_hash_table_unref(self->devices);
	G_OBJECT_CLASS(tw_devices_parent_class)->finalize(object);
}

static void
tw_devices_init(TwDevices *self)
{
	self->devices = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)tw_device_free);
}

static void
tw_devices_class_init(TwDevicesClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = tw_devices_finalize;
}

TwDevices *
tw_devices_new(void)
{
	return g_object_new(TW_TYPE_DEVICES, NULL);
}

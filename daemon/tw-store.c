/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What tokenwatch remembers across restarts: every token and certificate it
 * has seen and the warnings it already sent, one small versioned keyfile per
 * record (docs/state.md has the layout and the reasons).
 *
 * Reading happens once, at start-up, in the caller's thread: a bad record is
 * moved aside and costs only itself. Writing never happens in the caller's
 * thread: a put serialises the record (a few microseconds) and queues it;
 * one worker thread writes the queue, debounced, each file atomically and
 * durably, and keeps what it could not write for a retry with backoff.
 */
#define G_LOG_DOMAIN "TwStore"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw-store.h"

#define TW_STORE_DEBOUNCE_MS_DEFAULT 100
#define TW_STORE_BACKOFF_MS_FIRST    1000
#define TW_STORE_BACKOFF_MS_MAX	     60000
#define TW_STORE_ID_LENGTH	     16
#define TW_STORE_TEMP_LENGTH	     6	 /* g_file_set_contents_full() writes NAME.XXXXXX */
#define TW_STORE_READ_AHEAD	     128 /* files opened and announced to the kernel at once */

/* Above the largest record the daemon writes: a certificate of 1 MiB (the
 * longest attribute tw-p11 reads) is 1.4 MiB in base64, and its label and
 * CKA_ID may each take 2 MiB more (escaped text, hex). */
#define TW_STORE_RECORD_MAX (8 * 1024 * 1024)

typedef enum {
	TW_STORE_KIND_CERTIFICATE,
	TW_STORE_KIND_TOKEN,
	TW_STORE_N_KINDS,
} TwStoreKind;

static const struct {
	const gchar *subdir;
	const gchar *suffix;
	const gchar *group;
} tw_store_kinds[TW_STORE_N_KINDS] = {
	[TW_STORE_KIND_CERTIFICATE] = {"certificates", ".cert", "certificate"},
	[TW_STORE_KIND_TOKEN] = {"tokens", ".token", "token"},
};

/* one queued change of one file */
typedef struct {
	TwStoreKind kind;
	gchar *path;
	GBytes *data; /* NULL: remove the file */
} TwStoreChange;

struct _TwStore {
	GObject parent_instance;
	gchar *directory;

	/* everything below is guarded by mutex */
	GMutex mutex;
	GCond cond;
	GThread *worker; /* started by the first change; set in the caller's thread only */
	gboolean stopping;
	GHashTable *queue; /* path → TwStoreChange; the path is the change's */
	guint in_flight;   /* changes taken by the worker and not yet done */
	gint64 first_change;
	gint64 retry_at;
	guint debounce_ms;
	guint backoff_ms;
	guint backoff_first_ms;
	guint backoff_max_ms;
	gboolean healthy;
	guint64 write_count;
	guint64 flush_asked; /* generations of tw_store_flush() */
	guint64 flush_done;

	/* the worker's own */
	GHashTable *warned; /* "domain:code" of failures already logged as warnings */
};

G_DEFINE_TYPE(TwStore, tw_store, G_TYPE_OBJECT)

enum { PROP_0, PROP_DIRECTORY, N_PROPS };
static GParamSpec *props[N_PROPS] = {NULL};

static TwStoreChange *
tw_store_change_new(TwStore *self, TwStoreKind kind, const gchar *id, GBytes *data)
{
	TwStoreChange *change = g_new0(TwStoreChange, 1);
	g_autofree gchar *name = g_strconcat(id, tw_store_kinds[kind].suffix, NULL);

	change->kind = kind;
	change->path = g_build_filename(self->directory, tw_store_kinds[kind].subdir, name, NULL);
	change->data = data;
	return change;
}

static void
tw_store_change_free(TwStoreChange *change)
{
	if (change == NULL)
		return;
	g_free(change->path);
	if (change->data != NULL)
		g_bytes_unref(change->data);
	g_free(change);
}

/* records */

gboolean
tw_store_id_is_valid(const gchar *id)
{
	if (id == NULL)
		return FALSE;
	for (guint i = 0; i < TW_STORE_ID_LENGTH; i++) {
		if (!g_ascii_isdigit(id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
			return FALSE;
	}
	return id[TW_STORE_ID_LENGTH] == '\0';
}

static gboolean
tw_store_hex_is_valid(const gchar *hex)
{
	gsize i;

	for (i = 0; hex[i] != '\0'; i++) {
		if (!g_ascii_isxdigit(hex[i]))
			return FALSE;
	}
	return i % 2 == 0;
}

static GStrv
tw_store_strv_copy(GStrv strv)
{
	return strv != NULL ? g_strdupv(strv) : g_new0(gchar *, 1);
}

TwStoredToken *
tw_stored_token_new(const gchar *id)
{
	TwStoredToken *token = g_new0(TwStoredToken, 1);

	token->id = g_strdup(id);
	token->certificates = g_new0(gchar *, 1);
	token->device_warnings = g_new0(gchar *, 1);
	token->owners = g_new0(gchar *, 1);
	return token;
}

TwStoredToken *
tw_stored_token_copy(const TwStoredToken *token)
{
	TwStoredToken *copy;

	g_return_val_if_fail(token != NULL, NULL);

	copy = g_memdup2(token, sizeof(*token));
	copy->id = g_strdup(token->id);
	copy->label = g_strdup(token->label);
	copy->manufacturer = g_strdup(token->manufacturer);
	copy->model = g_strdup(token->model);
	copy->serial = g_strdup(token->serial);
	copy->module = g_strdup(token->module);
	copy->reader = g_strdup(token->reader);
	copy->atr = g_strdup(token->atr);
	copy->certificates = tw_store_strv_copy(token->certificates);
	copy->device_warnings = tw_store_strv_copy(token->device_warnings);
	copy->owners = tw_store_strv_copy(token->owners);
	return copy;
}

void
tw_stored_token_free(TwStoredToken *token)
{
	if (token == NULL)
		return;
	g_free(token->id);
	g_free(token->label);
	g_free(token->manufacturer);
	g_free(token->model);
	g_free(token->serial);
	g_free(token->module);
	g_free(token->reader);
	g_free(token->atr);
	g_strfreev(token->certificates);
	g_strfreev(token->device_warnings);
	g_strfreev(token->owners);
	g_free(token);
}

TwStoredCertificate *
tw_stored_certificate_new(const gchar *id)
{
	TwStoredCertificate *cert = g_new0(TwStoredCertificate, 1);

	cert->id = g_strdup(id);
	cert->warnings = g_new0(gchar *, 1);
	return cert;
}

TwStoredCertificate *
tw_stored_certificate_copy(const TwStoredCertificate *cert)
{
	TwStoredCertificate *copy;

	g_return_val_if_fail(cert != NULL, NULL);

	copy = g_memdup2(cert, sizeof(*cert));
	copy->id = g_strdup(cert->id);
	copy->der = cert->der != NULL ? g_bytes_ref(cert->der) : NULL;
	copy->token = g_strdup(cert->token);
	copy->label = g_strdup(cert->label);
	copy->ckaid = g_strdup(cert->ckaid);
	copy->warnings = tw_store_strv_copy(cert->warnings);
	copy->superseded_by = g_strdup(cert->superseded_by);
	return copy;
}

void
tw_stored_certificate_free(TwStoredCertificate *cert)
{
	if (cert == NULL)
		return;
	g_free(cert->id);
	if (cert->der != NULL)
		g_bytes_unref(cert->der);
	g_free(cert->token);
	g_free(cert->label);
	g_free(cert->ckaid);
	g_strfreev(cert->warnings);
	g_free(cert->superseded_by);
	g_free(cert);
}

/* writing a record */

/* Text as the token gave it: a readable value when it is valid UTF-8, else
 * KEY-base64= with the exact bytes. */
static void
tw_store_set_text(GKeyFile *kf, const gchar *group, const gchar *key, const gchar *value)
{
	if (value == NULL)
		value = "";
	if (g_utf8_validate(value, -1, NULL)) {
		g_key_file_set_string(kf, group, key, value);
	} else {
		g_autofree gchar *key_b64 = g_strconcat(key, "-base64", NULL);
		g_autofree gchar *b64 = g_base64_encode((const guchar *)value, strlen(value));

		g_key_file_set_string(kf, group, key_b64, b64);
	}
}

static void
tw_store_set_list(GKeyFile *kf, const gchar *group, const gchar *key, GStrv list)
{
	const gchar *const none[] = {NULL};
	const gchar *const *strv = list != NULL ? (const gchar *const *)list : none;

	g_key_file_set_string_list(kf, group, key, strv, g_strv_length((gchar **)strv));
}

/* [store] comes last: a file cut anywhere before its end has no valid
 * version, so truncation is always seen */
static GBytes *
tw_store_finish(GKeyFile *kf)
{
	gsize length = 0;
	gchar *data;

	g_key_file_set_integer(kf, "store", "version", TW_STORE_VERSION);
	data = g_key_file_to_data(kf, &length, NULL);
	return g_bytes_new_take(data, length);
}

static GBytes *
tw_stored_token_serialise(const TwStoredToken *token)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	const gchar *group = tw_store_kinds[TW_STORE_KIND_TOKEN].group;

	tw_store_set_text(kf, group, "label", token->label);
	tw_store_set_text(kf, group, "manufacturer", token->manufacturer);
	tw_store_set_text(kf, group, "model", token->model);
	tw_store_set_text(kf, group, "serial", token->serial);
	tw_store_set_text(kf, group, "module", token->module);
	tw_store_set_text(kf, group, "reader", token->reader);
	tw_store_set_text(kf, group, "atr", token->atr);
	g_key_file_set_int64(kf, group, "first-seen", token->first_seen);
	g_key_file_set_int64(kf, group, "last-seen", token->last_seen);
	g_key_file_set_uint64(kf, group, "flags", token->flags);
	g_key_file_set_uint64(kf, group, "total-memory", token->total_memory);
	g_key_file_set_uint64(kf, group, "free-memory", token->free_memory);
	g_key_file_set_uint64(kf, group, "unpaired-keys", token->unpaired_keys);
	tw_store_set_list(kf, group, "certificates", token->certificates);
	tw_store_set_list(kf, group, "device-warnings", token->device_warnings);
	tw_store_set_list(kf, group, "owners", token->owners);
	return tw_store_finish(kf);
}

static GBytes *
tw_stored_certificate_serialise(const TwStoredCertificate *cert)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	const gchar *group = tw_store_kinds[TW_STORE_KIND_CERTIFICATE].group;
	g_autofree gchar *der = NULL;

	if (cert->der != NULL) {
		gsize size = 0;
		const guchar *bytes = g_bytes_get_data(cert->der, &size);

		der = g_base64_encode(bytes, size);
	}
	g_key_file_set_string(kf, group, "der", der != NULL ? der : "");
	tw_store_set_text(kf, group, "token", cert->token);
	tw_store_set_text(kf, group, "label", cert->label);
	tw_store_set_text(kf, group, "ckaid", cert->ckaid);
	g_key_file_set_int64(kf, group, "first-seen", cert->first_seen);
	g_key_file_set_int64(kf, group, "last-seen", cert->last_seen);
	tw_store_set_list(kf, group, "warnings", cert->warnings);
	if (cert->superseded_by != NULL)
		g_key_file_set_string(kf, group, "superseded-by", cert->superseded_by);
	return tw_store_finish(kf);
}

/* reading a record */

static gboolean
tw_store_invalid(GError **error, const gchar *key, const gchar *why)
{
	g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s", key, why);
	return FALSE;
}

/* g_base64_decode() takes anything; a record must be exactly base64 */
static guchar *
tw_store_base64_decode(const gchar *text, gsize *length)
{
	gsize n = strlen(text);
	gsize pad = 0;

	if (n % 4 != 0)
		return NULL;
	for (gsize i = 0; i < n; i++) {
		if (text[i] == '=' && i + 2 >= n) {
			pad++;
			continue;
		}
		if (pad > 0 || !(g_ascii_isalnum(text[i]) || text[i] == '+' || text[i] == '/'))
			return NULL;
	}
	return g_base64_decode(text, length);
}

static gboolean
tw_store_get_text(GKeyFile *kf, const gchar *group, const gchar *key, gchar **out, GError **error)
{
	g_autofree gchar *key_b64 = g_strconcat(key, "-base64", NULL);
	g_autofree gchar *b64 = NULL;
	g_autofree guchar *bytes = NULL;
	gsize length = 0;

	if (g_key_file_has_key(kf, group, key, NULL) ||
	    !g_key_file_has_key(kf, group, key_b64, NULL)) {
		*out = g_key_file_get_string(kf, group, key, error);
		return *out != NULL;
	}
	b64 = g_key_file_get_string(kf, group, key_b64, error);
	if (b64 == NULL)
		return FALSE;
	bytes = tw_store_base64_decode(b64, &length);
	if (bytes == NULL || memchr(bytes, '\0', length) != NULL)
		return tw_store_invalid(error, key_b64, "not base64 of a string");
	*out = g_strndup((const gchar *)bytes, length);
	return TRUE;
}

static gboolean
tw_store_get_int64(GKeyFile *kf, const gchar *group, const gchar *key, gint64 *out, GError **error)
{
	g_autofree gchar *value = g_key_file_get_value(kf, group, key, error);
	g_autoptr(GError) error_local = NULL;

	if (value == NULL)
		return FALSE;
	if (!g_ascii_string_to_signed(value, 10, G_MININT64, G_MAXINT64, out, &error_local))
		return tw_store_invalid(error, key, error_local->message);
	return TRUE;
}

static gboolean
tw_store_get_uint64(GKeyFile *kf,
		    const gchar *group,
		    const gchar *key,
		    guint64 max,
		    guint64 *out,
		    GError **error)
{
	g_autofree gchar *value = g_key_file_get_value(kf, group, key, error);
	g_autoptr(GError) error_local = NULL;

	if (value == NULL)
		return FALSE;
	if (!g_ascii_string_to_unsigned(value, 10, 0, max, out, &error_local))
		return tw_store_invalid(error, key, error_local->message);
	return TRUE;
}

static gboolean
tw_store_get_list(GKeyFile *kf,
		  const gchar *group,
		  const gchar *key,
		  gboolean ids,
		  GStrv *out,
		  GError **error)
{
	GStrv list = g_key_file_get_string_list(kf, group, key, NULL, error);

	if (list == NULL)
		return FALSE;
	for (guint i = 0; ids && list[i] != NULL; i++) {
		if (!tw_store_id_is_valid(list[i])) {
			g_strfreev(list);
			return tw_store_invalid(error, key, "not a list of ids");
		}
	}
	g_strfreev(*out);
	*out = list;
	return TRUE;
}

static TwStoredToken *
tw_stored_token_parse(GKeyFile *kf, const gchar *id, GError **error)
{
	g_autoptr(TwStoredToken) token = tw_stored_token_new(id);
	const gchar *group = tw_store_kinds[TW_STORE_KIND_TOKEN].group;
	guint64 unpaired = 0;

	if (!tw_store_get_text(kf, group, "label", &token->label, error) ||
	    !tw_store_get_text(kf, group, "manufacturer", &token->manufacturer, error) ||
	    !tw_store_get_text(kf, group, "model", &token->model, error) ||
	    !tw_store_get_text(kf, group, "serial", &token->serial, error) ||
	    !tw_store_get_text(kf, group, "module", &token->module, error) ||
	    !tw_store_get_text(kf, group, "reader", &token->reader, error) ||
	    !tw_store_get_text(kf, group, "atr", &token->atr, error) ||
	    !tw_store_get_int64(kf, group, "first-seen", &token->first_seen, error) ||
	    !tw_store_get_int64(kf, group, "last-seen", &token->last_seen, error) ||
	    !tw_store_get_uint64(kf, group, "flags", G_MAXUINT64, &token->flags, error) ||
	    !tw_store_get_uint64(kf, group, "total-memory", G_MAXUINT64, &token->total_memory,
				 error) ||
	    !tw_store_get_uint64(kf, group, "free-memory", G_MAXUINT64, &token->free_memory,
				 error) ||
	    !tw_store_get_uint64(kf, group, "unpaired-keys", G_MAXUINT, &unpaired, error) ||
	    !tw_store_get_list(kf, group, "certificates", TRUE, &token->certificates, error) ||
	    !tw_store_get_list(kf, group, "device-warnings", FALSE, &token->device_warnings, error))
		return NULL;
	/* optional: records from before owners were kept have none */
	if (g_key_file_has_key(kf, group, "owners", NULL) &&
	    !tw_store_get_list(kf, group, "owners", FALSE, &token->owners, error))
		return NULL;
	for (guint i = 0; token->owners[i] != NULL; i++) {
		if (!g_ascii_string_to_unsigned(token->owners[i], 10, 0, G_MAXUINT32, NULL, NULL)) {
			tw_store_invalid(error, "owners", "not a list of uids");
			return NULL;
		}
	}
	token->unpaired_keys = (guint)unpaired;
	return g_steal_pointer(&token);
}

static TwStoredCertificate *
tw_stored_certificate_parse(GKeyFile *kf, const gchar *id, GError **error)
{
	g_autoptr(TwStoredCertificate) cert = tw_stored_certificate_new(id);
	const gchar *group = tw_store_kinds[TW_STORE_KIND_CERTIFICATE].group;
	g_autofree gchar *der = g_key_file_get_string(kf, group, "der", error);
	guchar *bytes;
	gsize length = 0;

	if (der == NULL)
		return NULL;
	bytes = tw_store_base64_decode(der, &length);
	if (bytes == NULL) {
		tw_store_invalid(error, "der", "not base64");
		return NULL;
	}
	cert->der = g_bytes_new_take(bytes, length);
	if (!tw_store_get_text(kf, group, "token", &cert->token, error) ||
	    !tw_store_get_text(kf, group, "label", &cert->label, error) ||
	    !tw_store_get_text(kf, group, "ckaid", &cert->ckaid, error) ||
	    !tw_store_get_int64(kf, group, "first-seen", &cert->first_seen, error) ||
	    !tw_store_get_int64(kf, group, "last-seen", &cert->last_seen, error) ||
	    !tw_store_get_list(kf, group, "warnings", FALSE, &cert->warnings, error))
		return NULL;
	if (*cert->token != '\0' && !tw_store_id_is_valid(cert->token)) {
		tw_store_invalid(error, "token", "not an id");
		return NULL;
	}
	if (!tw_store_hex_is_valid(cert->ckaid)) {
		tw_store_invalid(error, "ckaid", "not hex");
		return NULL;
	}
	if (g_key_file_has_key(kf, group, "superseded-by", NULL)) {
		cert->superseded_by = g_key_file_get_string(kf, group, "superseded-by", error);
		if (cert->superseded_by == NULL)
			return NULL;
		if (!tw_store_id_is_valid(cert->superseded_by)) {
			tw_store_invalid(error, "superseded-by", "not an id");
			return NULL;
		}
	}
	return g_steal_pointer(&cert);
}

/* Migrations: tw_store_migrations[v] turns a record of version v into one of
 * version v + 1, in place, before it is parsed. Version 0 (never released;
 * it shows how) had no atr and no device-warnings in tokens, and the DER in
 * hex. */
typedef gboolean (*TwStoreMigration)(GKeyFile *kf, GError **error);

static gboolean
tw_store_migrate_token_0(GKeyFile *kf, GError **error)
{
	const gchar *group = tw_store_kinds[TW_STORE_KIND_TOKEN].group;

	if (!g_key_file_has_key(kf, group, "atr", NULL))
		g_key_file_set_string(kf, group, "atr", "");
	if (!g_key_file_has_key(kf, group, "device-warnings", NULL))
		tw_store_set_list(kf, group, "device-warnings", NULL);
	return TRUE;
}

static gboolean
tw_store_migrate_certificate_0(GKeyFile *kf, GError **error)
{
	const gchar *group = tw_store_kinds[TW_STORE_KIND_CERTIFICATE].group;
	g_autofree gchar *hex = g_key_file_get_string(kf, group, "der", error);
	g_autofree guchar *der = NULL;
	g_autofree gchar *b64 = NULL;
	gsize length;

	if (hex == NULL)
		return FALSE;
	if (!tw_store_hex_is_valid(hex))
		return tw_store_invalid(error, "der", "not hex");
	length = strlen(hex) / 2;
	der = g_malloc(length + 1);
	for (gsize i = 0; i < length; i++)
		der[i] = (guchar)(g_ascii_xdigit_value(hex[2 * i]) << 4 |
				  g_ascii_xdigit_value(hex[2 * i + 1]));
	b64 = g_base64_encode(der, length);
	g_key_file_set_string(kf, group, "der", b64);
	return TRUE;
}

static const TwStoreMigration tw_store_migrations[TW_STORE_VERSION][TW_STORE_N_KINDS] = {
	[0] = {[TW_STORE_KIND_CERTIFICATE] = tw_store_migrate_certificate_0,
	       [TW_STORE_KIND_TOKEN] = tw_store_migrate_token_0},
};

/* the record in a file's content, migrated; NULL and @error when broken */
static gpointer
tw_store_parse(TwStoreKind kind,
	       const gchar *id,
	       const gchar *data,
	       gsize length,
	       gint64 *version,
	       GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();

	if (!g_key_file_load_from_data(kf, data, length, G_KEY_FILE_NONE, error) ||
	    !tw_store_get_int64(kf, "store", "version", version, error))
		return NULL;
	if (*version > TW_STORE_VERSION || *version < 0) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			    "version %" G_GINT64_FORMAT " is unknown to this tokenwatch (it knows "
			    "up to %d)",
			    *version, TW_STORE_VERSION);
		return NULL;
	}
	for (gint64 v = *version; v < TW_STORE_VERSION; v++) {
		if (!tw_store_migrations[v][kind](kf, error)) {
			g_prefix_error(error, "migrating from version %" G_GINT64_FORMAT ": ", v);
			return NULL;
		}
	}
	if (kind == TW_STORE_KIND_TOKEN)
		return tw_stored_token_parse(kf, id, error);
	return tw_stored_certificate_parse(kf, id, error);
}

/* loading */

static gboolean
tw_store_set_errno(GError **error, gint errsv, const gchar *what, const gchar *path)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "cannot %s %s: %s", what,
		    path, g_strerror(errsv));
	return FALSE;
}

/* a broken file goes out of the way, kept for whoever wants to repair it */
static void
tw_store_move_aside(const gchar *path, const gchar *why)
{
	g_autofree gchar *reason = g_utf8_make_valid(why, MIN(strlen(why), 200));
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	for (guint i = 0; i < 100; i++) {
		g_autofree gchar *aside =
			i == 0 ? g_strdup_printf("%s.broken-%" G_GINT64_FORMAT, path, now)
			       : g_strdup_printf("%s.broken-%" G_GINT64_FORMAT "-%u", path, now, i);
		GStatBuf st;

		if (g_lstat(aside, &st) == 0)
			continue;
		if (g_rename(path, aside) == 0) {
			g_warning("broken state file %s: %s; moved aside to %s", path, reason,
				  aside);
		} else {
			g_warning("broken state file %s: %s; ignored (cannot move it aside: %s)",
				  path, reason, g_strerror(errno));
		}
		return;
	}
	g_warning("broken state file %s: %s; ignored", path, reason);
}

/* like g_file_get_contents(), but a FIFO cannot block the start and a
 * huge file is not read; takes @fd, opened by tw_store_read_ahead() or -1 */
static gboolean
tw_store_read(gint fd, const gchar *path, gchar **data, gsize *length, GError **error)
{
	g_autofree gchar *buf = NULL;
	struct stat st;
	gsize done = 0;

	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return tw_store_set_errno(error, errno, "open", path);
	if (fstat(fd, &st) != 0) {
		gint errsv = errno;

		close(fd);
		return tw_store_set_errno(error, errsv, "stat", path);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TW_STORE_RECORD_MAX) {
		close(fd);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s",
			    S_ISREG(st.st_mode) ? "bigger than a record can be"
						: "not a regular file");
		return FALSE;
	}
	buf = g_malloc((gsize)st.st_size + 1);
	while (done < (gsize)st.st_size) {
		gssize n = read(fd, buf + done, (gsize)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			gint errsv = errno;

			close(fd);
			return tw_store_set_errno(error, errsv, "read", path);
		}
		if (n == 0)
			break;
		done += (gsize)n;
	}
	close(fd);
	buf[done] = '\0';
	*data = g_steal_pointer(&buf);
	*length = done;
	return TRUE;
}

/* the name of a record, ID.SUFFIX; @id set to ID, valid or not */
static gboolean
tw_store_name_is_record(const gchar *name, const gchar *suffix, gchar **id)
{
	if (!g_str_has_suffix(name, suffix))
		return FALSE;
	if (id != NULL)
		*id = g_strndup(name, strlen(name) - strlen(suffix));
	return TRUE;
}

/* Opens a record and asks the kernel to read it now: with many records and
 * a cold cache, the disk gets many reads at once instead of one after the
 * other (1,000 tokens + 10,000 certificates: 2.5 times faster). Returns -1
 * for anything else, or on error: tw_store_read() then says why. */
static gint
tw_store_read_ahead(const gchar *dir, const gchar *name, const gchar *suffix)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	gint fd;

	if (!tw_store_name_is_record(name, suffix, &id) || !tw_store_id_is_valid(id))
		return -1;
	path = g_build_filename(dir, name, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
	return fd;
}

/* ID.SUFFIX.XXXXXX: left by g_file_set_contents_full() when the process died
 * between creating its temporary file and renaming it */
static gboolean
tw_store_name_is_temporary(const gchar *name, const gchar *suffix)
{
	gsize n = strlen(name);
	gsize s = strlen(suffix);
	g_autofree gchar *id = NULL;

	if (n != TW_STORE_ID_LENGTH + s + 1 + TW_STORE_TEMP_LENGTH ||
	    strncmp(name + TW_STORE_ID_LENGTH, suffix, s) != 0 ||
	    name[TW_STORE_ID_LENGTH + s] != '.')
		return FALSE;
	for (gsize i = n - TW_STORE_TEMP_LENGTH; i < n; i++) {
		if (!g_ascii_isalnum(name[i]))
			return FALSE;
	}
	id = g_strndup(name, TW_STORE_ID_LENGTH);
	return tw_store_id_is_valid(id);
}

/* One directory entry: a record added to @records, one migrated also to
 * @rewrite, anything else out of the way. @fd is tw_store_read_ahead()'s:
 * -1 except for a record's name, and then tw_store_read() closes it. */
static void
tw_store_load_entry(TwStore *self,
		    TwStoreKind kind,
		    const gchar *dir,
		    const gchar *name,
		    gint fd,
		    GPtrArray *records,
		    GPtrArray *rewrite)
{
	const gchar *suffix = tw_store_kinds[kind].suffix;
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autofree gchar *id = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(GError) error = NULL;
	gsize length = 0;
	gint64 version = 0;
	gpointer record;

	if (tw_store_name_is_temporary(name, suffix)) {
		/* only ours, while no write of ours can be under way */
		if (self->worker == NULL && g_unlink(path) == 0)
			g_debug("removed %s, left by an interrupted write", path);
		return;
	}
	if (!tw_store_name_is_record(name, suffix, &id)) {
		g_debug("%s: not a record, ignored", path);
		return;
	}
	if (!tw_store_id_is_valid(id)) {
		tw_store_move_aside(path, "the name is not a 16-digit lowercase hex id");
		return;
	}
	if (!tw_store_read(fd, path, &data, &length, &error)) {
		tw_store_move_aside(path, error->message);
		return;
	}
	record = tw_store_parse(kind, id, data, length, &version, &error);
	if (record == NULL) {
		tw_store_move_aside(path, error->message);
		return;
	}
	g_ptr_array_add(records, record);
	if (version == TW_STORE_VERSION)
		return;
	/* written again in the current format */
	g_info("%s: migrated from version %" G_GINT64_FORMAT, path, version);
	g_ptr_array_add(rewrite,
			tw_store_change_new(self, kind, id,
					    kind == TW_STORE_KIND_TOKEN
						    ? tw_stored_token_serialise(record)
						    : tw_stored_certificate_serialise(record)));
}

static gint
tw_store_compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const gchar *const *)a, *(const gchar *const *)b);
}

static void tw_store_queue(TwStore *self, TwStoreChange *change);

static gboolean
tw_store_load_kind(
	TwStore *self, TwStoreKind kind, GPtrArray *records, GPtrArray *rewrite, GError **error)
{
	g_autofree gchar *dir =
		g_build_filename(self->directory, tw_store_kinds[kind].subdir, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GDir) listing = g_dir_open(dir, 0, &error_local);
	const gchar *name;

	if (listing == NULL) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOTDIR)) {
			tw_store_move_aside(dir, "not a directory");
			return TRUE;
		}
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "cannot read the state: ");
		return FALSE;
	}
	/* in order: the same warnings in the same order every time */
	while ((name = g_dir_read_name(listing)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, tw_store_compare_names);
	for (guint start = 0; start < names->len; start += TW_STORE_READ_AHEAD) {
		guint n = MIN(TW_STORE_READ_AHEAD, names->len - start);
		gint fds[TW_STORE_READ_AHEAD];

		for (guint i = 0; i < n; i++)
			fds[i] = tw_store_read_ahead(dir, g_ptr_array_index(names, start + i),
						     tw_store_kinds[kind].suffix);
		for (guint i = 0; i < n; i++)
			tw_store_load_entry(self, kind, dir, g_ptr_array_index(names, start + i),
					    fds[i], records, rewrite);
	}
	return TRUE;
}

/**
 * tw_store_load:
 * @tokens: (out) (transfer container) (element-type TwStoredToken)
 * @certificates: (out) (transfer container) (element-type TwStoredCertificate)
 *
 * Reads every record, in the caller's thread: call it once, at start-up,
 * before any put. A bad record is moved aside with a warning and does not
 * fail the load; a missing directory is an empty store.
 *
 * Returns: FALSE only when the directory exists and cannot be read at all
 */
gboolean
tw_store_load(TwStore *self, GPtrArray **tokens, GPtrArray **certificates, GError **error)
{
	g_autoptr(GPtrArray) token_array =
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_stored_token_free);
	g_autoptr(GPtrArray) cert_array =
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_stored_certificate_free);
	g_autoptr(GPtrArray) rewrite = g_ptr_array_new();
	GStatBuf st;

	g_return_val_if_fail(TW_IS_STORE(self), FALSE);
	g_return_val_if_fail(tokens != NULL && certificates != NULL, FALSE);

	if (g_stat(self->directory, &st) != 0) {
		if (errno != ENOENT)
			return tw_store_set_errno(error, errno, "read the state in",
						  self->directory);
		g_info("no state in %s yet", self->directory);
	} else if (!S_ISDIR(st.st_mode)) {
		return tw_store_set_errno(error, ENOTDIR, "read the state in", self->directory);
	} else if (!tw_store_load_kind(self, TW_STORE_KIND_CERTIFICATE, cert_array, rewrite,
				       error) ||
		   !tw_store_load_kind(self, TW_STORE_KIND_TOKEN, token_array, rewrite, error)) {
		return FALSE;
	}
	g_info("state: %u tokens and %u certificates from %s", token_array->len, cert_array->len,
	       self->directory);
	for (guint i = 0; i < rewrite->len; i++)
		tw_store_queue(self, g_ptr_array_index(rewrite, i));
	*tokens = g_steal_pointer(&token_array);
	*certificates = g_steal_pointer(&cert_array);
	return TRUE;
}

/* the worker */

static gboolean
tw_store_apply(TwStoreChange *change, gboolean *dir_ready, GError **error)
{
	gsize size = 0;
	const gchar *data;

	if (change->data == NULL) {
		/* a missing directory holds no file either */
		if (g_unlink(change->path) != 0 && errno != ENOENT && errno != ENOTDIR)
			return tw_store_set_errno(error, errno, "remove", change->path);
		return TRUE;
	}
	if (!*dir_ready) {
		g_autofree gchar *dir = g_path_get_dirname(change->path);

		if (g_mkdir_with_parents(dir, 0700) != 0)
			return tw_store_set_errno(error, errno, "create the directory", dir);
		*dir_ready = TRUE;
	}
	data = g_bytes_get_data(change->data, &size);
	return g_file_set_contents_full(
		change->path, data, (gssize)size,
		G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

/* GLib syncs the directory after a write, not after a removal: a record
 * forgotten must not come back after a power cut */
static void
tw_store_sync_directory(TwStore *self, TwStoreKind kind)
{
	g_autofree gchar *dir =
		g_build_filename(self->directory, tw_store_kinds[kind].subdir, NULL);
	gint fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fsync(fd) != 0)
		g_debug("cannot sync %s: %s", dir, g_strerror(errno));
	close(fd);
}

/* a kind of failure is a warning the first time, then debug, until the
 * state can be written again */
static void
tw_store_report(TwStore *self, const gchar *path, const GError *error)
{
	gchar *kind = g_strdup_printf("%s:%d", g_quark_to_string(error->domain), error->code);

	if (g_hash_table_add(self->warned, kind))
		g_warning("cannot write the state: %s; keeping the changes and retrying",
			  error->message);
	else
		g_debug("still cannot write %s: %s", path, error->message);
}

/* writes what was taken; what failed goes back unless something newer came */
static void
tw_store_write(TwStore *self, GPtrArray *batch, guint64 flush_gen)
{
	gboolean dir_ready[TW_STORE_N_KINDS] = {FALSE};
	gboolean removed[TW_STORE_N_KINDS] = {FALSE};
	g_autoptr(GPtrArray) failed =
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_store_change_free);
	guint written = 0;

	for (guint i = 0; i < batch->len; i++) {
		TwStoreChange *change = g_ptr_array_index(batch, i);
		g_autoptr(GError) error = NULL;

		if (!tw_store_apply(change, &dir_ready[change->kind], &error)) {
			tw_store_report(self, change->path, error);
			g_ptr_array_add(failed, g_steal_pointer(&batch->pdata[i]));
			continue;
		}
		if (change->data != NULL)
			written++;
		else
			removed[change->kind] = TRUE;
	}
	for (guint k = 0; k < TW_STORE_N_KINDS; k++) {
		if (removed[k])
			tw_store_sync_directory(self, k);
	}
	/* logged before anyone can see the state change */
	if (failed->len == 0 && !self->healthy) {
		g_hash_table_remove_all(self->warned);
		g_message("state written again to %s", self->directory);
	}

	g_mutex_lock(&self->mutex);
	for (guint i = 0; i < failed->len; i++) {
		TwStoreChange *change = g_ptr_array_index(failed, i);

		if (!g_hash_table_contains(self->queue, change->path)) {
			g_hash_table_replace(self->queue, change->path,
					     g_steal_pointer(&failed->pdata[i]));
		}
	}
	self->in_flight = 0;
	self->write_count += written;
	self->healthy = failed->len == 0;
	if (self->healthy) {
		self->backoff_ms = 0;
		self->retry_at = 0;
	} else {
		self->backoff_ms = self->backoff_ms == 0
					   ? self->backoff_first_ms
					   : MIN(self->backoff_ms * 2, self->backoff_max_ms);
		self->retry_at = g_get_monotonic_time() + (gint64)self->backoff_ms * 1000;
	}
	/* a flush asked during this round is done when nothing is left */
	self->flush_done = g_hash_table_size(self->queue) == 0 ? self->flush_asked
							       : MAX(self->flush_done, flush_gen);
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->mutex);
}

/* by path: certificates/ before tokens/, so that a token never lists a
 * certificate not yet written */
static gint
tw_store_compare_changes(gconstpointer a, gconstpointer b)
{
	const TwStoreChange *ca = *(TwStoreChange *const *)a;
	const TwStoreChange *cb = *(TwStoreChange *const *)b;

	return strcmp(ca->path, cb->path);
}

/* with the lock held: every queued change */
static GPtrArray *
tw_store_take(TwStore *self)
{
	GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)tw_store_change_free);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->queue);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		g_ptr_array_add(batch, value);
		g_hash_table_iter_steal(&iter);
	}
	g_ptr_array_sort(batch, tw_store_compare_changes);
	self->in_flight = batch->len;
	return batch;
}

static gpointer
tw_store_worker(gpointer data)
{
	TwStore *self = data;

	g_mutex_lock(&self->mutex);
	while (!self->stopping) {
		g_autoptr(GPtrArray) batch = NULL;
		guint64 flush_gen = self->flush_asked;
		gint64 due;

		if (g_hash_table_size(self->queue) == 0) {
			g_cond_wait(&self->cond, &self->mutex);
			continue;
		}
		/* a flush writes now, whatever the debounce or backoff */
		due = MAX(self->first_change + (gint64)self->debounce_ms * 1000, self->retry_at);
		if (flush_gen == self->flush_done && g_get_monotonic_time() < due) {
			g_cond_wait_until(&self->cond, &self->mutex, due);
			continue;
		}
		batch = tw_store_take(self);
		g_mutex_unlock(&self->mutex);
		tw_store_write(self, batch, flush_gen);
		g_clear_pointer(&batch, g_ptr_array_unref);
		g_mutex_lock(&self->mutex);
	}
	g_mutex_unlock(&self->mutex);
	return NULL;
}

/* the caller's side */

static void
tw_store_queue(TwStore *self, TwStoreChange *change)
{
	g_mutex_lock(&self->mutex);
	if (g_hash_table_size(self->queue) == 0)
		self->first_change = g_get_monotonic_time();
	/* the latest content for a path wins */
	g_hash_table_replace(self->queue, change->path, change);
	if (self->worker == NULL)
		self->worker = g_thread_new("tw-store", tw_store_worker, self);
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->mutex);
}

void
tw_store_put_token(TwStore *self, const TwStoredToken *token)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_return_if_fail(token != NULL && tw_store_id_is_valid(token->id));

	for (guint i = 0; token->certificates != NULL && token->certificates[i] != NULL; i++)
		g_return_if_fail(tw_store_id_is_valid(token->certificates[i]));
	tw_store_queue(self, tw_store_change_new(self, TW_STORE_KIND_TOKEN, token->id,
						 tw_stored_token_serialise(token)));
}

void
tw_store_put_certificate(TwStore *self, const TwStoredCertificate *cert)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_return_if_fail(cert != NULL && tw_store_id_is_valid(cert->id));
	g_return_if_fail(cert->token == NULL || *cert->token == '\0' ||
			 tw_store_id_is_valid(cert->token));
	g_return_if_fail(cert->ckaid == NULL || tw_store_hex_is_valid(cert->ckaid));
	g_return_if_fail(cert->superseded_by == NULL || tw_store_id_is_valid(cert->superseded_by));

	tw_store_queue(self, tw_store_change_new(self, TW_STORE_KIND_CERTIFICATE, cert->id,
						 tw_stored_certificate_serialise(cert)));
}

void
tw_store_remove_token(TwStore *self, const gchar *id)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_return_if_fail(tw_store_id_is_valid(id));
	tw_store_queue(self, tw_store_change_new(self, TW_STORE_KIND_TOKEN, id, NULL));
}

void
tw_store_remove_certificate(TwStore *self, const gchar *id)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_return_if_fail(tw_store_id_is_valid(id));
	tw_store_queue(self, tw_store_change_new(self, TW_STORE_KIND_CERTIFICATE, id, NULL));
}

/**
 * tw_store_flush:
 * @timeout_ms: the longest wait
 *
 * Writes what is queued now, ignoring the debounce and any backoff, and waits
 * for it: at shutdown. One attempt: it does not wait for retries.
 *
 * Returns: TRUE if nothing is left to write
 */
gboolean
tw_store_flush(TwStore *self, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint64 gen;
	gboolean done;

	g_return_val_if_fail(TW_IS_STORE(self), FALSE);

	g_mutex_lock(&self->mutex);
	if (g_hash_table_size(self->queue) + self->in_flight == 0) {
		g_mutex_unlock(&self->mutex);
		return TRUE;
	}
	gen = ++self->flush_asked;
	g_cond_broadcast(&self->cond);
	while (g_hash_table_size(self->queue) + self->in_flight > 0 && self->flush_done < gen) {
		if (!g_cond_wait_until(&self->cond, &self->mutex, deadline))
			break;
	}
	done = g_hash_table_size(self->queue) + self->in_flight == 0;
	g_mutex_unlock(&self->mutex);
	return done;
}

/* changes not yet written, the one being written included */
guint
tw_store_get_pending(TwStore *self)
{
	guint pending;

	g_return_val_if_fail(TW_IS_STORE(self), 0);
	g_mutex_lock(&self->mutex);
	pending = g_hash_table_size(self->queue) + self->in_flight;
	g_mutex_unlock(&self->mutex);
	return pending;
}

/* FALSE from a failed write until a round of writes fully succeeds */
gboolean
tw_store_get_healthy(TwStore *self)
{
	gboolean healthy;

	g_return_val_if_fail(TW_IS_STORE(self), FALSE);
	g_mutex_lock(&self->mutex);
	healthy = self->healthy;
	g_mutex_unlock(&self->mutex);
	return healthy;
}

/* files written so far (removals not counted) */
guint64
tw_store_get_write_count(TwStore *self)
{
	guint64 count;

	g_return_val_if_fail(TW_IS_STORE(self), 0);
	g_mutex_lock(&self->mutex);
	count = self->write_count;
	g_mutex_unlock(&self->mutex);
	return count;
}

/* changes are written this long after the first of them */
void
tw_store_set_debounce_ms(TwStore *self, guint ms)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_mutex_lock(&self->mutex);
	self->debounce_ms = ms;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->mutex);
}

/* after a failure, the next try waits @first_ms, doubling up to @max_ms */
void
tw_store_set_backoff_ms(TwStore *self, guint first_ms, guint max_ms)
{
	g_return_if_fail(TW_IS_STORE(self));
	g_return_if_fail(first_ms > 0 && first_ms <= max_ms);
	g_mutex_lock(&self->mutex);
	self->backoff_first_ms = first_ms;
	self->backoff_max_ms = max_ms;
	g_mutex_unlock(&self->mutex);
}

/* $STATE_DIRECTORY (systemd's StateDirectory=, the first of a ':' list),
 * else the user's state directory for a session daemon, else the system's */
const gchar *
tw_store_default_directory(gboolean session_bus)
{
	const gchar *env = g_getenv("STATE_DIRECTORY");
	g_autofree gchar *path = NULL;

	if (env != NULL && *env != '\0' && *env != ':') {
		g_auto(GStrv) dirs = g_strsplit(env, ":", 2);

		return g_intern_string(dirs[0]);
	}
	if (session_bus)
		path = g_build_filename(g_get_user_state_dir(), "tokenwatch", NULL);
	else
		path = g_build_filename(TW_LOCALSTATEDIR, "lib", "tokenwatch", NULL);
	return g_intern_string(path);
}

const gchar *
tw_store_get_directory(TwStore *self)
{
	g_return_val_if_fail(TW_IS_STORE(self), NULL);
	return self->directory;
}

static void
tw_store_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TwStore *self = TW_STORE(object);

	switch (prop_id) {
	case PROP_DIRECTORY:
		g_value_set_string(value, self->directory);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
tw_store_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
	TwStore *self = TW_STORE(object);

	switch (prop_id) {
	case PROP_DIRECTORY:
		self->directory = g_value_dup_string(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
tw_store_finalize(GObject *object)
{
	TwStore *self = TW_STORE(object);
	guint lost;

	if (self->worker != NULL) {
		g_mutex_lock(&self->mutex);
		self->stopping = TRUE;
		g_cond_broadcast(&self->cond);
		g_mutex_unlock(&self->mutex);
		g_thread_join(self->worker);
	}
	lost = g_hash_table_size(self->queue);
	if (lost > 0)
		g_warning("%u changes to the state in %s were not written", lost, self->directory);
	g_hash_table_unref(self->queue);
	g_hash_table_unref(self->warned);
	g_mutex_clear(&self->mutex);
	g_cond_clear(&self->cond);
	g_free(self->directory);
	G_OBJECT_CLASS(tw_store_parent_class)->finalize(object);
}

static void
tw_store_init(TwStore *self)
{
	g_mutex_init(&self->mutex);
	g_cond_init(&self->cond);
	self->queue = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    (GDestroyNotify)tw_store_change_free);
	self->warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->debounce_ms = TW_STORE_DEBOUNCE_MS_DEFAULT;
	self->backoff_first_ms = TW_STORE_BACKOFF_MS_FIRST;
	self->backoff_max_ms = TW_STORE_BACKOFF_MS_MAX;
	self->healthy = TRUE;
}

static void
tw_store_class_init(TwStoreClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = tw_store_get_property;
	object_class->set_property = tw_store_set_property;
	object_class->finalize = tw_store_finalize;

	props[PROP_DIRECTORY] = g_param_spec_string("directory", NULL, NULL, NULL,
						    G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
							    G_PARAM_STATIC_STRINGS);
	g_object_class_install_properties(object_class, N_PROPS, props);
}

/* @directory: where the state lives; created, 0700, at the first write */
TwStore *
tw_store_new(const gchar *directory)
{
	g_return_val_if_fail(directory != NULL, NULL);
	return g_object_new(TW_TYPE_STORE, "directory", directory, NULL);
}

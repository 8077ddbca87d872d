/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A PKCS#11 token as the engine knows it, made from what tw-p11 read: every
 * string valid UTF-8 for people and D-Bus, PIN states from the token flags.
 * One "changed" signal for any change: the adaptor then copies it all.
 */
#define G_LOG_DOMAIN "TwToken"

#include "config.h"

#include <gio/gio.h>
/* the GNU names, as tw-p11.c: the standard ones rename struct members */
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>
#include <stdlib.h>
#include <string.h>

#include "tw-names.h"
#include "tw-token.h"

/* CK_TOKEN_INFO fields are at most 32 bytes; a module may still misbehave */
#define TW_TOKEN_FIELD_MAX_CHARS 64

struct _TwToken {
	GObject parent_instance;
	gchar *id;
	gchar *reader_name; /* the slot description, raw: the PC/SC reader name */
	gchar *label;
	gchar *manufacturer;
	gchar *model;
	gchar *serial;
	gint64 first_seen;
	gint64 last_seen;
	const gchar *user_pin_state;
	const gchar *so_pin_state;
	guint64 total_memory;
	guint64 free_memory;
	guint unpaired_keys;
	gchar *module;
	gchar *module_path;
	gchar *error;
	GPtrArray *cert_ids; /* gchar*, in the order found */
	gboolean present;
	gchar *atr;		   /* of the card it was last seen in, "" if unknown */
	guint64 flags;		   /* CK_TOKEN_INFO flags of the last read */
	gchar *device_name;	   /* from the device data, "" if none matched */
	gint64 qscd_until;	   /* end of the device's QSCD certification, 0 if unknown */
	guint qualified_capacity;  /* qualified certificates the device holds, 0 if unknown */
	GHashTable *device_warned; /* thresholds announced for the certification end */
	GPtrArray *advice;	   /* TwAdvice */
	GArray *owners;		   /* guint32 uids, in the order first seen */
};

G_DEFINE_TYPE(TwToken, tw_token, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

/**
 * tw_token_id_for:
 *
 * The token's id: stable across insertions and readers, from what the token
 * says of itself. The first 16 hex digits of a SHA-256, so that any bytes a
 * token gives make a short, valid object path.
 */
gchar *
tw_token_id_for(const gchar *manufacturer, const gchar *model, const gchar *serial)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(sum, (const guchar *)manufacturer, (gssize)strlen(manufacturer) + 1);
	g_checksum_update(sum, (const guchar *)model, (gssize)strlen(model) + 1);
	g_checksum_update(sum, (const guchar *)serial, (gssize)strlen(serial) + 1);
	return g_strndup(g_checksum_get_string(sum), 16);
}

/* a token nobody initialised (a blank card, SoftHSM's free slot) holds
 * nothing tokenwatch watches */
gboolean
tw_token_p11_is_initialized(const TwP11Token *p11)
{
	return (p11->flags & CKF_TOKEN_INITIALIZED) != 0;
}

/* the worst state first: that is the one people must act on */
const gchar *
tw_token_user_pin_state(gulong flags)
{
	if (flags & CKF_USER_PIN_LOCKED)
		return "locked";
	if (flags & CKF_USER_PIN_FINAL_TRY)
		return "final-try";
	if (flags & CKF_USER_PIN_COUNT_LOW)
		return "count-low";
	if (flags & CKF_USER_PIN_TO_BE_CHANGED)
		return "to-be-changed";
	if (flags & CKF_USER_PIN_INITIALIZED)
		return "ok";
	return "unknown";
}

const gchar *
tw_token_so_pin_state(gulong flags)
{
	if (flags & CKF_SO_PIN_LOCKED)
		return "locked";
	if (flags & CKF_SO_PIN_FINAL_TRY)
		return "final-try";
	if (flags & CKF_SO_PIN_COUNT_LOW)
		return "count-low";
	if (flags & CKF_SO_PIN_TO_BE_CHANGED)
		return "to-be-changed";
	/* PKCS#11 has no "SO PIN initialised" flag: an initialised token has one */
	if (flags & CKF_TOKEN_INITIALIZED)
		return "ok";
	return "unknown";
}

static gboolean
tw_token_set_string(gchar **field, const gchar *value)
{
	g_autofree gchar *display = tw_names_make_display(value, TW_TOKEN_FIELD_MAX_CHARS);

	g_strstrip(display);
	if (g_strcmp0(*field, display) == 0)
		return FALSE;
	g_free(*field);
	*field = g_steal_pointer(&display);
	return TRUE;
}

/* a file name is used as it is, or not at all: "" when it is not UTF-8
 * (D-Bus strings are) or not absolute */
static gboolean
tw_token_set_path(gchar **field, const gchar *path)
{
	const gchar *value =
		path != NULL && g_path_is_absolute(path) && g_utf8_validate(path, -1, NULL) ? path
											    : "";

	if (g_strcmp0(*field, value) == 0)
		return FALSE;
	g_free(*field);
	*field = g_strdup(value);
	return TRUE;
}

static guint
tw_token_count_unpaired(const TwP11Token *p11)
{
	guint n = 0;

	for (guint i = 0; p11->public_keys != NULL && i < p11->public_keys->len; i++) {
		const TwP11Object *key = g_ptr_array_index(p11->public_keys, i);
		gboolean paired = FALSE;

		for (guint j = 0; p11->certificates != NULL && j < p11->certificates->len; j++) {
			const TwP11Object *cert = g_ptr_array_index(p11->certificates, j);

			if (key->id != NULL && cert->id != NULL &&
			    g_bytes_equal(key->id, cert->id)) {
				paired = TRUE;
				break;
			}
		}
		n += paired ? 0 : 1;
	}
	return n;
}

static gboolean
tw_token_set_cert_ids(TwToken *self, GPtrArray *cert_ids)
{
	gboolean same = cert_ids->len == self->cert_ids->len;

	for (guint i = 0; same && i < cert_ids->len; i++)
		same = g_strcmp0(g_ptr_array_index(cert_ids, i),
				 g_ptr_array_index(self->cert_ids, i)) == 0;
	if (same)
		return FALSE;
	g_ptr_array_set_size(self->cert_ids, 0);
	for (guint i = 0; i < cert_ids->len; i++)
		g_ptr_array_add(self->cert_ids, g_strdup(g_ptr_array_index(cert_ids, i)));
	return TRUE;
}

/**
 * tw_token_update:
 * @p11: what was read
 * @cert_ids: (element-type utf8): ids of the certificates on it, in order
 * @now: Unix seconds
 *
 * Takes what a read of the token found; emits "changed" if anything did.
 */
void
tw_token_update(TwToken *self, const TwP11Token *p11, GPtrArray *cert_ids, gint64 now)
{
	gboolean changed = FALSE;
	const gchar *user = tw_token_user_pin_state(p11->flags);

	self->flags = p11->flags;
	const gchar *so = tw_token_so_pin_state(p11->flags);
	guint unpaired = tw_token_count_unpaired(p11);

	g_return_if_fail(TW_IS_TOKEN(self));

	if (g_strcmp0(self->reader_name, p11->slot_description) != 0) {
		g_free(self->reader_name);
		self->reader_name = g_strdup(p11->slot_description);
		changed = TRUE;
	}
	changed |= tw_token_set_string(&self->label, p11->label);
	changed |= tw_token_set_string(&self->manufacturer, p11->manufacturer);
	changed |= tw_token_set_string(&self->model, p11->model);
	changed |= tw_token_set_string(&self->serial, p11->serial);
	changed |= tw_token_set_string(&self->module, p11->module);
	changed |= tw_token_set_path(&self->module_path, p11->module_path);
	if (self->user_pin_state != user || self->so_pin_state != so) {
		self->user_pin_state = user;
		self->so_pin_state = so;
		changed = TRUE;
	}
	if (self->total_memory != p11->total_private_memory + p11->total_public_memory ||
	    self->free_memory != p11->free_private_memory + p11->free_public_memory ||
	    self->unpaired_keys != unpaired) {
		self->total_memory = p11->total_private_memory + p11->total_public_memory;
		self->free_memory = p11->free_private_memory + p11->free_public_memory;
		self->unpaired_keys = unpaired;
		changed = TRUE;
	}
	changed |= tw_token_set_cert_ids(self, cert_ids);
	if (g_strcmp0(self->error, p11->error != NULL ? p11->error : "") != 0) {
		g_free(self->error);
		self->error = g_strdup(p11->error != NULL ? p11->error : "");
		changed = TRUE;
	}
	if (self->first_seen == 0)
		self->first_seen = now;
	if (self->last_seen != now) {
		self->last_seen = now;
		changed = TRUE;
	}
	if (changed)
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

void
tw_advice_free(TwAdvice *advice)
{
	if (advice == NULL)
		return;
	g_free(advice->code);
	g_free(advice->text);
	g_free(advice);
}

TwAdvice *
tw_advice_new(const gchar *code, const gchar *severity, const gchar *text)
{
	TwAdvice *advice = g_new0(TwAdvice, 1);

	advice->code = g_strdup(code);
	advice->severity = g_intern_string(severity);
	advice->text = g_strdup(text);
	return advice;
}

guint64
tw_token_get_flags(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->flags;
}

void
tw_token_set_flags(TwToken *self, guint64 flags)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	self->flags = flags;
}

const gchar *
tw_token_get_atr(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->atr;
}

void
tw_token_set_atr(TwToken *self, const gchar *atr)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	if (atr == NULL || *atr == '\0' || g_strcmp0(self->atr, atr) == 0)
		return;
	g_free(self->atr);
	self->atr = g_strdup(atr);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/**
 * tw_token_set_device:
 * @name: (nullable): product name, NULL when no device entry matched
 * @qscd_until: end of the QSCD certification, 0 if unknown
 * @capacity: qualified certificates the device holds, 0 if unknown
 */
void
tw_token_set_device(TwToken *self, const gchar *name, gint64 qscd_until, guint capacity)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	if (g_strcmp0(self->device_name, name != NULL ? name : "") == 0 &&
	    self->qscd_until == qscd_until && self->qualified_capacity == capacity)
		return;
	g_free(self->device_name);
	self->device_name = g_strdup(name != NULL ? name : "");
	self->qscd_until = qscd_until;
	self->qualified_capacity = capacity;
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

const gchar *
tw_token_get_device_name(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->device_name;
}

gint64
tw_token_get_qscd_until(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->qscd_until;
}

guint
tw_token_get_qualified_capacity(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->qualified_capacity;
}

gboolean
tw_token_has_device_warned(TwToken *self, const gchar *threshold)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), FALSE);
	return g_hash_table_contains(self->device_warned, threshold);
}

void
tw_token_add_device_warned(TwToken *self, const gchar *threshold)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	/* changed: it is remembered, in the state */
	if (g_hash_table_add(self->device_warned, g_strdup(threshold)))
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/* Returns: (transfer full): the thresholds announced, sorted */
GStrv
tw_token_get_device_warned(TwToken *self)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree gpointer *keys = NULL;
	guint n = 0;

	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	keys = g_hash_table_get_keys_as_array(self->device_warned, &n);
	qsort(keys, n, sizeof(gpointer), (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < n; i++)
		g_strv_builder_add(builder, keys[i]);
	return g_strv_builder_end(builder);
}

void
tw_token_set_device_warned(TwToken *self, const gchar *const *thresholds)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	g_hash_table_remove_all(self->device_warned);
	for (guint i = 0; thresholds != NULL && thresholds[i] != NULL; i++)
		g_hash_table_add(self->device_warned, g_strdup(thresholds[i]));
}

/* Returns: (transfer none) (element-type guint32): uids, in the order first seen */
GArray *
tw_token_get_owners(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->owners;
}

/* the users of the active sessions now: added to those the token had */
void
tw_token_add_owners(TwToken *self, GArray *uids)
{
	gboolean changed = FALSE;

	g_return_if_fail(TW_IS_TOKEN(self));
	for (guint i = 0; uids != NULL && i < uids->len; i++) {
		guint32 uid = g_array_index(uids, guint32, i);
		gboolean known = FALSE;

		for (guint j = 0; j < self->owners->len && !known; j++)
			known = g_array_index(self->owners, guint32, j) == uid;
		if (!known) {
			g_array_append_val(self->owners, uid);
			changed = TRUE;
		}
	}
	if (changed)
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/* Returns: (transfer none) (element-type TwAdvice) */
GPtrArray *
tw_token_get_advice(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->advice;
}

/**
 * tw_token_set_advice:
 * @advice: (transfer full) (element-type TwAdvice)
 */
void
tw_token_set_advice(TwToken *self, GPtrArray *advice)
{
	gboolean same;

	g_return_if_fail(TW_IS_TOKEN(self));
	same = advice->len == self->advice->len;
	for (guint i = 0; same && i < advice->len; i++) {
		TwAdvice *a = g_ptr_array_index(advice, i);
		TwAdvice *b = g_ptr_array_index(self->advice, i);

		same = g_strcmp0(a->code, b->code) == 0 && a->severity == b->severity &&
		       g_strcmp0(a->text, b->text) == 0;
	}
	if (same) {
		g_ptr_array_unref(advice);
		return;
	}
	g_ptr_array_unref(self->advice);
	self->advice = advice;
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/**
 * tw_token_restore:
 *
 * What the state remembered of a token not read yet since the start.
 */
void
tw_token_restore(TwToken *self,
		 const gchar *label,
		 const gchar *manufacturer,
		 const gchar *model,
		 const gchar *serial,
		 const gchar *module,
		 const gchar *reader_name,
		 gint64 first_seen,
		 gint64 last_seen,
		 guint64 flags,
		 guint64 total_memory,
		 guint64 free_memory,
		 guint unpaired_keys,
		 const gchar *const *cert_ids)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	tw_token_set_string(&self->label, label);
	tw_token_set_string(&self->manufacturer, manufacturer);
	tw_token_set_string(&self->model, model);
	tw_token_set_string(&self->serial, serial);
	tw_token_set_string(&self->module, module);
	g_free(self->reader_name);
	self->reader_name = g_strdup(reader_name != NULL ? reader_name : "");
	self->first_seen = first_seen;
	self->last_seen = last_seen;
	self->flags = flags;
	self->user_pin_state = tw_token_user_pin_state((gulong)flags);
	self->so_pin_state = tw_token_so_pin_state((gulong)flags);
	self->total_memory = total_memory;
	self->free_memory = free_memory;
	self->unpaired_keys = unpaired_keys;
	g_ptr_array_set_size(self->cert_ids, 0);
	for (guint i = 0; cert_ids != NULL && cert_ids[i] != NULL; i++)
		g_ptr_array_add(self->cert_ids, g_strdup(cert_ids[i]));
}

gboolean
tw_token_get_present(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), FALSE);
	return self->present;
}

void
tw_token_set_present(TwToken *self, gboolean present)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	if (self->present == present)
		return;
	self->present = present;
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

void
tw_token_set_error(TwToken *self, const gchar *error)
{
	g_return_if_fail(TW_IS_TOKEN(self));
	if (g_strcmp0(self->error, error != NULL ? error : "") == 0)
		return;
	g_free(self->error);
	self->error = g_strdup(error != NULL ? error : "");
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

const gchar *
tw_token_get_id(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->id;
}

const gchar *
tw_token_get_reader_name(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->reader_name;
}

const gchar *
tw_token_get_label(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->label;
}

const gchar *
tw_token_get_manufacturer(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->manufacturer;
}

const gchar *
tw_token_get_model(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->model;
}

const gchar *
tw_token_get_serial(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->serial;
}

gint64
tw_token_get_first_seen(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->first_seen;
}

gint64
tw_token_get_last_seen(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->last_seen;
}

const gchar *
tw_token_get_user_pin_state(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->user_pin_state;
}

const gchar *
tw_token_get_so_pin_state(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->so_pin_state;
}

guint64
tw_token_get_total_memory(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->total_memory;
}

guint64
tw_token_get_free_memory(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->free_memory;
}

guint
tw_token_get_unpaired_keys(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), 0);
	return self->unpaired_keys;
}

const gchar *
tw_token_get_module(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->module;
}

const gchar *
tw_token_get_module_path(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->module_path;
}

const gchar *
tw_token_get_error(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->error;
}

/* Returns: (transfer none) (element-type utf8) */
GPtrArray *
tw_token_get_certificate_ids(TwToken *self)
{
	g_return_val_if_fail(TW_IS_TOKEN(self), NULL);
	return self->cert_ids;
}

static void
tw_token_finalize(GObject *object)
{
	TwToken *self = TW_TOKEN(object);

	g_free(self->id);
	g_free(self->reader_name);
	g_free(self->label);
	g_free(self->manufacturer);
	g_free(self->model);
	g_free(self->serial);
	g_free(self->module);
	g_free(self->module_path);
	g_free(self->error);
	g_ptr_array_unref(self->cert_ids);
	g_free(self->atr);
	g_free(self->device_name);
	g_hash_table_unref(self->device_warned);
	g_ptr_array_unref(self->advice);
	g_array_unref(self->owners);
	G_OBJECT_CLASS(tw_token_parent_class)->finalize(object);
}

static void
tw_token_init(TwToken *self)
{
	self->reader_name = g_strdup("");
	self->label = g_strdup("");
	self->manufacturer = g_strdup("");
	self->model = g_strdup("");
	self->serial = g_strdup("");
	self->module = g_strdup("");
	self->module_path = g_strdup("");
	self->error = g_strdup("");
	self->user_pin_state = "unknown";
	self->so_pin_state = "unknown";
	self->cert_ids = g_ptr_array_new_with_free_func(g_free);
	self->atr = g_strdup("");
	self->device_name = g_strdup("");
	self->device_warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->advice = g_ptr_array_new_with_free_func((GDestroyNotify)tw_advice_free);
	self->owners = g_array_new(FALSE, FALSE, sizeof(guint32));
}

static void
tw_token_class_init(TwTokenClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = tw_token_finalize;
	/**
	 * TwToken::changed:
	 *
	 * Something about the token changed.
	 */
	signals[SIGNAL_CHANGED] =
		g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 0);
}

TwToken *
tw_token_new(const gchar *id)
{
	TwToken *self;

	g_return_val_if_fail(id != NULL, NULL);
	self = g_object_new(TW_TYPE_TOKEN, NULL);
	self->id = g_strdup(id);
	return self;
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tokenwatch-advice-private.h"
#include "tokenwatch-enum-types.h"
#include "tokenwatch-proxy-private.h"
#include "tokenwatch-token-private.h"

/**
 * TokenwatchToken:
 *
 * A PKCS#11 token seen by tokenwatchd: a card, a USB token, or one area of
 * it (a qualified area with its own PIN shows as a second token).
 *
 * Tokens are owned by the [class@Tokenwatch.Client] they come from: get them
 * with [method@Tokenwatch.Client.get_tokens] or from its
 * [signal@Tokenwatch.Client::token-added] signal. The properties mirror the
 * D-Bus object `io.github.tokenwatch.TokenWatch1.Token` and emit
 * [signal@GObject.Object::notify] when tokenwatchd changes them. A token whose
 * card was pulled out stays known ("remembered") with
 * [property@Tokenwatch.Token:present] %FALSE and no
 * [property@Tokenwatch.Token:reader-path], until it comes back or is forgotten
 * with [method@Tokenwatch.Client.forget_async]; after
 * [signal@Tokenwatch.Client::token-removed] the object no longer changes.
 * Everything here comes from public data: tokenwatch never logs in.
 *
 * Since: 0.1
 */

enum {
	PROP_0,
	PROP_OBJECT_PATH,
	PROP_LABEL,
	PROP_MANUFACTURER,
	PROP_MODEL,
	PROP_SERIAL_NUMBER,
	PROP_PRESENT,
	PROP_READER_PATH,
	PROP_FIRST_SEEN,
	PROP_LAST_SEEN,
	PROP_CERTIFICATE_PATHS,
	PROP_USER_PIN_STATE,
	PROP_SO_PIN_STATE,
	PROP_TOTAL_MEMORY,
	PROP_FREE_MEMORY,
	PROP_DEVICE_NAME,
	PROP_QSCD_CERTIFIED_UNTIL,
	PROP_QUALIFIED,
	PROP_UNPAIRED_KEYS,
	PROP_ADVICE,
	PROP_OWNERS,
	PROP_MODULE,
	PROP_MODULE_PATH,
	PROP_ERROR,
	N_PROPS,
};

struct _TokenwatchToken {
	GObject parent_instance;

	TwDBusToken *proxy;
	GValue values[N_PROPS]; /* by property id */
};

G_DEFINE_TYPE(TokenwatchToken, tokenwatch_token, G_TYPE_OBJECT)

static GParamSpec *props[N_PROPS] = {NULL};

/* the D-Bus property each GObject property mirrors */
static const gchar *const tokenwatch_token_dbus_names[N_PROPS] = {
	[PROP_LABEL] = "Label",
	[PROP_MANUFACTURER] = "Manufacturer",
	[PROP_MODEL] = "Model",
	[PROP_SERIAL_NUMBER] = "SerialNumber",
	[PROP_PRESENT] = "Present",
	[PROP_READER_PATH] = "Reader",
	[PROP_FIRST_SEEN] = "FirstSeen",
	[PROP_LAST_SEEN] = "LastSeen",
	[PROP_CERTIFICATE_PATHS] = "Certificates",
	[PROP_USER_PIN_STATE] = "UserPinState",
	[PROP_SO_PIN_STATE] = "SoPinState",
	[PROP_TOTAL_MEMORY] = "TotalMemory",
	[PROP_FREE_MEMORY] = "FreeMemory",
	[PROP_DEVICE_NAME] = "DeviceName",
	[PROP_QSCD_CERTIFIED_UNTIL] = "QscdCertifiedUntil",
	[PROP_QUALIFIED] = "Qualified",
	[PROP_UNPAIRED_KEYS] = "UnpairedKeys",
	[PROP_OWNERS] = "Owners",
	[PROP_MODULE] = "Module",
	[PROP_MODULE_PATH] = "ModulePath",
	[PROP_ERROR] = "Error",
};

#define TOKENWATCH_TOKEN_PROP_FLAGS \
	(G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

/* Advice, an a(sss), is not one of the types tokenwatch_proxy_values_sync()
 * knows: it is mirrored here, into an array that is replaced, never changed */
static void
tokenwatch_token_sync_advice(TokenwatchToken *self)
{
	g_autoptr(GVariant) variant =
		g_dbus_proxy_get_cached_property(G_DBUS_PROXY(self->proxy), "Advice");
	g_autoptr(GPtrArray) advice = tokenwatch_advice_array_from_variant(variant);

	if (tokenwatch_advice_array_equal(g_value_get_boxed(&self->values[PROP_ADVICE]), advice))
		return;
	g_value_take_boxed(&self->values[PROP_ADVICE], g_steal_pointer(&advice));
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ADVICE]);
}

static void
tokenwatch_token_sync(TokenwatchToken *self)
{
	g_object_freeze_notify(G_OBJECT(self));
	tokenwatch_proxy_values_sync(G_OBJECT(self), G_DBUS_PROXY(self->proxy), props,
				     tokenwatch_token_dbus_names, self->values, N_PROPS);
	tokenwatch_token_sync_advice(self);
	g_object_thaw_notify(G_OBJECT(self));
}

static void
tokenwatch_token_properties_changed_cb(GDBusProxy *proxy,
				       GVariant *changed,
				       const gchar *const *invalidated,
				       gpointer user_data)
{
	tokenwatch_token_sync(TOKENWATCH_TOKEN(user_data));
}

static void
tokenwatch_token_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TokenwatchToken *self = TOKENWATCH_TOKEN(object);

	if (prop_id == 0 || prop_id >= N_PROPS) {
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		return;
	}
	g_value_copy(&self->values[prop_id], value);
}

static void
tokenwatch_token_dispose(GObject *object)
{
	TokenwatchToken *self = TOKENWATCH_TOKEN(object);

	if (self->proxy != NULL)
		g_signal_handlers_disconnect_by_data(self->proxy, self);
	g_clear_object(&self->proxy);

	G_OBJECT_CLASS(tokenwatch_token_parent_class)->dispose(object);
}

static void
tokenwatch_token_finalize(GObject *object)
{
	TokenwatchToken *self = TOKENWATCH_TOKEN(object);

	tokenwatch_proxy_values_clear(self->values, N_PROPS);

	G_OBJECT_CLASS(tokenwatch_token_parent_class)->finalize(object);
}

static void
tokenwatch_token_init(TokenwatchToken *self)
{
	tokenwatch_proxy_values_init(self->values, props, N_PROPS);
	g_value_take_boxed(&self->values[PROP_ADVICE],
			   g_ptr_array_new_with_free_func((GDestroyNotify)tokenwatch_advice_unref));
}

static GParamSpec *
tokenwatch_token_string_prop(const gchar *name, const gchar *default_value)
{
	return g_param_spec_string(name, NULL, NULL, default_value, TOKENWATCH_TOKEN_PROP_FLAGS);
}

static GParamSpec *
tokenwatch_token_time_prop(const gchar *name)
{
	return g_param_spec_uint64(name, NULL, NULL, 0, G_MAXUINT64, 0,
				   TOKENWATCH_TOKEN_PROP_FLAGS);
}

static GParamSpec *
tokenwatch_token_pin_state_prop(const gchar *name)
{
	return g_param_spec_enum(name, NULL, NULL, TOKENWATCH_TYPE_PIN_STATE,
				 TOKENWATCH_PIN_STATE_UNKNOWN, TOKENWATCH_TOKEN_PROP_FLAGS);
}

static void
tokenwatch_token_class_init(TokenwatchTokenClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = tokenwatch_token_get_property;
	object_class->dispose = tokenwatch_token_dispose;
	object_class->finalize = tokenwatch_token_finalize;

	/**
	 * TokenwatchToken:object-path:
	 *
	 * The D-Bus object path of the token. It is derived from the
	 * manufacturer, model and serial number, so it stays the same across
	 * insertions.
	 *
	 * Since: 0.1
	 */
	props[PROP_OBJECT_PATH] = tokenwatch_token_string_prop("object-path", NULL);

	/**
	 * TokenwatchToken:label:
	 *
	 * The label of the token, trimmed, valid UTF-8 (D-Bus property
	 * `Label`).
	 *
	 * Since: 0.1
	 */
	props[PROP_LABEL] = tokenwatch_token_string_prop("label", "");

	/**
	 * TokenwatchToken:manufacturer:
	 *
	 * The manufacturer of the token, trimmed (D-Bus property
	 * `Manufacturer`).
	 *
	 * Since: 0.1
	 */
	props[PROP_MANUFACTURER] = tokenwatch_token_string_prop("manufacturer", "");

	/**
	 * TokenwatchToken:model:
	 *
	 * The model of the token, trimmed (D-Bus property `Model`).
	 *
	 * Since: 0.1
	 */
	props[PROP_MODEL] = tokenwatch_token_string_prop("model", "");

	/**
	 * TokenwatchToken:serial-number:
	 *
	 * The serial number of the token, trimmed (D-Bus property
	 * `SerialNumber`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SERIAL_NUMBER] = tokenwatch_token_string_prop("serial-number", "");

	/**
	 * TokenwatchToken:present:
	 *
	 * Whether the token is in a reader now (D-Bus property `Present`).
	 *
	 * Since: 0.1
	 */
	props[PROP_PRESENT] =
		g_param_spec_boolean("present", NULL, NULL, FALSE, TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:reader-path:
	 *
	 * The D-Bus object path of the reader the token is in, or %NULL if
	 * none (D-Bus property `Reader`). See
	 * [method@Tokenwatch.Client.get_reader_by_path].
	 *
	 * Since: 0.1
	 */
	props[PROP_READER_PATH] = tokenwatch_token_string_prop("reader-path", NULL);

	/**
	 * TokenwatchToken:first-seen:
	 *
	 * When tokenwatch first saw the token, in Unix seconds, 0 if unknown
	 * (D-Bus property `FirstSeen`).
	 *
	 * Since: 0.1
	 */
	props[PROP_FIRST_SEEN] = tokenwatch_token_time_prop("first-seen");

	/**
	 * TokenwatchToken:last-seen:
	 *
	 * When tokenwatch last saw the token present, in Unix seconds, 0 if
	 * unknown (D-Bus property `LastSeen`).
	 *
	 * Since: 0.1
	 */
	props[PROP_LAST_SEEN] = tokenwatch_token_time_prop("last-seen");

	/**
	 * TokenwatchToken:certificate-paths:
	 *
	 * The D-Bus object paths of the certificates on the token (D-Bus
	 * property `Certificates`). See
	 * [method@Tokenwatch.Client.get_certificates_for_token].
	 *
	 * Since: 0.1
	 */
	props[PROP_CERTIFICATE_PATHS] = g_param_spec_boxed(
		"certificate-paths", NULL, NULL, G_TYPE_STRV, TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:user-pin-state:
	 *
	 * The state of the user PIN, from the token flags (D-Bus property
	 * `UserPinState`).
	 *
	 * Since: 0.1
	 */
	props[PROP_USER_PIN_STATE] = tokenwatch_token_pin_state_prop("user-pin-state");

	/**
	 * TokenwatchToken:so-pin-state:
	 *
	 * The state of the security officer PIN (the PUK), from the token flags
	 * (D-Bus property `SoPinState`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SO_PIN_STATE] = tokenwatch_token_pin_state_prop("so-pin-state");

	/**
	 * TokenwatchToken:total-memory:
	 *
	 * Bytes of token memory, 0 when the module does not say (D-Bus property
	 * `TotalMemory`).
	 *
	 * Since: 0.1
	 */
	props[PROP_TOTAL_MEMORY] = g_param_spec_uint64("total-memory", NULL, NULL, 0, G_MAXUINT64,
						       0, TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:free-memory:
	 *
	 * Free bytes of token memory, 0 when the module does not say (D-Bus
	 * property `FreeMemory`).
	 *
	 * Since: 0.1
	 */
	props[PROP_FREE_MEMORY] = g_param_spec_uint64("free-memory", NULL, NULL, 0, G_MAXUINT64, 0,
						      TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:device-name:
	 *
	 * The product name from tokenwatch's device data, or "" (D-Bus property
	 * `DeviceName`).
	 *
	 * Since: 0.1
	 */
	props[PROP_DEVICE_NAME] = tokenwatch_token_string_prop("device-name", "");

	/**
	 * TokenwatchToken:qscd-certified-until:
	 *
	 * The end of the QSCD certification of the device, in Unix seconds, 0
	 * if unknown (D-Bus property `QscdCertifiedUntil`). Every qualified
	 * certificate on the device is revoked then.
	 *
	 * Since: 0.1
	 */
	props[PROP_QSCD_CERTIFIED_UNTIL] = tokenwatch_token_time_prop("qscd-certified-until");

	/**
	 * TokenwatchToken:qualified:
	 *
	 * %TRUE only while the QSCD certification of the device is known to run
	 * (D-Bus property `Qualified`).
	 *
	 * Since: 0.1
	 */
	props[PROP_QUALIFIED] =
		g_param_spec_boolean("qualified", NULL, NULL, FALSE, TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:unpaired-keys:
	 *
	 * How many public-key objects on the token match no certificate (D-Bus
	 * property `UnpairedKeys`). Such keys take room and make renewals fail.
	 *
	 * Since: 0.1
	 */
	/**
	 * TokenwatchToken:owners:
	 *
	 * The uids of the users whose session was active on seat0 when the
	 * token was seen, as a [struct@GLib.Variant] of type "au".
	 *
	 * Since: 0.1
	 */
	props[PROP_OWNERS] = g_param_spec_variant("owners", NULL, NULL, G_VARIANT_TYPE("au"), NULL,
						  TOKENWATCH_TOKEN_PROP_FLAGS);
	props[PROP_UNPAIRED_KEYS] = g_param_spec_uint("unpaired-keys", NULL, NULL, 0, G_MAXUINT, 0,
						      TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:advice: (type GPtrArray(TokenwatchAdvice))
	 *
	 * What the owner of the token should know or do, most severe first
	 * (D-Bus property `Advice`): a [struct@GLib.PtrArray] of
	 * [struct@Tokenwatch.Advice], possibly empty. The array is replaced,
	 * never changed, when tokenwatchd changes the advice; do not change it
	 * either. See [method@Tokenwatch.Token.get_advice].
	 *
	 * Since: 0.1
	 */
	props[PROP_ADVICE] = g_param_spec_boxed("advice", NULL, NULL, G_TYPE_PTR_ARRAY,
						TOKENWATCH_TOKEN_PROP_FLAGS);

	/**
	 * TokenwatchToken:module:
	 *
	 * The PKCS#11 module that serves the token, a p11-kit name or a path
	 * (D-Bus property `Module`).
	 *
	 * Since: 0.1
	 */
	props[PROP_MODULE] = tokenwatch_token_string_prop("module", "");

	/**
	 * TokenwatchToken:module-path:
	 *
	 * The file the PKCS#11 module that serves the token was loaded from, ""
	 * when tokenwatchd has not read the token since it started (D-Bus
	 * property `ModulePath`).
	 *
	 * Since: 0.1
	 */
	props[PROP_MODULE_PATH] = tokenwatch_token_string_prop("module-path", "");

	/**
	 * TokenwatchToken:error:
	 *
	 * Why the last read of the token failed or was incomplete, or "" when
	 * it was read whole (D-Bus property `Error`).
	 *
	 * Since: 0.1
	 */
	props[PROP_ERROR] = tokenwatch_token_string_prop("error", "");

	g_object_class_install_properties(object_class, N_PROPS, props);
}

/* (transfer full): wraps @proxy, which the token keeps a reference to */
TokenwatchToken *
tokenwatch_token_new(TwDBusToken *proxy)
{
	TokenwatchToken *self;

	g_return_val_if_fail(TW_DBUS_IS_TOKEN(proxy), NULL);

	self = g_object_new(TOKENWATCH_TYPE_TOKEN, NULL);
	self->proxy = g_object_ref(proxy);
	g_value_set_string(&self->values[PROP_OBJECT_PATH],
			   g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy)));
	g_signal_connect_object(proxy, "g-properties-changed",
				G_CALLBACK(tokenwatch_token_properties_changed_cb), self,
				G_CONNECT_DEFAULT);
	tokenwatch_token_sync(self);
	return self;
}

/**
 * tokenwatch_token_get_object_path:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:object-path].
 *
 * Returns: the D-Bus object path of the token
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_object_path(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_OBJECT_PATH]);
}

/**
 * tokenwatch_token_get_label:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:label].
 *
 * Returns: the label, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_label(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_LABEL]);
}

/**
 * tokenwatch_token_get_manufacturer:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:manufacturer].
 *
 * Returns: the manufacturer, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_manufacturer(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_MANUFACTURER]);
}

/**
 * tokenwatch_token_get_model:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:model].
 *
 * Returns: the model, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_model(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_MODEL]);
}

/**
 * tokenwatch_token_get_serial_number:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:serial-number].
 *
 * Returns: the serial number, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_serial_number(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_SERIAL_NUMBER]);
}

/**
 * tokenwatch_token_get_present:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:present].
 *
 * Returns: %TRUE if the token is in a reader now
 *
 * Since: 0.1
 */
gboolean
tokenwatch_token_get_present(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), FALSE);
	return g_value_get_boolean(&self->values[PROP_PRESENT]);
}

/**
 * tokenwatch_token_get_reader_path:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:reader-path].
 *
 * Returns: (nullable): the D-Bus object path of the reader the token is in,
 *   or %NULL if none
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_reader_path(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_READER_PATH]);
}

/**
 * tokenwatch_token_get_first_seen:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:first-seen].
 *
 * Returns: Unix seconds, or 0 if unknown
 *
 * Since: 0.1
 */
guint64
tokenwatch_token_get_first_seen(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint64(&self->values[PROP_FIRST_SEEN]);
}

/**
 * tokenwatch_token_get_last_seen:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:last-seen].
 *
 * Returns: Unix seconds, or 0 if unknown
 *
 * Since: 0.1
 */
guint64
tokenwatch_token_get_last_seen(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint64(&self->values[PROP_LAST_SEEN]);
}

/**
 * tokenwatch_token_get_certificate_paths:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:certificate-paths].
 *
 * Returns: (transfer none) (array zero-terminated=1): the D-Bus object paths
 *   of the certificates on the token, possibly empty
 *
 * Since: 0.1
 */
const gchar *const *
tokenwatch_token_get_certificate_paths(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_boxed(&self->values[PROP_CERTIFICATE_PATHS]);
}

/**
 * tokenwatch_token_get_user_pin_state:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:user-pin-state].
 *
 * Returns: the state of the user PIN
 *
 * Since: 0.1
 */
TokenwatchPinState
tokenwatch_token_get_user_pin_state(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), TOKENWATCH_PIN_STATE_UNKNOWN);
	return g_value_get_enum(&self->values[PROP_USER_PIN_STATE]);
}

/**
 * tokenwatch_token_get_so_pin_state:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:so-pin-state].
 *
 * Returns: the state of the security officer PIN (PUK)
 *
 * Since: 0.1
 */
TokenwatchPinState
tokenwatch_token_get_so_pin_state(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), TOKENWATCH_PIN_STATE_UNKNOWN);
	return g_value_get_enum(&self->values[PROP_SO_PIN_STATE]);
}

/**
 * tokenwatch_token_get_total_memory:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:total-memory].
 *
 * Returns: bytes, or 0 if unknown
 *
 * Since: 0.1
 */
guint64
tokenwatch_token_get_total_memory(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint64(&self->values[PROP_TOTAL_MEMORY]);
}

/**
 * tokenwatch_token_get_free_memory:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:free-memory].
 *
 * Returns: bytes, or 0 if unknown
 *
 * Since: 0.1
 */
guint64
tokenwatch_token_get_free_memory(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint64(&self->values[PROP_FREE_MEMORY]);
}

/**
 * tokenwatch_token_get_device_name:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:device-name].
 *
 * Returns: the product name, or "" if tokenwatch does not know the device
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_device_name(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_DEVICE_NAME]);
}

/**
 * tokenwatch_token_get_qscd_certified_until:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:qscd-certified-until].
 *
 * Returns: Unix seconds, or 0 if unknown
 *
 * Since: 0.1
 */
guint64
tokenwatch_token_get_qscd_certified_until(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint64(&self->values[PROP_QSCD_CERTIFIED_UNTIL]);
}

/**
 * tokenwatch_token_get_qualified:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:qualified].
 *
 * Returns: %TRUE while the QSCD certification of the device is known to run
 *
 * Since: 0.1
 */
gboolean
tokenwatch_token_get_qualified(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), FALSE);
	return g_value_get_boolean(&self->values[PROP_QUALIFIED]);
}

/**
 * tokenwatch_token_get_owners:
 * @self: a [class@Tokenwatch.Token]
 * @n_owners: (out): the number of uids
 *
 * Gets [property@Tokenwatch.Token:owners]: the uids of the users whose session
 * was active on seat0 when the token was seen.
 *
 * Returns: (array length=n_owners) (transfer none): the uids
 *
 * Since: 0.1
 */
const guint32 *
tokenwatch_token_get_owners(TokenwatchToken *self, gsize *n_owners)
{
	GVariant *owners;

	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	g_return_val_if_fail(n_owners != NULL, NULL);
	owners = g_value_get_variant(&self->values[PROP_OWNERS]);
	if (owners == NULL) {
		*n_owners = 0;
		return NULL;
	}
	return g_variant_get_fixed_array(owners, n_owners, sizeof(guint32));
}

/**
 * tokenwatch_token_get_unpaired_keys:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:unpaired-keys].
 *
 * Returns: the number of public keys with no certificate
 *
 * Since: 0.1
 */
guint
tokenwatch_token_get_unpaired_keys(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), 0);
	return g_value_get_uint(&self->values[PROP_UNPAIRED_KEYS]);
}

/**
 * tokenwatch_token_get_advice:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:advice]: what the owner of the token should
 * know or do, most severe first, e.g. that the factory PIN is still set or that
 * the qualified area is full. The array is a snapshot: it does not follow later
 * changes (watch [signal@GObject.Object::notify] for "advice"). It does not
 * hold references on the advice, which the token drops when tokenwatchd changes
 * its advice: reference ([method@Tokenwatch.Advice.ref]) those kept beyond the
 * next return to the main loop.
 *
 * Returns: (transfer container) (element-type TokenwatchAdvice): a new array
 *   of the advice, possibly empty; free it with g_ptr_array_unref()
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_token_get_advice(TokenwatchToken *self)
{
	GPtrArray *advice;
	GPtrArray *copy;

	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);

	/* not g_ptr_array_copy(): the copy would unref the advice */
	advice = g_value_get_boxed(&self->values[PROP_ADVICE]);
	copy = g_ptr_array_sized_new(advice->len);
	for (guint i = 0; i < advice->len; i++)
		g_ptr_array_add(copy, g_ptr_array_index(advice, i));
	return copy;
}

/**
 * tokenwatch_token_get_module_path:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:module-path].
 *
 * Returns: the absolute file name of the PKCS#11 module, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_module_path(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_MODULE_PATH]);
}

/**
 * tokenwatch_token_get_module:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:module].
 *
 * Returns: the PKCS#11 module, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_module(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_MODULE]);
}

/**
 * tokenwatch_token_get_error:
 * @self: a [class@Tokenwatch.Token]
 *
 * Gets [property@Tokenwatch.Token:error].
 *
 * Returns: why the last read failed or was incomplete, or ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_token_get_error(TokenwatchToken *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(self), NULL);
	return g_value_get_string(&self->values[PROP_ERROR]);
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-certificate.h"
#include "tokenwatch-client-private.h"
#include "tokenwatch-error.h"
#include "tokenwatch-proxy-private.h"
#include "tokenwatch-reader.h"
#include "tokenwatch-token.h"

/**
 * TokenwatchClient:
 *
 * A connection to tokenwatchd.
 *
 * The client follows tokenwatchd on the bus: the Manager properties are
 * mirrored as GObject properties, the objects below
 * `/io/github/tokenwatch/TokenWatch1` as [class@Tokenwatch.Reader],
 * [class@Tokenwatch.Token] and [class@Tokenwatch.Certificate] objects. The
 * client survives tokenwatchd restarting: when the daemon goes away its objects
 * are removed ([signal@Tokenwatch.Client::reader-removed],
 * [signal@Tokenwatch.Client::token-removed],
 * [signal@Tokenwatch.Client::certificate-removed]) and
 * [property@Tokenwatch.Client:daemon-running] becomes %FALSE; when it comes
 * back they are added again.
 *
 * Create it with [func@Tokenwatch.Client.new_async] (or
 * [ctor@Tokenwatch.Client.new] if blocking is acceptable); it delivers its
 * signals in the thread-default main context of the thread that created it.
 * Creating a client succeeds when tokenwatchd is not running; calls then fail
 * with %TOKENWATCH_ERROR_NO_SERVICE.
 *
 * Since: 0.1
 */

static void tokenwatch_client_initable_iface_init(GInitableIface *iface);
static void tokenwatch_client_async_initable_iface_init(GAsyncInitableIface *iface);

G_DEFINE_TYPE_WITH_CODE(TokenwatchClient,
			tokenwatch_client,
			G_TYPE_OBJECT,
			G_IMPLEMENT_INTERFACE(G_TYPE_INITABLE,
					      tokenwatch_client_initable_iface_init)
				G_IMPLEMENT_INTERFACE(G_TYPE_ASYNC_INITABLE,
						      tokenwatch_client_async_initable_iface_init))

enum {
	PROP_0,
	PROP_BUS_TYPE,
	PROP_DAEMON_RUNNING,
	PROP_VERSION,
	PROP_PCSC_AVAILABLE,
	N_PROPS,
};

static GParamSpec *props[N_PROPS] = {NULL};

guint tokenwatch_client_signals[TOKENWATCH_CLIENT_N_SIGNALS] = {0};

static void
tokenwatch_client_sync_manager(TokenwatchClient *self)
{
	g_autofree gchar *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(self->manager));
	const gchar *version = tw_dbus_manager_get_version(self->manager);
	gboolean pcsc_available = tw_dbus_manager_get_pcsc_available(self->manager);
	gboolean daemon_running = owner != NULL;

	g_object_freeze_notify(G_OBJECT(self));
	if (g_strcmp0(self->version, version) != 0) {
		g_free(self->version);
		self->version = g_strdup(version);
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_VERSION]);
	}
	if (self->pcsc_available != pcsc_available) {
		self->pcsc_available = pcsc_available;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PCSC_AVAILABLE]);
	}
	if (self->daemon_running != daemon_running) {
		self->daemon_running = daemon_running;
		g_debug("tokenwatchd %s", daemon_running ? "appeared" : "vanished");
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_DAEMON_RUNNING]);
	}
	g_object_thaw_notify(G_OBJECT(self));
}

static void
tokenwatch_client_manager_properties_changed_cb(GDBusProxy *proxy,
						GVariant *changed,
						const gchar *const *invalidated,
						gpointer user_data)
{
	tokenwatch_client_sync_manager(TOKENWATCH_CLIENT(user_data));
}

/* GDBusProxy notifies g-name-owner after it has loaded the properties of a
 * new owner, and after it has invalidated them when the owner went away */
static void
tokenwatch_client_manager_name_owner_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	tokenwatch_client_sync_manager(TOKENWATCH_CLIENT(user_data));
}

/* takes ownership of the three objects once they all exist */
void
tokenwatch_client_setup(TokenwatchClient *self,
			GDBusConnection *connection,
			GDBusObjectManager *object_manager,
			TwDBusManager *manager)
{
	self->connection = connection;
	self->object_manager = object_manager;
	self->manager = manager;

	g_signal_connect_object(manager, "g-properties-changed",
				G_CALLBACK(tokenwatch_client_manager_properties_changed_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(manager, "notify::g-name-owner",
				G_CALLBACK(tokenwatch_client_manager_name_owner_cb), self,
				G_CONNECT_DEFAULT);
	tokenwatch_client_objects_setup(self);
	tokenwatch_client_sync_manager(self);
}

gboolean
tokenwatch_client_check_bus_type(TokenwatchClient *self, GError **error)
{
	if (self->bus_type == G_BUS_TYPE_SYSTEM || self->bus_type == G_BUS_TYPE_SESSION ||
	    self->bus_type == G_BUS_TYPE_STARTER)
		return TRUE;
	g_set_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_INVALID_ARGUMENT,
		    "invalid bus type %d", (gint)self->bus_type);
	return FALSE;
}

void
tokenwatch_client_prefix_bus_error(TokenwatchClient *self, GError **error)
{
	if (g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	tokenwatch_proxy_convert_error(self->bus_type, error);
	if (self->bus_type == G_BUS_TYPE_SESSION)
		g_prefix_error(error, _("Cannot connect to the session bus: "));
	else
		g_prefix_error(error, _("Cannot connect to the system bus: "));
	(*error)->code = TOKENWATCH_ERROR_NO_SERVICE;
}

static void
tokenwatch_client_initable_iface_init(GInitableIface *iface)
{
	iface->init = tokenwatch_client_initable_init;
}

/* the asynchronous initialisation: bus → object manager → Manager proxy */

typedef struct {
	GDBusConnection *connection;
	GDBusObjectManager *object_manager;
} TokenwatchClientInitData;

static void
tokenwatch_client_init_data_free(TokenwatchClientInitData *data)
{
	g_clear_object(&data->connection);
	g_clear_object(&data->object_manager);
	g_free(data);
}

static void
tokenwatch_client_init_manager_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchClient *self = g_task_get_source_object(task);
	TokenwatchClientInitData *data = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	TwDBusManager *manager;

	manager = tw_dbus_manager_proxy_new_finish(res, &error);
	if (manager == NULL) {
		tokenwatch_proxy_convert_error(self->bus_type, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	tokenwatch_client_setup(self, g_steal_pointer(&data->connection),
				g_steal_pointer(&data->object_manager), manager);
	g_task_return_boolean(task, TRUE);
}

static void
tokenwatch_client_init_object_manager_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchClient *self = g_task_get_source_object(task);
	TokenwatchClientInitData *data = g_task_get_task_data(task);
	GCancellable *cancellable = g_task_get_cancellable(task);
	g_autoptr(GError) error = NULL;

	data->object_manager = tw_dbus_object_manager_client_new_finish(res, &error);
	if (data->object_manager == NULL) {
		tokenwatch_proxy_convert_error(self->bus_type, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	tw_dbus_manager_proxy_new(data->connection, G_DBUS_PROXY_FLAGS_NONE, TW_DBUS_NAME,
				  TW_DBUS_PATH, cancellable, tokenwatch_client_init_manager_cb,
				  g_steal_pointer(&task));
}

static void
tokenwatch_client_init_bus_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchClient *self = g_task_get_source_object(task);
	TokenwatchClientInitData *data = g_task_get_task_data(task);
	GCancellable *cancellable = g_task_get_cancellable(task);
	g_autoptr(GError) error = NULL;

	data->connection = g_bus_get_finish(res, &error);
	if (data->connection == NULL) {
		tokenwatch_client_prefix_bus_error(self, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	tw_dbus_object_manager_client_new(data->connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
					  TW_DBUS_NAME, TW_DBUS_PATH, cancellable,
					  tokenwatch_client_init_object_manager_cb,
					  g_steal_pointer(&task));
}

static void
tokenwatch_client_init_async(GAsyncInitable *initable,
			     int io_priority,
			     GCancellable *cancellable,
			     GAsyncReadyCallback callback,
			     gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(initable);
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	GError *error = NULL;

	g_task_set_source_tag(task, tokenwatch_client_init_async);
	g_task_set_priority(task, io_priority);
	if (self->manager != NULL) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (!tokenwatch_client_check_bus_type(self, &error)) {
		g_task_return_error(task, error);
		return;
	}
	g_task_set_task_data(task, g_new0(TokenwatchClientInitData, 1),
			     (GDestroyNotify)tokenwatch_client_init_data_free);
	g_bus_get(self->bus_type, cancellable, tokenwatch_client_init_bus_cb,
		  g_steal_pointer(&task));
}

static gboolean
tokenwatch_client_init_finish(GAsyncInitable *initable, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, initable), FALSE);
	return g_task_propagate_boolean(G_TASK(res), error);
}

static void
tokenwatch_client_async_initable_iface_init(GAsyncInitableIface *iface)
{
	iface->init_async = tokenwatch_client_init_async;
	iface->init_finish = tokenwatch_client_init_finish;
}

static void
tokenwatch_client_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(object);

	switch (prop_id) {
	case PROP_BUS_TYPE:
		g_value_set_enum(value, self->bus_type);
		break;
	case PROP_DAEMON_RUNNING:
		g_value_set_boolean(value, self->daemon_running);
		break;
	case PROP_VERSION:
		g_value_set_string(value, self->version);
		break;
	case PROP_PCSC_AVAILABLE:
		g_value_set_boolean(value, self->pcsc_available);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
tokenwatch_client_set_property(GObject *object,
			       guint prop_id,
			       const GValue *value,
			       GParamSpec *pspec)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(object);

	switch (prop_id) {
	case PROP_BUS_TYPE:
		self->bus_type = g_value_get_enum(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
tokenwatch_client_dispose(GObject *object)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(object);

	if (self->object_manager != NULL)
		g_signal_handlers_disconnect_by_data(self->object_manager, self);
	if (self->manager != NULL)
		g_signal_handlers_disconnect_by_data(self->manager, self);
	tokenwatch_client_objects_dispose(self);
	g_clear_object(&self->object_manager);
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);

	G_OBJECT_CLASS(tokenwatch_client_parent_class)->dispose(object);
}

static void
tokenwatch_client_finalize(GObject *object)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(object);

	tokenwatch_client_objects_finalize(self);
	g_free(self->version);

	G_OBJECT_CLASS(tokenwatch_client_parent_class)->finalize(object);
}

static void
tokenwatch_client_init(TokenwatchClient *self)
{
	self->bus_type = G_BUS_TYPE_SYSTEM;
	tokenwatch_client_objects_init(self);
}

static void
tokenwatch_client_class_init(TokenwatchClientClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = tokenwatch_client_get_property;
	object_class->set_property = tokenwatch_client_set_property;
	object_class->dispose = tokenwatch_client_dispose;
	object_class->finalize = tokenwatch_client_finalize;

	/* registers the D-Bus error names, so replies from tokenwatchd decode */
	(void)tokenwatch_error_quark();

	/**
	 * TokenwatchClient:bus-type:
	 *
	 * The bus on which to look for tokenwatchd: %G_BUS_TYPE_SYSTEM, or
	 * %G_BUS_TYPE_SESSION for testing.
	 *
	 * Since: 0.1
	 */
	props[PROP_BUS_TYPE] = g_param_spec_enum(
		"bus-type", NULL, NULL, G_TYPE_BUS_TYPE, G_BUS_TYPE_SYSTEM,
		G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchClient:daemon-running:
	 *
	 * Whether tokenwatchd currently owns its name on the bus.
	 *
	 * Since: 0.1
	 */
	props[PROP_DAEMON_RUNNING] = g_param_spec_boolean(
		"daemon-running", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchClient:version:
	 *
	 * The version of the running tokenwatchd (D-Bus property `Version`), or
	 * %NULL while it is not running.
	 *
	 * Since: 0.1
	 */
	props[PROP_VERSION] = g_param_spec_string("version", NULL, NULL, NULL,
						  G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
							  G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchClient:pcsc-available:
	 *
	 * Whether tokenwatchd is connected to pcscd (D-Bus property
	 * `PcscAvailable`). %FALSE while tokenwatchd is not running.
	 *
	 * Since: 0.1
	 */
	props[PROP_PCSC_AVAILABLE] = g_param_spec_boolean(
		"pcsc-available", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

	g_object_class_install_properties(object_class, N_PROPS, props);

	/**
	 * TokenwatchClient::reader-added:
	 * @self: the [class@Tokenwatch.Client]
	 * @reader: the new [class@Tokenwatch.Reader]
	 *
	 * Emitted when a reader appears, including the readers of a tokenwatchd
	 * that (re)appeared on the bus. Readers present when the client was
	 * created are not announced.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_READER_ADDED] = g_signal_new(
		"reader-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::reader-removed:
	 * @self: the [class@Tokenwatch.Client]
	 * @reader: the [class@Tokenwatch.Reader] that went away
	 *
	 * Emitted when a reader goes away, also when pcscd or tokenwatchd did.
	 * The reader is no longer in [method@Tokenwatch.Client.get_readers].
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_READER_REMOVED] = g_signal_new(
		"reader-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::card-inserted:
	 * @self: the [class@Tokenwatch.Client]
	 * @reader: the [class@Tokenwatch.Reader] the card was inserted into
	 *
	 * Emitted when a card was inserted; the properties of @reader are
	 * already updated. Every insertion is reported, even one followed by a
	 * removal before tokenwatchd could look at the card.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CARD_INSERTED] = g_signal_new(
		"card-inserted", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::card-removed:
	 * @self: the [class@Tokenwatch.Client]
	 * @reader: the [class@Tokenwatch.Reader] the card was removed from
	 *
	 * Emitted when a card was removed; the properties of @reader are
	 * already updated.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CARD_REMOVED] = g_signal_new(
		"card-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::token-added:
	 * @self: the [class@Tokenwatch.Client]
	 * @token: the new [class@Tokenwatch.Token]
	 *
	 * Emitted when tokenwatchd starts to track a token, also for those of a
	 * tokenwatchd that (re)appeared; not for those known at creation.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_TOKEN_ADDED] = g_signal_new(
		"token-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_TOKEN);

	/**
	 * TokenwatchClient::token-removed:
	 * @self: the [class@Tokenwatch.Client]
	 * @token: the [class@Tokenwatch.Token] that went away
	 *
	 * Emitted when tokenwatchd stops tracking a token, also when
	 * tokenwatchd went away (a token pulled out may stay, with
	 * [property@Tokenwatch.Token:present] %FALSE). It is no longer in
	 * [method@Tokenwatch.Client.get_tokens].
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_TOKEN_REMOVED] = g_signal_new(
		"token-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_TOKEN);

	/**
	 * TokenwatchClient::certificate-added:
	 * @self: the [class@Tokenwatch.Client]
	 * @certificate: the new [class@Tokenwatch.Certificate]
	 *
	 * Emitted when tokenwatchd starts to track a certificate, also for
	 * those of a tokenwatchd that (re)appeared; not for those known at
	 * creation.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_ADDED] = g_signal_new(
		"certificate-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_CERTIFICATE);

	/**
	 * TokenwatchClient::certificate-removed:
	 * @self: the [class@Tokenwatch.Client]
	 * @certificate: the [class@Tokenwatch.Certificate] that went away
	 *
	 * Emitted when tokenwatchd stops tracking a certificate, also when
	 * tokenwatchd went away. It is no longer in
	 * [method@Tokenwatch.Client.get_certificates].
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_REMOVED] = g_signal_new(
		"certificate-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_CERTIFICATE);

	/**
	 * TokenwatchClient::expiry-warning:
	 * @self: the [class@Tokenwatch.Client]
	 * @certificate: the [class@Tokenwatch.Certificate]
	 * @days_left: days until its
	 *   [property@Tokenwatch.Certificate:effective-not-after], negative
	 *   once past
	 * @level: "info", "warning", "critical" or "expired"; treat other
	 *   values as "warning"
	 *
	 * Emitted when a certificate crossed a warning threshold of tokenwatchd
	 * (D-Bus signal `ExpiryWarning`). Not emitted for a certificate the
	 * client does not know.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_EXPIRY_WARNING] = g_signal_new(
		"expiry-warning", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		G_TYPE_NONE, 3, TOKENWATCH_TYPE_CERTIFICATE, G_TYPE_INT, G_TYPE_STRING);

	/**
	 * TokenwatchClient::device-certification-ending:
	 * @self: the [class@Tokenwatch.Client]
	 * @token: the [class@Tokenwatch.Token]
	 * @days_left: days until its
	 * [property@Tokenwatch.Token:qscd-certified-until]
	 *
	 * Emitted when the QSCD certification of the device model of @token
	 * ends soon: every qualified certificate on it is revoked then (D-Bus
	 * signal `DeviceCertificationEnding`). Not emitted for a token the
	 * client does not know.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_DEVICE_CERTIFICATION_ENDING] =
		g_signal_new("device-certification-ending", G_TYPE_FROM_CLASS(klass),
			     G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
			     TOKENWATCH_TYPE_TOKEN, G_TYPE_INT);

	/**
	 * TokenwatchClient::certificate-renewed:
	 * @self: the [class@Tokenwatch.Client]
	 * @old_certificate: the superseded [class@Tokenwatch.Certificate]
	 * @new_certificate: the [class@Tokenwatch.Certificate] that replaces it
	 *
	 * Emitted when a certificate with the same subject and issuing
	 * organisation and a later expiry than a known one was seen (D-Bus
	 * signal `CertificateRenewed`). Not emitted unless the client knows
	 * both certificates.
	 *
	 * Since: 0.1
	 */
	tokenwatch_client_signals[TOKENWATCH_CLIENT_SIGNAL_CERTIFICATE_RENEWED] = g_signal_new(
		"certificate-renewed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		NULL, G_TYPE_NONE, 2, TOKENWATCH_TYPE_CERTIFICATE, TOKENWATCH_TYPE_CERTIFICATE);
}

/**
 * tokenwatch_client_new_async:
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when the client is ready
 * @user_data: data for @callback
 *
 * Connects to tokenwatchd on the system bus without blocking. Finish with
 * [ctor@Tokenwatch.Client.new_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_client_new_async(GCancellable *cancellable,
			    GAsyncReadyCallback callback,
			    gpointer user_data)
{
	tokenwatch_client_new_for_bus_async(G_BUS_TYPE_SYSTEM, cancellable, callback, user_data);
}

/**
 * tokenwatch_client_new_for_bus_async:
 * @bus_type: the bus to look for tokenwatchd on
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when the client is ready
 * @user_data: data for @callback
 *
 * Like [func@Tokenwatch.Client.new_async], for a tokenwatchd on the given
 * bus. Finish with [ctor@Tokenwatch.Client.new_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_client_new_for_bus_async(GBusType bus_type,
				    GCancellable *cancellable,
				    GAsyncReadyCallback callback,
				    gpointer user_data)
{
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	g_async_initable_new_async(TOKENWATCH_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable,
				   callback, user_data, "bus-type", bus_type, NULL);
}

/**
 * tokenwatch_client_new_finish:
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [func@Tokenwatch.Client.new_async] or
 * [func@Tokenwatch.Client.new_for_bus_async].
 *
 * Returns: (transfer full): a new [class@Tokenwatch.Client], or %NULL on error
 *
 * Since: 0.1
 */
TokenwatchClient *
tokenwatch_client_new_finish(GAsyncResult *res, GError **error)
{
	g_autoptr(GObject) source = NULL;
	GObject *object;

	g_return_val_if_fail(G_IS_ASYNC_RESULT(res), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	source = g_async_result_get_source_object(res);
	object = g_async_initable_new_finish(G_ASYNC_INITABLE(source), res, error);
	if (object == NULL)
		return NULL;
	return TOKENWATCH_CLIENT(object);
}

/**
 * tokenwatch_client_get_bus_type:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets the bus the client looks for tokenwatchd on.
 *
 * Returns: the bus type
 *
 * Since: 0.1
 */
GBusType
tokenwatch_client_get_bus_type(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), G_BUS_TYPE_NONE);
	return self->bus_type;
}

/**
 * tokenwatch_client_get_daemon_running:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets whether tokenwatchd is running.
 *
 * Returns: %TRUE if tokenwatchd owns its name on the bus
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_get_daemon_running(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	return self->daemon_running;
}

/**
 * tokenwatch_client_get_version:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets the version of the running tokenwatchd.
 *
 * Returns: (nullable): the version, e.g. "0.1.0", or %NULL if tokenwatchd
 *   is not running
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_client_get_version(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	return self->version;
}

/**
 * tokenwatch_client_get_pcsc_available:
 * @self: a [class@Tokenwatch.Client]
 *
 * Gets whether tokenwatchd is connected to pcscd.
 *
 * Returns: %TRUE if pcscd is available to tokenwatchd
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_get_pcsc_available(TokenwatchClient *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	return self->pcsc_available;
}

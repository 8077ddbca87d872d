/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-client.h"
#include "tokenwatch-error.h"
#include "tokenwatch-reader-private.h"
#include "tw-dbus-generated.h"

/**
 * TokenwatchClient:
 *
 * A connection to tokenwatchd.
 *
 * The client follows tokenwatchd on the bus: the Manager properties are
 * mirrored as GObject properties, the readers below
 * `/io/github/tokenwatch/TokenWatch1` as #TokenwatchReader objects. The
 * client survives tokenwatchd restarting: when the daemon goes away its
 * readers are removed (#TokenwatchClient::reader-removed) and
 * #TokenwatchClient:daemon-running becomes %FALSE; when it comes back they
 * are added again.
 *
 * Create it with tokenwatch_client_new_async() (or
 * tokenwatch_client_new() if blocking is acceptable); it delivers its signals
 * in the thread-default main context of the thread that created it. Creating
 * a client succeeds when tokenwatchd is not running; calls then fail with
 * %TOKENWATCH_ERROR_NO_SERVICE.
 *
 * Since: 0.1
 */

struct _TokenwatchClient {
	GObject parent_instance;

	GBusType bus_type;
	GDBusConnection *connection;
	GDBusObjectManager *object_manager;
	TwDBusManager *manager;
	GHashTable *readers; /* object path → TokenwatchReader */

	gchar *version;
	gboolean pcsc_available;
	gboolean daemon_running;
};

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

enum {
	SIGNAL_READER_ADDED,
	SIGNAL_READER_REMOVED,
	SIGNAL_CARD_INSERTED,
	SIGNAL_CARD_REMOVED,
	N_SIGNALS,
};

static guint signals[N_SIGNALS] = {0};

static const gchar *
tokenwatch_client_not_running_message(TokenwatchClient *self)
{
	switch (self->bus_type) {
	case G_BUS_TYPE_SYSTEM:
		return _("tokenwatchd is not running on the system bus");
	case G_BUS_TYPE_SESSION:
		return _("tokenwatchd is not running on the session bus");
	default:
		return _("tokenwatchd is not running on the bus");
	}
}

/* Turns whatever GDBus reported into a TOKENWATCH_ERROR, keeping
 * G_IO_ERROR_CANCELLED as is so that callers can ignore it. */
static void
tokenwatch_client_convert_error(TokenwatchClient *self, GError **error)
{
	GError *error_local = *error;
	TokenwatchError code = TOKENWATCH_ERROR_FAILED;

	if (error_local == NULL)
		return;
	g_dbus_error_strip_remote_error(error_local);
	if (error_local->domain == TOKENWATCH_ERROR)
		return;
	if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;

	if (error_local->domain == G_DBUS_ERROR) {
		switch (error_local->code) {
		case G_DBUS_ERROR_SERVICE_UNKNOWN:
		case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
		case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
		case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
			g_clear_error(error);
			g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE,
					    tokenwatch_client_not_running_message(self));
			return;
		case G_DBUS_ERROR_ACCESS_DENIED:
		case G_DBUS_ERROR_AUTH_FAILED:
			code = TOKENWATCH_ERROR_PERMISSION_DENIED;
			break;
		case G_DBUS_ERROR_INVALID_ARGS:
		case G_DBUS_ERROR_INVALID_SIGNATURE:
			code = TOKENWATCH_ERROR_INVALID_ARGUMENT;
			break;
		case G_DBUS_ERROR_NOT_SUPPORTED:
		case G_DBUS_ERROR_UNKNOWN_METHOD:
		case G_DBUS_ERROR_UNKNOWN_INTERFACE:
		case G_DBUS_ERROR_UNKNOWN_OBJECT:
		case G_DBUS_ERROR_UNKNOWN_PROPERTY:
			code = TOKENWATCH_ERROR_NOT_SUPPORTED;
			break;
		default:
			code = TOKENWATCH_ERROR_FAILED;
			break;
		}
	} else if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CLOSED)) {
		code = TOKENWATCH_ERROR_NO_SERVICE;
	}
	*error = g_error_new_literal(TOKENWATCH_ERROR, code, error_local->message);
	g_error_free(error_local);
}

/* copy the Manager's cached D-Bus properties, notifying what changed */
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

static void
tokenwatch_client_add_reader(TokenwatchClient *self, TwDBusReader *proxy, gboolean emit)
{
	const gchar *path = g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy));
	TokenwatchReader *reader;

	if (g_hash_table_contains(self->readers, path))
		return;
	reader = tokenwatch_reader_new(proxy);
	g_hash_table_insert(self->readers, g_strdup(path), reader);
	g_debug("reader %s added: %s", path, tokenwatch_reader_get_name(reader));
	if (emit)
		g_signal_emit(self, signals[SIGNAL_READER_ADDED], 0, reader);
}

static void
tokenwatch_client_remove_reader(TokenwatchClient *self, const gchar *path)
{
	g_autoptr(TokenwatchReader) reader = NULL;
	gpointer key = NULL;
	gpointer value = NULL;

	if (!g_hash_table_steal_extended(self->readers, path, &key, &value))
		return;
	g_free(key);
	reader = TOKENWATCH_READER(value);
	g_debug("reader %s removed", path);
	g_signal_emit(self, signals[SIGNAL_READER_REMOVED], 0, reader);
}

/* other interfaces (Token, Certificate, ones added later) are ignored here */
static void
tokenwatch_client_object_added_cb(GDBusObjectManager *manager,
				  GDBusObject *object,
				  gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);
	TwDBusReader *reader;

	if (!TW_DBUS_IS_OBJECT(object))
		return;
	reader = tw_dbus_object_peek_reader(TW_DBUS_OBJECT(object));
	if (reader != NULL)
		tokenwatch_client_add_reader(self, reader, TRUE);
}

static void
tokenwatch_client_object_removed_cb(GDBusObjectManager *manager,
				    GDBusObject *object,
				    gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);

	tokenwatch_client_remove_reader(self, g_dbus_object_get_object_path(object));
}

static void
tokenwatch_client_interface_added_cb(GDBusObjectManager *manager,
				     GDBusObject *object,
				     GDBusInterface *iface,
				     gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);

	if (TW_DBUS_IS_READER(iface))
		tokenwatch_client_add_reader(self, TW_DBUS_READER(iface), TRUE);
}

static void
tokenwatch_client_interface_removed_cb(GDBusObjectManager *manager,
				       GDBusObject *object,
				       GDBusInterface *iface,
				       gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);

	if (TW_DBUS_IS_READER(iface))
		tokenwatch_client_remove_reader(self, g_dbus_object_get_object_path(object));
}

static void
tokenwatch_client_card_event(TokenwatchClient *self, const gchar *path, guint signal_id)
{
	TokenwatchReader *reader = g_hash_table_lookup(self->readers, path);

	if (reader == NULL) {
		g_debug("card event for unknown reader %s ignored", path);
		return;
	}
	g_signal_emit(self, signal_id, 0, reader);
}

static void
tokenwatch_client_card_inserted_cb(TwDBusManager *manager, const gchar *path, gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);

	tokenwatch_client_card_event(self, path, signals[SIGNAL_CARD_INSERTED]);
}

static void
tokenwatch_client_card_removed_cb(TwDBusManager *manager, const gchar *path, gpointer user_data)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(user_data);

	tokenwatch_client_card_event(self, path, signals[SIGNAL_CARD_REMOVED]);
}

/* takes ownership of the three objects once they all exist */
static void
tokenwatch_client_setup(TokenwatchClient *self,
			GDBusConnection *connection,
			GDBusObjectManager *object_manager,
			TwDBusManager *manager)
{
	g_autolist(GDBusObject) objects = NULL;

	self->connection = connection;
	self->object_manager = object_manager;
	self->manager = manager;

	g_signal_connect_object(object_manager, "object-added",
				G_CALLBACK(tokenwatch_client_object_added_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(object_manager, "object-removed",
				G_CALLBACK(tokenwatch_client_object_removed_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(object_manager, "interface-added",
				G_CALLBACK(tokenwatch_client_interface_added_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(object_manager, "interface-removed",
				G_CALLBACK(tokenwatch_client_interface_removed_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(manager, "g-properties-changed",
				G_CALLBACK(tokenwatch_client_manager_properties_changed_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(manager, "notify::g-name-owner",
				G_CALLBACK(tokenwatch_client_manager_name_owner_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(manager, "card-inserted",
				G_CALLBACK(tokenwatch_client_card_inserted_cb), self,
				G_CONNECT_DEFAULT);
	g_signal_connect_object(manager, "card-removed",
				G_CALLBACK(tokenwatch_client_card_removed_cb), self,
				G_CONNECT_DEFAULT);

	/* the initial state is not announced with signals */
	objects = g_dbus_object_manager_get_objects(object_manager);
	for (GList *l = objects; l != NULL; l = l->next) {
		TwDBusReader *reader;

		if (!TW_DBUS_IS_OBJECT(l->data))
			continue;
		reader = tw_dbus_object_peek_reader(TW_DBUS_OBJECT(l->data));
		if (reader != NULL)
			tokenwatch_client_add_reader(self, reader, FALSE);
	}
	tokenwatch_client_sync_manager(self);
}

static gboolean
tokenwatch_client_check_bus_type(TokenwatchClient *self, GError **error)
{
	if (self->bus_type == G_BUS_TYPE_SYSTEM || self->bus_type == G_BUS_TYPE_SESSION ||
	    self->bus_type == G_BUS_TYPE_STARTER)
		return TRUE;
	g_set_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_INVALID_ARGUMENT,
		    "invalid bus type %d", (gint)self->bus_type);
	return FALSE;
}

static void
tokenwatch_client_prefix_bus_error(TokenwatchClient *self, GError **error)
{
	if (g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	tokenwatch_client_convert_error(self, error);
	if (self->bus_type == G_BUS_TYPE_SESSION)
		g_prefix_error(error, _("Cannot connect to the session bus: "));
	else
		g_prefix_error(error, _("Cannot connect to the system bus: "));
	(*error)->code = TOKENWATCH_ERROR_NO_SERVICE;
}

static gboolean
tokenwatch_client_initable_init(GInitable *initable, GCancellable *cancellable, GError **error)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(initable);
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GDBusObjectManager) object_manager = NULL;
	g_autoptr(TwDBusManager) manager = NULL;

	if (self->manager != NULL)
		return TRUE;
	if (!tokenwatch_client_check_bus_type(self, error))
		return FALSE;

	connection = g_bus_get_sync(self->bus_type, cancellable, error);
	if (connection == NULL) {
		tokenwatch_client_prefix_bus_error(self, error);
		return FALSE;
	}
	object_manager = tw_dbus_object_manager_client_new_sync(
		connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE, TW_DBUS_NAME, TW_DBUS_PATH,
		cancellable, error);
	if (object_manager == NULL) {
		tokenwatch_client_convert_error(self, error);
		return FALSE;
	}
	manager = tw_dbus_manager_proxy_new_sync(connection, G_DBUS_PROXY_FLAGS_NONE, TW_DBUS_NAME,
						 TW_DBUS_PATH, cancellable, error);
	if (manager == NULL) {
		tokenwatch_client_convert_error(self, error);
		return FALSE;
	}
	tokenwatch_client_setup(self, g_steal_pointer(&connection),
				g_steal_pointer(&object_manager), g_steal_pointer(&manager));
	return TRUE;
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
		tokenwatch_client_convert_error(self, &error);
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
		tokenwatch_client_convert_error(self, &error);
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
	g_hash_table_remove_all(self->readers);
	g_clear_object(&self->object_manager);
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);

	G_OBJECT_CLASS(tokenwatch_client_parent_class)->dispose(object);
}

static void
tokenwatch_client_finalize(GObject *object)
{
	TokenwatchClient *self = TOKENWATCH_CLIENT(object);

	g_hash_table_unref(self->readers);
	g_free(self->version);

	G_OBJECT_CLASS(tokenwatch_client_parent_class)->finalize(object);
}

static void
tokenwatch_client_init(TokenwatchClient *self)
{
	self->bus_type = G_BUS_TYPE_SYSTEM;
	self->readers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
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
	 * @self: the #TokenwatchClient
	 * @reader: the new #TokenwatchReader
	 *
	 * Emitted when a reader appears, including the readers of a tokenwatchd
	 * that (re)appeared on the bus. Readers present when the client was
	 * created are not announced.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_READER_ADDED] = g_signal_new(
		"reader-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::reader-removed:
	 * @self: the #TokenwatchClient
	 * @reader: the #TokenwatchReader that went away
	 *
	 * Emitted when a reader goes away, also when pcscd or tokenwatchd did.
	 * The reader is no longer in tokenwatch_client_get_readers().
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_READER_REMOVED] = g_signal_new(
		"reader-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::card-inserted:
	 * @self: the #TokenwatchClient
	 * @reader: the #TokenwatchReader the card was inserted into
	 *
	 * Emitted when a card was inserted; the properties of @reader are
	 * already updated. Every insertion is reported, even one followed by a
	 * removal before tokenwatchd could look at the card.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_CARD_INSERTED] = g_signal_new(
		"card-inserted", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);

	/**
	 * TokenwatchClient::card-removed:
	 * @self: the #TokenwatchClient
	 * @reader: the #TokenwatchReader the card was removed from
	 *
	 * Emitted when a card was removed; the properties of @reader are
	 * already updated.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_CARD_REMOVED] = g_signal_new(
		"card-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
		g_cclosure_marshal_VOID__OBJECT, G_TYPE_NONE, 1, TOKENWATCH_TYPE_READER);
}

/**
 * tokenwatch_client_new:
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Connects to tokenwatchd on the system bus, blocking until the current
 * state is known. Succeeds when tokenwatchd is not running; see
 * #TokenwatchClient:daemon-running.
 *
 * Returns: (transfer full): a new #TokenwatchClient, or %NULL if the bus
 *   cannot be reached
 *
 * Since: 0.1
 */
TokenwatchClient *
tokenwatch_client_new(GCancellable *cancellable, GError **error)
{
	return tokenwatch_client_new_for_bus(G_BUS_TYPE_SYSTEM, cancellable, error);
}

/**
 * tokenwatch_client_new_for_bus:
 * @bus_type: the bus to look for tokenwatchd on
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Like tokenwatch_client_new(), for a tokenwatchd on the given bus
 * (`tokenwatchd --session`, for testing).
 *
 * Returns: (transfer full): a new #TokenwatchClient, or %NULL if the bus
 *   cannot be reached
 *
 * Since: 0.1
 */
TokenwatchClient *
tokenwatch_client_new_for_bus(GBusType bus_type, GCancellable *cancellable, GError **error)
{
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	return g_initable_new(TOKENWATCH_TYPE_CLIENT, cancellable, error, "bus-type", bus_type,
			      NULL);
}

/**
 * tokenwatch_client_new_async:
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called when the client is ready
 * @user_data: data for @callback
 *
 * Connects to tokenwatchd on the system bus without blocking. Finish with
 * tokenwatch_client_new_finish().
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
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called when the client is ready
 * @user_data: data for @callback
 *
 * Like tokenwatch_client_new_async(), for a tokenwatchd on the given bus.
 * Finish with tokenwatch_client_new_finish().
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
 * @res: the #GAsyncResult passed to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes tokenwatch_client_new_async() or
 * tokenwatch_client_new_for_bus_async().
 *
 * Returns: (transfer full): a new #TokenwatchClient, or %NULL on error
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
 * @self: a #TokenwatchClient
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
 * @self: a #TokenwatchClient
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
 * @self: a #TokenwatchClient
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
 * @self: a #TokenwatchClient
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

static gint
tokenwatch_client_reader_compare(gconstpointer a, gconstpointer b)
{
	TokenwatchReader *reader_a = *(TokenwatchReader *const *)a;
	TokenwatchReader *reader_b = *(TokenwatchReader *const *)b;
	gint rc;

	rc = g_strcmp0(tokenwatch_reader_get_name(reader_a), tokenwatch_reader_get_name(reader_b));
	if (rc != 0)
		return rc;
	return g_strcmp0(tokenwatch_reader_get_object_path(reader_a),
			 tokenwatch_reader_get_object_path(reader_b));
}

/**
 * tokenwatch_client_get_readers:
 * @self: a #TokenwatchClient
 *
 * Gets the readers tokenwatchd currently knows, sorted by name. The array
 * does not hold references on the readers: reference those kept beyond the
 * next return to the main loop.
 *
 * Returns: (transfer container) (element-type TokenwatchReader): the readers
 *
 * Since: 0.1
 */
GPtrArray *
tokenwatch_client_get_readers(TokenwatchClient *self)
{
	GPtrArray *readers;
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);

	readers = g_ptr_array_sized_new(g_hash_table_size(self->readers));
	g_hash_table_iter_init(&iter, self->readers);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(readers, value);
	g_ptr_array_sort(readers, tokenwatch_client_reader_compare);
	return readers;
}

/**
 * tokenwatch_client_get_reader_by_path:
 * @self: a #TokenwatchClient
 * @object_path: a D-Bus object path
 *
 * Looks up a reader by its D-Bus object path, e.g. one from the `Reader`
 * property of a token.
 *
 * Returns: (transfer none) (nullable): the reader, or %NULL if there is no
 *   reader at @object_path
 *
 * Since: 0.1
 */
TokenwatchReader *
tokenwatch_client_get_reader_by_path(TokenwatchClient *self, const gchar *object_path)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), NULL);
	g_return_val_if_fail(object_path != NULL, NULL);

	return g_hash_table_lookup(self->readers, object_path);
}

static void
tokenwatch_client_refresh_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchClient *self = g_task_get_source_object(task);
	g_autoptr(GError) error = NULL;

	if (!tw_dbus_manager_call_refresh_finish(TW_DBUS_MANAGER(source), res, &error)) {
		tokenwatch_client_convert_error(self, &error);
		g_prefix_error(&error, _("Refreshing the reader list failed: "));
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_boolean(task, TRUE);
}

/**
 * tokenwatch_client_refresh_async:
 * @self: a #TokenwatchClient
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called when tokenwatchd has taken the request
 * @user_data: data for @callback
 *
 * Asks tokenwatchd to re-read the readers and their card states from pcscd.
 * The changes it finds arrive as the usual signals and property changes.
 * Finish with tokenwatch_client_refresh_finish().
 *
 * Since: 0.1
 */
void
tokenwatch_client_refresh_async(TokenwatchClient *self,
				GCancellable *cancellable,
				GAsyncReadyCallback callback,
				gpointer user_data)
{
	g_autoptr(GTask) task = NULL;

	g_return_if_fail(TOKENWATCH_IS_CLIENT(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, tokenwatch_client_refresh_async);
	if (self->manager == NULL) {
		g_task_return_new_error(task, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED,
					"the client is not initialized");
		return;
	}
	tw_dbus_manager_call_refresh(self->manager, cancellable, tokenwatch_client_refresh_cb,
				     g_steal_pointer(&task));
}

/**
 * tokenwatch_client_refresh_finish:
 * @self: a #TokenwatchClient
 * @res: the #GAsyncResult passed to the callback
 * @error: return location for a #GError, or %NULL
 *
 * Finishes tokenwatch_client_refresh_async().
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_refresh_finish(TokenwatchClient *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	g_return_val_if_fail(g_task_get_source_tag(G_TASK(res)) == tokenwatch_client_refresh_async,
			     FALSE);

	return g_task_propagate_boolean(G_TASK(res), error);
}

/**
 * tokenwatch_client_refresh:
 * @self: a #TokenwatchClient
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @error: return location for a #GError, or %NULL
 *
 * Synchronous version of tokenwatch_client_refresh_async(): blocks until
 * tokenwatchd has taken the request.
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_refresh(TokenwatchClient *self, GCancellable *cancellable, GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (self->manager == NULL) {
		g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED,
				    "the client is not initialized");
		return FALSE;
	}
	if (!tw_dbus_manager_call_refresh_sync(self->manager, cancellable, error)) {
		tokenwatch_client_convert_error(self, error);
		g_prefix_error(error, _("Refreshing the reader list failed: "));
		return FALSE;
	}
	return TRUE;
}

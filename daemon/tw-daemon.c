/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The D-Bus adaptor: the only place that knows object paths. It exports the
 * engine's objects under an ObjectManager, with the Manager interface on the
 * root path itself (GDBusObjectManagerServer manages only the children of its
 * path, so Manager is exported beside it on the connection).
 *
 * Order on the wire: the objects are exported, then the name is requested,
 * and only when the name is ours does the engine start watching readers.
 * Property changes are flushed before the Manager signal that announces them,
 * so a client that reacts to CardInserted already reads the new CardPresent.
 */
#define G_LOG_DOMAIN "TwDaemon"

#include "config.h"

#include "tw-daemon.h"
#include "tw-dbus-generated.h"
#include "tw-names.h"
#include "tw-sd.h"

struct _TwDaemon {
	GObject parent_instance;
	TwEngine *engine;
	GBusType bus_type;
	gboolean replace;

	GDBusConnection *connection;
	GDBusObjectManagerServer *object_manager;
	TwDBusManager *manager;
	GHashTable *readers; /* TwReader → TwDBusObjectSkeleton */
	guint name_id;
	gboolean name_acquired;
	gboolean engine_started;
	guint watchdog_id;
	gchar *last_status;
};

G_DEFINE_TYPE(TwDaemon, tw_daemon, G_TYPE_OBJECT)

enum { SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

static const gchar *
tw_daemon_bus_name(TwDaemon *self)
{
	return self->bus_type == G_BUS_TYPE_SESSION ? "session" : "system";
}

static void
tw_daemon_finish(TwDaemon *self, gint exit_code)
{
	g_signal_emit(self, signals[SIGNAL_FINISHED], 0, exit_code);
}

static void
tw_daemon_update_status(TwDaemon *self)
{
	g_autofree gchar *status = tw_engine_describe(self->engine);

	if (g_strcmp0(status, self->last_status) == 0)
		return;
	g_free(self->last_status);
	self->last_status = g_steal_pointer(&status);
	if (self->engine_started)
		tw_sd_notify_status(self->last_status);
}

static void
tw_daemon_sync_reader(TwDaemon *self, TwReader *reader)
{
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->readers, reader);
	g_autoptr(TwDBusReader) iface = NULL;
	const gchar *const no_tokens[] = {NULL};

	if (object == NULL)
		return;
	iface = tw_dbus_object_get_reader(TW_DBUS_OBJECT(object));
	tw_dbus_reader_set_name(iface, tw_reader_get_name(reader));
	tw_dbus_reader_set_card_present(iface, tw_reader_get_card_present(reader));
	tw_dbus_reader_set_atr(iface, tw_reader_get_atr(reader));
	tw_dbus_reader_set_card_state(iface,
				      tw_card_state_to_string(tw_reader_get_card_state(reader)));
	tw_dbus_reader_set_event_count(iface, tw_reader_get_event_count(reader));
	if (tw_dbus_reader_get_tokens(iface) == NULL)
		tw_dbus_reader_set_tokens(iface, no_tokens);
}

static void
tw_daemon_reader_notify_cb(TwReader *reader, GParamSpec *pspec, gpointer user_data)
{
	tw_daemon_sync_reader(TW_DAEMON(user_data), reader);
}

/* send pending PropertiesChanged of @reader now, before a signal about it */
static const gchar *
tw_daemon_flush_reader(TwDaemon *self, TwReader *reader)
{
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->readers, reader);
	g_autoptr(TwDBusReader) iface = NULL;

	if (object == NULL)
		return NULL;
	iface = tw_dbus_object_get_reader(TW_DBUS_OBJECT(object));
	g_dbus_interface_skeleton_flush(G_DBUS_INTERFACE_SKELETON(iface));
	return g_dbus_object_get_object_path(G_DBUS_OBJECT(object));
}

static void
tw_daemon_reader_added_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *path = tw_names_object_path("readers", tw_reader_get_pcsc_name(reader));
	g_autoptr(TwDBusObjectSkeleton) object = tw_dbus_object_skeleton_new(path);
	g_autoptr(TwDBusReader) iface = tw_dbus_reader_skeleton_new();

	tw_dbus_object_skeleton_set_reader(object, iface);
	g_hash_table_insert(self->readers, g_object_ref(reader), g_object_ref(object));
	tw_daemon_sync_reader(self, reader);
	g_signal_connect_object(reader, "notify", G_CALLBACK(tw_daemon_reader_notify_cb), self, 0);
	g_dbus_object_manager_server_export(self->object_manager, G_DBUS_OBJECT_SKELETON(object));
	tw_dbus_manager_emit_reader_added(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_reader_removed_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->readers, reader);
	g_autofree gchar *path = NULL;

	if (object == NULL)
		return;
	path = g_strdup(g_dbus_object_get_object_path(G_DBUS_OBJECT(object)));
	g_signal_handlers_disconnect_by_data(reader, self);
	g_dbus_object_manager_server_unexport(self->object_manager, path);
	g_hash_table_remove(self->readers, reader);
	tw_dbus_manager_emit_reader_removed(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_card_inserted_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path;

	tw_daemon_sync_reader(self, reader);
	path = tw_daemon_flush_reader(self, reader);
	if (path != NULL)
		tw_dbus_manager_emit_card_inserted(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_card_removed_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path;

	tw_daemon_sync_reader(self, reader);
	path = tw_daemon_flush_reader(self, reader);
	if (path != NULL)
		tw_dbus_manager_emit_card_removed(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_pcsc_available_cb(TwEngine *engine, GParamSpec *pspec, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	tw_dbus_manager_set_pcsc_available(self->manager, tw_engine_get_pcsc_available(engine));
	tw_daemon_update_status(self);
}

static gboolean
tw_daemon_handle_refresh_cb(TwDBusManager *manager,
			    GDBusMethodInvocation *invocation,
			    gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	g_info("refresh requested by %s", g_dbus_method_invocation_get_sender(invocation));
	tw_engine_refresh(self->engine);
	tw_dbus_manager_complete_refresh(manager, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
tw_daemon_worker_healthy_cb(gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	/* the worker only ever works for a moment between two waits */
	return tw_engine_get_worker_busy_usec(self->engine) < 10 * G_USEC_PER_SEC;
}

static void
tw_daemon_name_acquired_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autoptr(GError) error = NULL;

	self->name_acquired = TRUE;
	if (self->engine_started)
		return;
	g_info("owning %s on the %s bus", name, tw_daemon_bus_name(self));
	if (!tw_engine_start(self->engine, &error)) {
		g_printerr("tokenwatchd: %s\n", error->message);
		tw_daemon_finish(self, EXIT_FAILURE);
		return;
	}
	self->engine_started = TRUE;
	tw_daemon_update_status(self);
	tw_sd_notify_ready(self->last_status);
	self->watchdog_id = tw_sd_watchdog_start(tw_daemon_worker_healthy_cb, self);
}

static void
tw_daemon_name_lost_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	if (connection == NULL || g_dbus_connection_is_closed(connection)) {
		g_printerr("tokenwatchd: lost the connection to the %s bus\n",
			   tw_daemon_bus_name(self));
		tw_daemon_finish(self, EXIT_FAILURE);
	} else if (!self->name_acquired) {
		g_printerr("tokenwatchd: another tokenwatchd already owns %s on the %s bus "
			   "(use --replace to take over)\n",
			   name, tw_daemon_bus_name(self));
		tw_daemon_finish(self, EXIT_FAILURE);
	} else {
		g_message("%s was taken over by another instance; exiting", name);
		tw_daemon_finish(self, EXIT_SUCCESS);
	}
}

static void
tw_daemon_connection_closed_cb(GDBusConnection *connection,
			       gboolean remote_peer_vanished,
			       GError *error,
			       gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	g_printerr("tokenwatchd: the %s bus connection closed%s%s\n", tw_daemon_bus_name(self),
		   error != NULL ? ": " : "", error != NULL ? error->message : "");
	tw_daemon_finish(self, EXIT_FAILURE);
}

gboolean
tw_daemon_start(TwDaemon *self, GError **error)
{
	GBusNameOwnerFlags flags =
		G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT | G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE;

	g_return_val_if_fail(TW_IS_DAEMON(self), FALSE);

	self->connection = g_bus_get_sync(self->bus_type, NULL, error);
	if (self->connection == NULL) {
		g_prefix_error(error, "connecting to the %s bus: ", tw_daemon_bus_name(self));
		return FALSE;
	}
	/* quit through our own path, with a message, not by SIGTERM */
	g_dbus_connection_set_exit_on_close(self->connection, FALSE);
	g_signal_connect_object(self->connection, "closed",
				G_CALLBACK(tw_daemon_connection_closed_cb), self, 0);

	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager),
					      self->connection, TW_DBUS_PATH, error)) {
		g_prefix_error(error, "exporting %s: ", TW_DBUS_PATH);
		return FALSE;
	}
	g_dbus_object_manager_server_set_connection(self->object_manager, self->connection);

	if (self->replace)
		flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
	self->name_id = g_bus_own_name_on_connection(self->connection, TW_DBUS_NAME, flags,
						     tw_daemon_name_acquired_cb,
						     tw_daemon_name_lost_cb, self, NULL);
	return TRUE;
}

void
tw_daemon_stop(TwDaemon *self)
{
	g_return_if_fail(TW_IS_DAEMON(self));

	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	if (self->engine_started) {
		tw_engine_stop(self->engine);
		self->engine_started = FALSE;
	}
	if (self->name_id != 0) {
		g_bus_unown_name(self->name_id);
		self->name_id = 0;
	}
	if (g_dbus_interface_skeleton_get_connection(G_DBUS_INTERFACE_SKELETON(self->manager)) !=
	    NULL) {
		g_dbus_object_manager_server_set_connection(self->object_manager, NULL);
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->manager));
		/* let the bus see the name released before we go */
		g_dbus_connection_flush_sync(self->connection, NULL, NULL);
	}
}

static void
tw_daemon_dispose(GObject *object)
{
	TwDaemon *self = TW_DAEMON(object);

	if (self->engine != NULL) {
		tw_daemon_stop(self);
		g_signal_handlers_disconnect_by_data(self->engine, self);
		g_clear_object(&self->engine);
	}
	g_clear_pointer(&self->readers, g_hash_table_unref);
	g_clear_object(&self->object_manager);
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);
	g_clear_pointer(&self->last_status, g_free);
	G_OBJECT_CLASS(tw_daemon_parent_class)->dispose(object);
}

static void
tw_daemon_init(TwDaemon *self)
{
	self->readers = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
					      g_object_unref);
	self->object_manager = g_dbus_object_manager_server_new(TW_DBUS_PATH);
	self->manager = tw_dbus_manager_skeleton_new();
	tw_dbus_manager_set_version(self->manager, PACKAGE_VERSION);
	g_signal_connect(self->manager, "handle-refresh", G_CALLBACK(tw_daemon_handle_refresh_cb),
			 self);
}

static void
tw_daemon_class_init(TwDaemonClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_daemon_dispose;

	/**
	 * TwDaemon::finished:
	 * @exit_code: what the process should exit with
	 *
	 * The daemon cannot go on (name lost, bus gone, start-up failed).
	 */
	signals[SIGNAL_FINISHED] =
		g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

TwDaemon *
tw_daemon_new(TwEngine *engine, GBusType bus_type, gboolean replace)
{
	TwDaemon *self;

	g_return_val_if_fail(TW_IS_ENGINE(engine), NULL);

	self = g_object_new(TW_TYPE_DAEMON, NULL);
	self->engine = g_object_ref(engine);
	self->bus_type = bus_type;
	self->replace = replace;
	g_signal_connect(engine, "reader-added", G_CALLBACK(tw_daemon_reader_added_cb), self);
	g_signal_connect(engine, "reader-removed", G_CALLBACK(tw_daemon_reader_removed_cb), self);
	g_signal_connect(engine, "card-inserted", G_CALLBACK(tw_daemon_card_inserted_cb), self);
	g_signal_connect(engine, "card-removed", G_CALLBACK(tw_daemon_card_removed_cb), self);
	g_signal_connect(engine, "notify::pcsc-available", G_CALLBACK(tw_daemon_pcsc_available_cb),
			 self);
	return self;
}

/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The PKCS#11 helper: "tokenwatchd --p11-helper", a process of its own that
 * loads PKCS#11 modules (p11-kit's configuration, or one module by path) and
 * reads their tokens for tokenwatchd with TwP11, so that a vendor module
 * that crashes or hangs takes this process down, never the daemon
 * (tw-p11-remote.c starts and watches it).
 *
 * It talks D-Bus peer to peer on the socket it inherits as fd 3 (the
 * daemon's end of a socket pair, so only the daemon can reach it), serves
 * io.github.tokenwatch.P11Helper, and exits when that connection closes.
 *
 *   Load() -> (as modules, a{ss} errors)
 *   Read(ay reader) -> (tokens, a{ss} errors); reader "" reads every slot
 */
#define G_LOG_DOMAIN "TwP11"

#include "config.h"

#include <gio/gio.h>
#include <glib-unix.h>

#include "tw-p11-helper.h"
#include "tw-p11-wire.h"

static const gchar tw_p11_helper_xml[] =
	"<node>"
	"  <interface name='" TW_P11_HELPER_IFACE "'>"
	"    <method name='Load'>"
	"      <arg name='modules' type='as' direction='out'/>"
	"      <arg name='errors' type='a{ss}' direction='out'/>"
	"    </method>"
	"    <method name='Read'>"
	"      <arg name='reader' type='ay' direction='in'/>"
	"      <arg name='tokens' type='" TW_P11_WIRE_TOKENS_TYPE "' direction='out'/>"
	"      <arg name='errors' type='a{ss}' direction='out'/>"
	"    </method>"
	"  </interface>"
	"</node>";

typedef struct {
	TwP11 *p11;
	GMainLoop *loop;
} TwP11Helper;

static GVariant *
tw_p11_helper_errors(TwP11 *p11)
{
	g_autoptr(GHashTable) errors = tw_p11_get_module_errors(p11);
	GVariantBuilder b;
	GHashTableIter iter;
	gpointer key, value;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	g_hash_table_iter_init(&iter, errors);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		/* D-Bus strings are UTF-8; a module's path may not be */
		g_autofree gchar *k = g_utf8_make_valid(key, -1);
		g_autofree gchar *v = g_utf8_make_valid(value, -1);

		g_variant_builder_add(&b, "{ss}", k, v);
	}
	return g_variant_builder_end(&b);
}

static void
tw_p11_helper_loaded_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GDBusMethodInvocation) invocation = user_data;
	TwP11 *p11 = TW_P11(source);
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) modules = NULL;
	GVariantBuilder b;

	if (!tw_p11_load_finish(p11, res, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	modules = tw_p11_get_modules(p11);
	g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
	for (guint i = 0; modules[i] != NULL; i++) {
		g_autofree gchar *m = g_utf8_make_valid(modules[i], -1);
		g_variant_builder_add(&b, "s", m);
	}
	g_dbus_method_invocation_return_value(
		invocation,
		g_variant_new("(@as@a{ss})", g_variant_builder_end(&b), tw_p11_helper_errors(p11)));
}

static void
tw_p11_helper_read_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GDBusMethodInvocation) invocation = user_data;
	TwP11 *p11 = TW_P11(source);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tokens = tw_p11_read_finish(p11, res, &error);

	if (tokens == NULL) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	g_dbus_method_invocation_return_value(invocation,
					      g_variant_new("(@" TW_P11_WIRE_TOKENS_TYPE "@a{ss})",
							    tw_p11_wire_from_tokens(tokens),
							    tw_p11_helper_errors(p11)));
}

static void
tw_p11_helper_method_call(GDBusConnection *connection,
			  const gchar *sender,
			  const gchar *object_path,
			  const gchar *interface_name,
			  const gchar *method_name,
			  GVariant *parameters,
			  GDBusMethodInvocation *invocation,
			  gpointer user_data)
{
	TwP11Helper *helper = user_data;

	if (g_strcmp0(method_name, "Load") == 0) {
		tw_p11_load_async(helper->p11, NULL, tw_p11_helper_loaded_cb,
				  g_object_ref(invocation));
	} else if (g_strcmp0(method_name, "Read") == 0) {
		const gchar *reader = NULL;

		/* pcscd's reader name, any bytes */
		g_variant_get(parameters, "(^&ay)", &reader);
		tw_p11_read_async(helper->p11, reader[0] != '\0' ? reader : NULL, NULL,
				  tw_p11_helper_read_cb, g_object_ref(invocation));
	} else {
		g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR,
						      G_DBUS_ERROR_UNKNOWN_METHOD, "no method %s",
						      method_name);
	}
}

/* systemd stops the whole service at once (KillMode=control-group): the
 * helper ends as cleanly as when its connection closes */
static gboolean
tw_p11_helper_signal_cb(gpointer user_data)
{
	TwP11Helper *helper = user_data;

	g_main_loop_quit(helper->loop);
	return G_SOURCE_CONTINUE;
}

static void
tw_p11_helper_closed_cb(GDBusConnection *connection,
			gboolean remote_peer_vanished,
			GError *error,
			gpointer user_data)
{
	TwP11Helper *helper = user_data;

	g_main_loop_quit(helper->loop);
}

int
tw_p11_helper_main(gint fd,
		   gboolean use_p11_kit_config,
		   const gchar *const *module_paths,
		   guint timeout_ms)
{
	static const GDBusInterfaceVTable vtable = {tw_p11_helper_method_call, NULL, NULL, {0}};
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) socket = g_socket_new_from_fd(fd, &error);
	g_autoptr(GSocketConnection) stream = NULL;
	g_autoptr(GDBusConnection) connection = NULL;
	g_autoptr(GDBusNodeInfo) info = NULL;
	g_autofree gchar *guid = g_dbus_generate_guid();
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	TwP11Helper helper = {NULL, loop};
	guint id;

	g_unix_signal_add(SIGTERM, tw_p11_helper_signal_cb, &helper);
	g_unix_signal_add(SIGINT, tw_p11_helper_signal_cb, &helper);
	if (socket == NULL) {
		g_printerr("tokenwatchd --p11-helper: no socket on fd %d: %s\n", fd,
			   error->message);
		return 1;
	}
	stream = g_socket_connection_factory_create_connection(socket);
	connection = g_dbus_connection_new_sync(
		G_IO_STREAM(stream), guid,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER |
			G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
		NULL, NULL, &error);
	if (connection == NULL) {
		g_printerr("tokenwatchd --p11-helper: %s\n", error->message);
		return 1;
	}
	info = g_dbus_node_info_new_for_xml(tw_p11_helper_xml, &error);
	g_assert_no_error(error);
	helper.p11 = tw_p11_new(use_p11_kit_config, module_paths, timeout_ms);
	id = g_dbus_connection_register_object(connection, TW_P11_HELPER_PATH, info->interfaces[0],
					       &vtable, &helper, NULL, &error);
	g_assert_no_error(error);
	g_signal_connect(connection, "closed", G_CALLBACK(tw_p11_helper_closed_cb), &helper);
	g_dbus_connection_start_message_processing(connection);
	g_main_loop_run(helper.loop);

	g_dbus_connection_unregister_object(connection, id);
	tw_p11_shutdown(helper.p11);
	g_clear_object(&helper.p11);
	/* a module that still hangs in a worker: do not run its destructors */
	if (!tw_p11_wait_workers(2000))
		_exit(0);
	return 0;
}

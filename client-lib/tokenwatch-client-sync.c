/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The synchronous API of TokenwatchClient: each call blocks the calling
 * thread (not its main loop's other sources, which simply wait). Prefer the
 * asynchronous calls in programs with a user interface. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-client-private.h"
#include "tokenwatch-error.h"
#include "tokenwatch-proxy-private.h"

/* GInitable: the blocking initialisation */
gboolean
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
		tokenwatch_proxy_convert_error(self->bus_type, error);
		return FALSE;
	}
	manager = tw_dbus_manager_proxy_new_sync(connection, G_DBUS_PROXY_FLAGS_NONE, TW_DBUS_NAME,
						 TW_DBUS_PATH, cancellable, error);
	if (manager == NULL) {
		tokenwatch_proxy_convert_error(self->bus_type, error);
		return FALSE;
	}
	tokenwatch_client_setup(self, g_steal_pointer(&connection),
				g_steal_pointer(&object_manager), g_steal_pointer(&manager));
	return TRUE;
}

/**
 * tokenwatch_client_new:
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Connects to tokenwatchd on the system bus, blocking until the current
 * state is known. Succeeds when tokenwatchd is not running; see
 * [property@Tokenwatch.Client:daemon-running].
 *
 * Returns: (transfer full): a new [class@Tokenwatch.Client], or %NULL if the
 *   bus cannot be reached
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
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Like [ctor@Tokenwatch.Client.new], for a tokenwatchd on the given bus
 * (`tokenwatchd --session`, for testing).
 *
 * Returns: (transfer full): a new [class@Tokenwatch.Client], or %NULL if the
 *   bus cannot be reached
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

/* calls @method of the Manager with @parameters (floating, or %NULL) */
static gboolean
tokenwatch_client_call_sync(TokenwatchClient *self,
			    const gchar *method,
			    GVariant *parameters,
			    GDBusCallFlags flags,
			    const gchar *error_prefix,
			    GCancellable *cancellable,
			    GError **error)
{
	g_autoptr(GVariant) reply = NULL;

	if (self->manager == NULL) {
		if (parameters != NULL)
			g_variant_unref(g_variant_ref_sink(parameters));
		g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED,
				    "the client is not initialized");
		return FALSE;
	}
	reply = g_dbus_proxy_call_sync(G_DBUS_PROXY(self->manager), method, parameters, flags, -1,
				       cancellable, error);
	if (reply == NULL) {
		tokenwatch_client_call_error(self, error, error_prefix);
		return FALSE;
	}
	return TRUE;
}

/**
 * tokenwatch_client_refresh:
 * @self: a [class@Tokenwatch.Client]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Synchronous version of [method@Tokenwatch.Client.refresh_async]: blocks until
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

	return tokenwatch_client_call_sync(self, "Refresh", NULL, G_DBUS_CALL_FLAGS_NONE,
					   _("Refreshing the reader list failed: "), cancellable,
					   error);
}

/**
 * tokenwatch_client_forget:
 * @self: a [class@Tokenwatch.Client]
 * @token: a [class@Tokenwatch.Token] of @self
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Synchronous version of [method@Tokenwatch.Client.forget_async]: blocks until
 * tokenwatchd has forgotten @token. The client learns that the token and
 * its certificates went away only when its main context runs next.
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NOT_FOUND when tokenwatchd does not know the token
 *   (any more)
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_forget(TokenwatchClient *self,
			 TokenwatchToken *token,
			 GCancellable *cancellable,
			 GError **error)
{
	g_autofree gchar *prefix = NULL;

	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	g_return_val_if_fail(TOKENWATCH_IS_TOKEN(token), FALSE);
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	prefix = tokenwatch_client_forget_error_prefix(token);
	return tokenwatch_client_call_sync(
		self, "Forget", g_variant_new("(o)", tokenwatch_token_get_object_path(token)),
		G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, prefix, cancellable, error);
}

/**
 * tokenwatch_client_reload_config:
 * @self: a [class@Tokenwatch.Client]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Synchronous version of [method@Tokenwatch.Client.reload_config_async]: blocks
 * until tokenwatchd has reloaded its configuration.
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_INVALID_ARGUMENT when the configuration is not valid
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_reload_config(TokenwatchClient *self, GCancellable *cancellable, GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	return tokenwatch_client_call_sync(
		self, "ReloadConfig", NULL, G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
		_("Reloading the configuration failed: "), cancellable, error);
}

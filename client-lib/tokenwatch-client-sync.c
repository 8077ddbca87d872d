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
		tokenwatch_proxy_convert_error(self->bus_type, error);
		g_prefix_error(error, _("Refreshing the reader list failed: "));
		return FALSE;
	}
	return TRUE;
}

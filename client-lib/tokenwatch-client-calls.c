/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The Manager's methods, asynchronous: Refresh, Forget, ReloadConfig. None
 * returns anything but success or an error, so they share one callback.
 * Those that change state may need polkit to ask the user: they allow
 * interactive authorization, which the generated proxy calls cannot. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-client-private.h"
#include "tokenwatch-error.h"
#include "tokenwatch-proxy-private.h"

/* what every failed call goes through: a TOKENWATCH_ERROR (or
 * G_IO_ERROR_CANCELLED) that says what was asked */
void
tokenwatch_client_call_error(TokenwatchClient *self, GError **error, const gchar *prefix)
{
	tokenwatch_proxy_convert_error(self->bus_type, error);
	g_prefix_error(error, "%s", prefix);
}

gchar *
tokenwatch_client_forget_error_prefix(TokenwatchToken *token)
{
	return g_strdup_printf(_("Forgetting token %s failed: "),
			       tokenwatch_token_get_object_path(token));
}

static void
tokenwatch_client_call_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchClient *self = g_task_get_source_object(task);
	const gchar *error_prefix = g_task_get_task_data(task);
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	if (reply == NULL) {
		tokenwatch_client_call_error(self, &error, error_prefix);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_boolean(task, TRUE);
}

/* calls @method of the Manager with @parameters (floating, or %NULL); the
 * task returns a boolean, or an error prefixed with @error_prefix */
static void
tokenwatch_client_call(TokenwatchClient *self,
		       gpointer source_tag,
		       const gchar *method,
		       GVariant *parameters,
		       GDBusCallFlags flags,
		       gchar *error_prefix, /* (transfer full) */
		       GCancellable *cancellable,
		       GAsyncReadyCallback callback,
		       gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);

	g_task_set_source_tag(task, source_tag);
	g_task_set_task_data(task, error_prefix, g_free);
	if (self->manager == NULL) {
		if (parameters != NULL)
			g_variant_unref(g_variant_ref_sink(parameters));
		g_task_return_new_error(task, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED,
					"the client is not initialized");
		return;
	}
	g_dbus_proxy_call(G_DBUS_PROXY(self->manager), method, parameters, flags, -1, cancellable,
			  tokenwatch_client_call_cb, g_steal_pointer(&task));
}

static gboolean
tokenwatch_client_call_finish(TokenwatchClient *self,
			      GAsyncResult *res,
			      gpointer source_tag,
			      GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CLIENT(self), FALSE);
	g_return_val_if_fail(g_task_is_valid(res, self), FALSE);
	g_return_val_if_fail(g_task_get_source_tag(G_TASK(res)) == source_tag, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	return g_task_propagate_boolean(G_TASK(res), error);
}

/**
 * tokenwatch_client_refresh_async:
 * @self: a [class@Tokenwatch.Client]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when tokenwatchd has taken the request
 * @user_data: data for @callback
 *
 * Asks tokenwatchd to re-read the readers and their card states from pcscd.
 * The changes it finds arrive as the usual signals and property changes.
 * Finish with [method@Tokenwatch.Client.refresh_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_client_refresh_async(TokenwatchClient *self,
				GCancellable *cancellable,
				GAsyncReadyCallback callback,
				gpointer user_data)
{
	g_return_if_fail(TOKENWATCH_IS_CLIENT(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	tokenwatch_client_call(self, tokenwatch_client_refresh_async, "Refresh", NULL,
			       G_DBUS_CALL_FLAGS_NONE,
			       g_strdup(_("Refreshing the reader list failed: ")), cancellable,
			       callback, user_data);
}

/**
 * tokenwatch_client_refresh_finish:
 * @self: a [class@Tokenwatch.Client]
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [method@Tokenwatch.Client.refresh_async].
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_refresh_finish(TokenwatchClient *self, GAsyncResult *res, GError **error)
{
	return tokenwatch_client_call_finish(self, res, tokenwatch_client_refresh_async, error);
}

/**
 * tokenwatch_client_forget_async:
 * @self: a [class@Tokenwatch.Client]
 * @token: a [class@Tokenwatch.Token] of @self
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when tokenwatchd has forgotten @token
 * @user_data: data for @callback
 *
 * Asks tokenwatchd to drop @token and what it remembers of it: the token goes
 * ([signal@Tokenwatch.Client::token-removed]), and so do its certificates
 * unless another token holds them
 * ([signal@Tokenwatch.Client::certificate-removed]); the warnings already sent
 * about them are forgotten too. A token that is present comes back, as new, the
 * next time it is read. This is the way to get rid of a remembered token
 * ([property@Tokenwatch.Token:present] %FALSE) that will not come back.
 * tokenwatchd may ask polkit whether the caller is allowed; the call allows
 * polkit to ask the user to authenticate, so it can take long. Finish with
 * [method@Tokenwatch.Client.forget_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_client_forget_async(TokenwatchClient *self,
			       TokenwatchToken *token,
			       GCancellable *cancellable,
			       GAsyncReadyCallback callback,
			       gpointer user_data)
{
	g_return_if_fail(TOKENWATCH_IS_CLIENT(self));
	g_return_if_fail(TOKENWATCH_IS_TOKEN(token));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	tokenwatch_client_call(self, tokenwatch_client_forget_async, "Forget",
			       g_variant_new("(o)", tokenwatch_token_get_object_path(token)),
			       G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
			       tokenwatch_client_forget_error_prefix(token), cancellable, callback,
			       user_data);
}

/**
 * tokenwatch_client_forget_finish:
 * @self: a [class@Tokenwatch.Client]
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [method@Tokenwatch.Client.forget_async].
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NOT_FOUND when tokenwatchd does not know the token
 *   (any more), %TOKENWATCH_ERROR_PERMISSION_DENIED when the caller is not
 *   allowed, %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_forget_finish(TokenwatchClient *self, GAsyncResult *res, GError **error)
{
	return tokenwatch_client_call_finish(self, res, tokenwatch_client_forget_async, error);
}

/**
 * tokenwatch_client_reload_config_async:
 * @self: a [class@Tokenwatch.Client]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when tokenwatchd has reloaded its
 *   configuration
 * @user_data: data for @callback
 *
 * Asks tokenwatchd to read its configuration file and its device data
 * again, as `SIGHUP` does, and to re-evaluate every deadline with them. When
 * the file is not valid, nothing changes and the call fails. tokenwatchd may
 * ask polkit whether the caller is allowed; the call allows polkit to ask the
 * user to authenticate, so it can take long. Finish with
 * [method@Tokenwatch.Client.reload_config_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_client_reload_config_async(TokenwatchClient *self,
				      GCancellable *cancellable,
				      GAsyncReadyCallback callback,
				      gpointer user_data)
{
	g_return_if_fail(TOKENWATCH_IS_CLIENT(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	tokenwatch_client_call(self, tokenwatch_client_reload_config_async, "ReloadConfig", NULL,
			       G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
			       g_strdup(_("Reloading the configuration failed: ")), cancellable,
			       callback, user_data);
}

/**
 * tokenwatch_client_reload_config_finish:
 * @self: a [class@Tokenwatch.Client]
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [method@Tokenwatch.Client.reload_config_async].
 *
 * Returns: %TRUE on success; %FALSE with @error set, e.g. to
 *   %TOKENWATCH_ERROR_INVALID_ARGUMENT when the configuration is not valid
 *   (the message names the file, group and key),
 *   %TOKENWATCH_ERROR_PERMISSION_DENIED when the caller is not allowed,
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gboolean
tokenwatch_client_reload_config_finish(TokenwatchClient *self, GAsyncResult *res, GError **error)
{
	return tokenwatch_client_call_finish(self, res, tokenwatch_client_reload_config_async,
					     error);
}

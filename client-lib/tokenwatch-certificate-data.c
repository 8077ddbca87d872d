/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The certificate itself, DER or PEM, read from tokenwatchd on request. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-certificate-private.h"
#include "tokenwatch-error.h"
#include "tokenwatch-proxy-private.h"

static void
tokenwatch_certificate_data_error(TokenwatchCertificate *self, GError **error)
{
	if (g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	tokenwatch_proxy_convert_error(tokenwatch_certificate_get_bus_type(self), error);
	g_prefix_error(error, _("Reading certificate %s failed: "),
		       tokenwatch_certificate_get_object_path(self));
}

static void
tokenwatch_certificate_get_der_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchCertificate *self = g_task_get_source_object(task);
	g_autoptr(GVariant) der = NULL;
	g_autoptr(GError) error = NULL;

	if (!tw_dbus_certificate_call_get_der_finish(TW_DBUS_CERTIFICATE(source), &der, res,
						     &error)) {
		tokenwatch_certificate_data_error(self, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, g_variant_get_data_as_bytes(der),
			      (GDestroyNotify)g_bytes_unref);
}

/**
 * tokenwatch_certificate_get_der_async:
 * @self: a [class@Tokenwatch.Certificate]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when the DER has arrived
 * @user_data: data for @callback
 *
 * Asks tokenwatchd for the certificate in DER. Finish with
 * [method@Tokenwatch.Certificate.get_der_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_certificate_get_der_async(TokenwatchCertificate *self,
				     GCancellable *cancellable,
				     GAsyncReadyCallback callback,
				     gpointer user_data)
{
	g_autoptr(GTask) task = NULL;

	g_return_if_fail(TOKENWATCH_IS_CERTIFICATE(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, tokenwatch_certificate_get_der_async);
	tw_dbus_certificate_call_get_der(tokenwatch_certificate_get_proxy(self), cancellable,
					 tokenwatch_certificate_get_der_cb, g_steal_pointer(&task));
}

/**
 * tokenwatch_certificate_get_der_finish:
 * @self: a [class@Tokenwatch.Certificate]
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [method@Tokenwatch.Certificate.get_der_async].
 *
 * Returns: (transfer full): the DER bytes, or %NULL with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
GBytes *
tokenwatch_certificate_get_der_finish(TokenwatchCertificate *self,
				      GAsyncResult *res,
				      GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	g_return_val_if_fail(g_task_is_valid(res, self), NULL);
	g_return_val_if_fail(
		g_task_get_source_tag(G_TASK(res)) == tokenwatch_certificate_get_der_async, NULL);

	return g_task_propagate_pointer(G_TASK(res), error);
}

/**
 * tokenwatch_certificate_get_der:
 * @self: a [class@Tokenwatch.Certificate]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Synchronous version of [method@Tokenwatch.Certificate.get_der_async].
 *
 * Returns: (transfer full): the DER bytes, or %NULL with @error set
 *
 * Since: 0.1
 */
GBytes *
tokenwatch_certificate_get_der(TokenwatchCertificate *self,
			       GCancellable *cancellable,
			       GError **error)
{
	g_autoptr(GVariant) der = NULL;

	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!tw_dbus_certificate_call_get_der_sync(tokenwatch_certificate_get_proxy(self), &der,
						   cancellable, error)) {
		tokenwatch_certificate_data_error(self, error);
		return NULL;
	}
	return g_variant_get_data_as_bytes(der);
}

static void
tokenwatch_certificate_get_pem_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TokenwatchCertificate *self = g_task_get_source_object(task);
	g_autofree gchar *pem = NULL;
	g_autoptr(GError) error = NULL;

	if (!tw_dbus_certificate_call_get_pem_finish(TW_DBUS_CERTIFICATE(source), &pem, res,
						     &error)) {
		tokenwatch_certificate_data_error(self, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, g_steal_pointer(&pem), g_free);
}

/**
 * tokenwatch_certificate_get_pem_async:
 * @self: a [class@Tokenwatch.Certificate]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @callback: (scope async): called when the PEM has arrived
 * @user_data: data for @callback
 *
 * Asks tokenwatchd for the certificate in PEM. Finish with
 * [method@Tokenwatch.Certificate.get_pem_finish].
 *
 * Since: 0.1
 */
void
tokenwatch_certificate_get_pem_async(TokenwatchCertificate *self,
				     GCancellable *cancellable,
				     GAsyncReadyCallback callback,
				     gpointer user_data)
{
	g_autoptr(GTask) task = NULL;

	g_return_if_fail(TOKENWATCH_IS_CERTIFICATE(self));
	g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

	task = g_task_new(self, cancellable, callback, user_data);
	g_task_set_source_tag(task, tokenwatch_certificate_get_pem_async);
	tw_dbus_certificate_call_get_pem(tokenwatch_certificate_get_proxy(self), cancellable,
					 tokenwatch_certificate_get_pem_cb, g_steal_pointer(&task));
}

/**
 * tokenwatch_certificate_get_pem_finish:
 * @self: a [class@Tokenwatch.Certificate]
 * @res: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Finishes [method@Tokenwatch.Certificate.get_pem_async].
 *
 * Returns: (transfer full): the PEM text, or %NULL with @error set, e.g. to
 *   %TOKENWATCH_ERROR_NO_SERVICE when tokenwatchd is not running
 *
 * Since: 0.1
 */
gchar *
tokenwatch_certificate_get_pem_finish(TokenwatchCertificate *self,
				      GAsyncResult *res,
				      GError **error)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	g_return_val_if_fail(g_task_is_valid(res, self), NULL);
	g_return_val_if_fail(
		g_task_get_source_tag(G_TASK(res)) == tokenwatch_certificate_get_pem_async, NULL);

	return g_task_propagate_pointer(G_TASK(res), error);
}

/**
 * tokenwatch_certificate_get_pem:
 * @self: a [class@Tokenwatch.Certificate]
 * @cancellable: (nullable): a [class@Gio.Cancellable], or %NULL
 * @error: return location for a [struct@GLib.Error], or %NULL
 *
 * Synchronous version of [method@Tokenwatch.Certificate.get_pem_async].
 *
 * Returns: (transfer full): the PEM text, or %NULL with @error set
 *
 * Since: 0.1
 */
gchar *
tokenwatch_certificate_get_pem(TokenwatchCertificate *self,
			       GCancellable *cancellable,
			       GError **error)
{
	gchar *pem = NULL;

	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!tw_dbus_certificate_call_get_pem_sync(tokenwatch_certificate_get_proxy(self), &pem,
						   cancellable, error)) {
		tokenwatch_certificate_data_error(self, error);
		return NULL;
	}
	return pem;
}

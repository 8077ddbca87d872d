/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(TOKENWATCH_INSIDE) && !defined(TOKENWATCH_COMPILATION)
#error "Only <tokenwatch.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tokenwatch-certificate.h"
#include "tokenwatch-reader.h"
#include "tokenwatch-token.h"

G_BEGIN_DECLS

/**
 * TOKENWATCH_TYPE_CLIENT:
 *
 * The [alias@GObject.Type] of [class@Tokenwatch.Client].
 *
 * Since: 0.1
 */
#define TOKENWATCH_TYPE_CLIENT (tokenwatch_client_get_type())
G_DECLARE_FINAL_TYPE(TokenwatchClient, tokenwatch_client, TOKENWATCH, CLIENT, GObject)

TokenwatchClient *tokenwatch_client_new(GCancellable *cancellable,
					GError **error) G_GNUC_WARN_UNUSED_RESULT;
TokenwatchClient *tokenwatch_client_new_for_bus(GBusType bus_type,
						GCancellable *cancellable,
						GError **error) G_GNUC_WARN_UNUSED_RESULT;
void tokenwatch_client_new_async(GCancellable *cancellable,
				 GAsyncReadyCallback callback,
				 gpointer user_data);
void tokenwatch_client_new_for_bus_async(GBusType bus_type,
					 GCancellable *cancellable,
					 GAsyncReadyCallback callback,
					 gpointer user_data);
TokenwatchClient *tokenwatch_client_new_finish(GAsyncResult *res,
					       GError **error) G_GNUC_WARN_UNUSED_RESULT;

GBusType tokenwatch_client_get_bus_type(TokenwatchClient *self);
gboolean tokenwatch_client_get_daemon_running(TokenwatchClient *self);
const gchar *tokenwatch_client_get_version(TokenwatchClient *self);
gboolean tokenwatch_client_get_pcsc_available(TokenwatchClient *self);

GPtrArray *tokenwatch_client_get_readers(TokenwatchClient *self) G_GNUC_WARN_UNUSED_RESULT;
TokenwatchReader *tokenwatch_client_get_reader_by_path(TokenwatchClient *self,
						       const gchar *object_path);
GPtrArray *tokenwatch_client_get_tokens(TokenwatchClient *self) G_GNUC_WARN_UNUSED_RESULT;
TokenwatchToken *tokenwatch_client_get_token_by_path(TokenwatchClient *self,
						     const gchar *object_path);
GPtrArray *tokenwatch_client_get_tokens_for_reader(TokenwatchClient *self, TokenwatchReader *reader)
	G_GNUC_WARN_UNUSED_RESULT;
GPtrArray *tokenwatch_client_get_certificates(TokenwatchClient *self) G_GNUC_WARN_UNUSED_RESULT;
TokenwatchCertificate *tokenwatch_client_get_certificate_by_path(TokenwatchClient *self,
								 const gchar *object_path);
GPtrArray *
tokenwatch_client_get_certificates_for_token(TokenwatchClient *self,
					     TokenwatchToken *token) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray *tokenwatch_client_get_certificates_expiring(TokenwatchClient *self,
						       guint within_days) G_GNUC_WARN_UNUSED_RESULT;

void tokenwatch_client_refresh_async(TokenwatchClient *self,
				     GCancellable *cancellable,
				     GAsyncReadyCallback callback,
				     gpointer user_data);
gboolean
tokenwatch_client_refresh_finish(TokenwatchClient *self, GAsyncResult *res, GError **error);
gboolean
tokenwatch_client_refresh(TokenwatchClient *self, GCancellable *cancellable, GError **error);

void tokenwatch_client_forget_async(TokenwatchClient *self,
				    TokenwatchToken *token,
				    GCancellable *cancellable,
				    GAsyncReadyCallback callback,
				    gpointer user_data);
gboolean tokenwatch_client_forget_finish(TokenwatchClient *self, GAsyncResult *res, GError **error);
gboolean tokenwatch_client_forget(TokenwatchClient *self,
				  TokenwatchToken *token,
				  GCancellable *cancellable,
				  GError **error);

void tokenwatch_client_reload_config_async(TokenwatchClient *self,
					   GCancellable *cancellable,
					   GAsyncReadyCallback callback,
					   gpointer user_data);
gboolean
tokenwatch_client_reload_config_finish(TokenwatchClient *self, GAsyncResult *res, GError **error);
gboolean
tokenwatch_client_reload_config(TokenwatchClient *self, GCancellable *cancellable, GError **error);

G_END_DECLS

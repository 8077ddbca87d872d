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

#include "tokenwatch-enums.h"

G_BEGIN_DECLS

/**
 * TOKENWATCH_TYPE_CERTIFICATE:
 *
 * The [alias@GObject.Type] of [class@Tokenwatch.Certificate].
 *
 * Since: 0.1
 */
#define TOKENWATCH_TYPE_CERTIFICATE (tokenwatch_certificate_get_type())
G_DECLARE_FINAL_TYPE(
	TokenwatchCertificate, tokenwatch_certificate, TOKENWATCH, CERTIFICATE, GObject)

const gchar *tokenwatch_certificate_get_object_path(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_subject(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_common_name(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_issuer(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_serial_number(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_serial_number_decimal(TokenwatchCertificate *self);
guint64 tokenwatch_certificate_get_not_before(TokenwatchCertificate *self);
guint64 tokenwatch_certificate_get_not_after(TokenwatchCertificate *self);
guint64 tokenwatch_certificate_get_effective_not_after(TokenwatchCertificate *self);
gint tokenwatch_certificate_get_days_left(TokenwatchCertificate *self);
TokenwatchCertificateKind tokenwatch_certificate_get_kind(TokenwatchCertificate *self);
gboolean tokenwatch_certificate_get_qc_compliance(TokenwatchCertificate *self);
gboolean tokenwatch_certificate_get_qc_sscd(TokenwatchCertificate *self);
const gchar *const *tokenwatch_certificate_get_qc_types(TokenwatchCertificate *self);
const gchar *const *tokenwatch_certificate_get_policies(TokenwatchCertificate *self);
gboolean tokenwatch_certificate_get_is_ca(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_key_type(TokenwatchCertificate *self);
guint tokenwatch_certificate_get_key_bits(TokenwatchCertificate *self);
const gchar *const *tokenwatch_certificate_get_key_usage(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_sha256(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_label(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_id(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_error(TokenwatchCertificate *self);
const gchar *tokenwatch_certificate_get_token_path(TokenwatchCertificate *self);
TokenwatchCertificateStatus tokenwatch_certificate_get_status(TokenwatchCertificate *self);

void tokenwatch_certificate_get_der_async(TokenwatchCertificate *self,
					  GCancellable *cancellable,
					  GAsyncReadyCallback callback,
					  gpointer user_data);
GBytes *tokenwatch_certificate_get_der_finish(TokenwatchCertificate *self,
					      GAsyncResult *res,
					      GError **error) G_GNUC_WARN_UNUSED_RESULT;
GBytes *tokenwatch_certificate_get_der(TokenwatchCertificate *self,
				       GCancellable *cancellable,
				       GError **error) G_GNUC_WARN_UNUSED_RESULT;
void tokenwatch_certificate_get_pem_async(TokenwatchCertificate *self,
					  GCancellable *cancellable,
					  GAsyncReadyCallback callback,
					  gpointer user_data);
gchar *tokenwatch_certificate_get_pem_finish(TokenwatchCertificate *self,
					     GAsyncResult *res,
					     GError **error) G_GNUC_WARN_UNUSED_RESULT;
gchar *tokenwatch_certificate_get_pem(TokenwatchCertificate *self,
				      GCancellable *cancellable,
				      GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tokenwatch.h>

#include "twctl-output.h"

G_BEGIN_DECLS

/* tokens and certificates, as the commands show them */

gchar *twctl_certificate_name(TokenwatchCertificate *cert) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_certificate_issuer_name(TokenwatchCertificate *cert) G_GNUC_WARN_UNUSED_RESULT;
const gchar *twctl_certificate_kind_label(TokenwatchCertificateKind kind);
const gchar *twctl_certificate_policy_name(const gchar *oid);
TwctlColor twctl_certificate_status_color(TokenwatchCertificateStatus status);
gchar *twctl_token_name(TokenwatchToken *token) G_GNUC_WARN_UNUSED_RESULT;
TwctlColor twctl_pin_state_color(TokenwatchPinState state);
TwctlColor twctl_advice_severity_color(TokenwatchAdviceSeverity severity);
gchar *twctl_advice_line(TokenwatchAdvice *advice) G_GNUC_WARN_UNUSED_RESULT;

void twctl_certificate_to_json(TwctlJson *json, TokenwatchCertificate *cert);
void twctl_token_to_json(TwctlJson *json, TokenwatchClient *client, TokenwatchToken *token);

TokenwatchCertificate *
twctl_certificate_lookup(TokenwatchClient *client, const gchar *spec, GError **error);
TokenwatchToken *twctl_token_lookup(TokenwatchClient *client, const gchar *spec, GError **error);

G_END_DECLS

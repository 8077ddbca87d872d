/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

typedef enum {
	TWCTL_SHOW_OBJECT_PATH,
	TWCTL_SHOW_SUBJECT,
	TWCTL_SHOW_ISSUER,
	TWCTL_SHOW_SERIAL,
	TWCTL_SHOW_NOT_BEFORE,
	TWCTL_SHOW_NOT_AFTER,
	TWCTL_SHOW_EFFECTIVE_NOT_AFTER,
	TWCTL_SHOW_DAYS_LEFT,
	TWCTL_SHOW_STATUS,
	TWCTL_SHOW_KIND,
	TWCTL_SHOW_QC_COMPLIANCE,
	TWCTL_SHOW_QC_SSCD,
	TWCTL_SHOW_QC_TYPES,
	TWCTL_SHOW_POLICIES,
	TWCTL_SHOW_IS_CA,
	TWCTL_SHOW_KEY,
	TWCTL_SHOW_KEY_USAGE,
	TWCTL_SHOW_SHA256,
	TWCTL_SHOW_LABEL,
	TWCTL_SHOW_ID,
	TWCTL_SHOW_TOKEN,
	TWCTL_SHOW_ERROR,
	TWCTL_SHOW_N_FIELDS,
} TwctlShowField;

static const gchar *
twctl_show_yes_no(gboolean value)
{
	return value ? _("yes") : _("no");
}

static gchar *
twctl_show_strv(const gchar *const *values)
{
	g_autofree gchar *joined = g_strjoinv(", ", (gchar **)values);

	return twctl_output_sanitize(joined[0] != '\0' ? joined : "-");
}

/* "0.4.0.194112.1.2 (QCP-n-qscd), 1.3.6.1.4.1.21528.2.1.1.190" */
static gchar *
twctl_show_policies(const gchar *const *oids)
{
	g_autoptr(GString) str = g_string_new(NULL);

	for (guint i = 0; oids[i] != NULL; i++) {
		const gchar *name = twctl_certificate_policy_name(oids[i]);

		if (i > 0)
			g_string_append(str, ", ");
		g_string_append(str, oids[i]);
		if (name != NULL)
			g_string_append_printf(str, " (%s)", name);
	}
	return twctl_output_sanitize(str->len > 0 ? str->str : "-");
}

static gchar *
twctl_show_token(TokenwatchClient *client, TokenwatchCertificate *cert)
{
	const gchar *path = tokenwatch_certificate_get_token_path(cert);
	TokenwatchToken *token =
		path != NULL ? tokenwatch_client_get_token_by_path(client, path) : NULL;
	g_autofree gchar *name = NULL;

	if (token == NULL)
		return g_strdup(path != NULL ? path : "-");
	name = twctl_token_name(token);
	return g_strdup_printf("%s (%s)", name, path);
}

/* every property, in the order of the D-Bus API */
static void
twctl_show_fill(TwctlContext *ctx,
		TokenwatchClient *client,
		TokenwatchCertificate *cert,
		gchar **values)
{
	TokenwatchCertificateKind kind = tokenwatch_certificate_get_kind(cert);
	TokenwatchCertificateStatus status = tokenwatch_certificate_get_status(cert);
	TwctlColor color = twctl_certificate_status_color(status);
	g_autofree gchar *serial =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number_decimal(cert));
	g_autofree gchar *serial_hex =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number(cert));
	g_autofree gchar *days = g_strdup_printf("%d", tokenwatch_certificate_get_days_left(cert));
	g_autofree gchar *effective =
		twctl_output_datetime(tokenwatch_certificate_get_effective_not_after(cert));
	g_autofree gchar *error = twctl_output_sanitize(tokenwatch_certificate_get_error(cert));

	values[TWCTL_SHOW_OBJECT_PATH] = g_strdup(tokenwatch_certificate_get_object_path(cert));
	values[TWCTL_SHOW_SUBJECT] =
		twctl_output_sanitize(tokenwatch_certificate_get_subject(cert));
	values[TWCTL_SHOW_ISSUER] = twctl_output_sanitize(tokenwatch_certificate_get_issuer(cert));
	values[TWCTL_SHOW_SERIAL] = g_strdup_printf(_("%s (hex %s)"), serial, serial_hex);
	values[TWCTL_SHOW_NOT_BEFORE] =
		twctl_output_datetime(tokenwatch_certificate_get_not_before(cert));
	values[TWCTL_SHOW_NOT_AFTER] =
		twctl_output_datetime(tokenwatch_certificate_get_not_after(cert));
	if (tokenwatch_certificate_get_effective_not_after(cert) <
		    tokenwatch_certificate_get_not_after(cert) &&
	    tokenwatch_certificate_get_effective_not_after(cert) != 0) {
		values[TWCTL_SHOW_EFFECTIVE_NOT_AFTER] = g_strdup_printf(
			_("%s (the QSCD certification of the device ends first)"), effective);
	} else {
		values[TWCTL_SHOW_EFFECTIVE_NOT_AFTER] = g_steal_pointer(&effective);
	}
	values[TWCTL_SHOW_DAYS_LEFT] = twctl_output_colorize(ctx->color, color, days);
	values[TWCTL_SHOW_STATUS] = twctl_output_colorize(
		ctx->color, color,
		twctl_output_enum_nick(TOKENWATCH_TYPE_CERTIFICATE_STATUS, status));
	values[TWCTL_SHOW_KIND] =
		g_strdup_printf("%s (%s)", twctl_certificate_kind_label(kind),
				twctl_output_enum_nick(TOKENWATCH_TYPE_CERTIFICATE_KIND, kind));
	values[TWCTL_SHOW_QC_COMPLIANCE] =
		g_strdup(twctl_show_yes_no(tokenwatch_certificate_get_qc_compliance(cert)));
	values[TWCTL_SHOW_QC_SSCD] =
		g_strdup(twctl_show_yes_no(tokenwatch_certificate_get_qc_sscd(cert)));
	values[TWCTL_SHOW_QC_TYPES] = twctl_show_strv(tokenwatch_certificate_get_qc_types(cert));
	values[TWCTL_SHOW_POLICIES] =
		twctl_show_policies(tokenwatch_certificate_get_policies(cert));
	values[TWCTL_SHOW_IS_CA] =
		g_strdup(twctl_show_yes_no(tokenwatch_certificate_get_is_ca(cert)));
	values[TWCTL_SHOW_KEY] =
		g_strdup_printf(_("%s, %u bits"), tokenwatch_certificate_get_key_type(cert),
				tokenwatch_certificate_get_key_bits(cert));
	values[TWCTL_SHOW_KEY_USAGE] = twctl_show_strv(tokenwatch_certificate_get_key_usage(cert));
	values[TWCTL_SHOW_SHA256] = twctl_output_sanitize(tokenwatch_certificate_get_sha256(cert));
	values[TWCTL_SHOW_LABEL] = twctl_output_sanitize(tokenwatch_certificate_get_label(cert));
	values[TWCTL_SHOW_ID] = twctl_output_sanitize(tokenwatch_certificate_get_id(cert));
	values[TWCTL_SHOW_TOKEN] = twctl_show_token(client, cert);
	values[TWCTL_SHOW_ERROR] =
		error[0] != '\0' ? twctl_output_colorize(ctx->color, TWCTL_COLOR_RED, error)
				 : g_strdup("-");
}

static void
twctl_show_print_text(TwctlContext *ctx, TokenwatchClient *client, TokenwatchCertificate *cert)
{
	const gchar *labels[TWCTL_SHOW_N_FIELDS + 1] = {
		_("Object path"),
		_("Subject"),
		_("Issuer"),
		_("Serial number"),
		_("Valid from"),
		_("Valid until"),
		_("Usable until"),
		_("Days left"),
		_("Status"),
		_("Kind"),
		_("QcCompliance"),
		_("QcSSCD"),
		_("QcTypes"),
		_("Policies"),
		_("CA"),
		_("Key"),
		_("Key usage"),
		_("SHA-256"),
		_("Label"),
		_("ID"),
		_("Token"),
		_("Error"),
		NULL,
	};
	gchar *values[TWCTL_SHOW_N_FIELDS] = {NULL};
	gint width = twctl_output_label_width(labels);
	g_autofree gchar *name = twctl_certificate_name(cert);
	g_autofree gchar *title = twctl_output_colorize(ctx->color, TWCTL_COLOR_BOLD, name);

	twctl_show_fill(ctx, client, cert, values);
	g_print("%s\n", title);
	for (guint i = 0; i < TWCTL_SHOW_N_FIELDS; i++) {
		twctl_output_field(2, width, labels[i], values[i][0] != '\0' ? values[i] : "-");
		g_free(values[i]);
	}
}

TwctlExit
twctl_show(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GError) error = NULL;
	TokenwatchCertificate *cert;
	TwctlExit rc;

	rc = twctl_context_parse_command_args(
		ctx, "CERT",
		_("Show every property of one certificate. CERT is its object path, 8 or more hex "
		  "digits of its SHA-256, its ID or its decimal serial number."),
		NULL, 1, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	cert = twctl_certificate_lookup(client, (*args)[1], &error);
	if (cert == NULL)
		return twctl_context_error(error);
	if (ctx->opt_json) {
		g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

		twctl_certificate_to_json(json, cert);
		twctl_json_print(json);
	} else {
		twctl_show_print_text(ctx, client, cert);
	}
	return TWCTL_EXIT_OK;
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * "check", for scripts and monitoring: one line per finding, and an exit
 * status that says how bad the worst one is, as monitoring plugins do:
 *   0  nothing to act on (info findings at most)
 *   1  something needs action soon: a certificate that is expiring, or
 *      advice of severity warning
 *   2  something needs action now: a certificate that has expired or was
 *      revoked by its device, or advice of severity critical
 *   3  could not check (tokenwatchd not running, wrong usage)
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

typedef struct {
	TokenwatchAdviceSeverity severity; /* INFO, WARNING or CRITICAL */
	const gchar *kind;		   /* "certificate" or "token" */
	gchar *object_path;
	gchar *code;
	gchar *message;
} TwctlFinding;

static void
twctl_finding_free(TwctlFinding *finding)
{
	g_free(finding->object_path);
	g_free(finding->code);
	g_free(finding->message);
	g_free(finding);
}

static void
twctl_check_add(GPtrArray *findings,
		TokenwatchAdviceSeverity severity,
		const gchar *kind,
		const gchar *object_path,
		const gchar *code,
		gchar *message /* (transfer full) */)
{
	TwctlFinding *finding = g_new0(TwctlFinding, 1);

	finding->severity = severity;
	finding->kind = kind;
	finding->object_path = g_strdup(object_path);
	finding->code = g_strdup(code);
	finding->message = message;
	g_ptr_array_add(findings, finding);
}

/* "expires in 14 days (2026-12-05)", "expired 3 days ago (2026-11-18)", … */
static gchar *
twctl_check_certificate_when(TokenwatchCertificate *cert, const gchar *code)
{
	gint days = tokenwatch_certificate_get_days_left(cert);
	g_autofree gchar *date =
		twctl_output_date(tokenwatch_certificate_get_effective_not_after(cert));

	if (g_strcmp0(code, "revoked-by-device") == 0)
		return g_strdup_printf(_("was revoked on %s: the QSCD certification of its "
					 "device ended"),
				       date);
	if (g_strcmp0(code, "expired") == 0 && days < 0)
		return g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "expired %d day ago (%s)",
						   "expired %d days ago (%s)", (gulong)-days),
				       -days, date);
	if (g_strcmp0(code, "expired") == 0)
		return g_strdup_printf(_("expired today (%s)"), date);
	if (days <= 0)
		return g_strdup_printf(_("expires today (%s)"), date);
	return g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "expires in %d day (%s)",
					   "expires in %d days (%s)", (gulong)days),
			       days, date);
}

/* the code of a certificate finding, or %NULL when there is nothing to say;
 * @within is the horizon of --within, or -1 to go by the certificate's
 * status (tokenwatchd's own warning period) */
static const gchar *
twctl_check_certificate_code(TokenwatchCertificate *cert,
			     gint within,
			     TokenwatchAdviceSeverity *severity)
{
	TokenwatchCertificateStatus status = tokenwatch_certificate_get_status(cert);
	gint days = tokenwatch_certificate_get_days_left(cert);

	*severity = TOKENWATCH_ADVICE_SEVERITY_CRITICAL;
	if (status == TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED)
		return NULL;
	if (status == TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE)
		return "revoked-by-device";
	if (status == TOKENWATCH_CERTIFICATE_STATUS_EXPIRED || days < 0)
		return "expired";
	*severity = TOKENWATCH_ADVICE_SEVERITY_WARNING;
	if (within >= 0 ? days <= within : status == TOKENWATCH_CERTIFICATE_STATUS_EXPIRING)
		return "expiring";
	return NULL;
}

static void
twctl_check_certificates(TokenwatchClient *client, gint within, GPtrArray *findings)
{
	/* every certificate that is not superseded and whose end is known, the
	 * most urgent first */
	g_autoptr(GPtrArray) certs = tokenwatch_client_get_certificates_expiring(client, G_MAXUINT);

	for (guint i = 0; i < certs->len; i++) {
		TokenwatchCertificate *cert = g_ptr_array_index(certs, i);
		TokenwatchAdviceSeverity severity;
		const gchar *code = twctl_check_certificate_code(cert, within, &severity);
		g_autofree gchar *name = NULL;
		g_autofree gchar *serial = NULL;
		g_autofree gchar *when = NULL;

		if (code == NULL)
			continue;
		name = twctl_certificate_name(cert);
		serial = twctl_output_sanitize(
			tokenwatch_certificate_get_serial_number_decimal(cert));
		when = twctl_check_certificate_when(cert, code);
		twctl_check_add(findings, severity, "certificate",
				tokenwatch_certificate_get_object_path(cert), code,
				g_strdup_printf(_("certificate \"%s\" (serial %s) %s"), name,
						serial, when));
	}
}

static void
twctl_check_tokens(TokenwatchClient *client, GPtrArray *findings)
{
	g_autoptr(GPtrArray) tokens = tokenwatch_client_get_tokens(client);

	for (guint i = 0; i < tokens->len; i++) {
		TokenwatchToken *token = g_ptr_array_index(tokens, i);
		g_autoptr(GPtrArray) advice = tokenwatch_token_get_advice(token);
		g_autofree gchar *name = twctl_token_name(token);

		for (guint j = 0; j < advice->len; j++) {
			TokenwatchAdvice *item = g_ptr_array_index(advice, j);
			TokenwatchAdviceSeverity severity = tokenwatch_advice_get_severity(item);
			g_autofree gchar *code =
				twctl_output_sanitize(tokenwatch_advice_get_code(item));
			g_autofree gchar *text =
				twctl_output_sanitize(tokenwatch_advice_get_text(item));

			/* a severity from a newer tokenwatchd: not to be ignored */
			if (severity == TOKENWATCH_ADVICE_SEVERITY_UNKNOWN)
				severity = TOKENWATCH_ADVICE_SEVERITY_WARNING;
			twctl_check_add(
				findings, severity, "token",
				tokenwatch_token_get_object_path(token),
				tokenwatch_advice_get_code(item),
				g_strdup_printf(_("token \"%s\" %s: %s"), name, code, text));
		}
	}
}

/* the most severe first; g_ptr_array_sort() is stable */
static gint
twctl_finding_compare(gconstpointer a, gconstpointer b)
{
	const TwctlFinding *finding_a = *(TwctlFinding *const *)a;
	const TwctlFinding *finding_b = *(TwctlFinding *const *)b;

	return (gint)finding_b->severity - (gint)finding_a->severity;
}

static TokenwatchAdviceSeverity
twctl_check_worst(GPtrArray *findings)
{
	TokenwatchAdviceSeverity worst = TOKENWATCH_ADVICE_SEVERITY_INFO;

	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *finding = g_ptr_array_index(findings, i);

		worst = MAX(worst, finding->severity);
	}
	return worst;
}

static void
twctl_check_print_json(GPtrArray *findings, TokenwatchAdviceSeverity worst)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "status");
	twctl_json_string(json,
			  worst == TOKENWATCH_ADVICE_SEVERITY_INFO
				  ? "ok"
				  : twctl_output_enum_nick(TOKENWATCH_TYPE_ADVICE_SEVERITY, worst));
	twctl_json_key(json, "findings");
	twctl_json_begin_array(json);
	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *finding = g_ptr_array_index(findings, i);

		twctl_json_begin_object(json);
		twctl_json_key(json, "severity");
		twctl_json_string(json, twctl_output_enum_nick(TOKENWATCH_TYPE_ADVICE_SEVERITY,
							       finding->severity));
		twctl_json_key(json, "kind");
		twctl_json_string(json, finding->kind);
		twctl_json_key(json, "object_path");
		twctl_json_string(json, finding->object_path);
		twctl_json_key(json, "code");
		twctl_json_string(json, finding->code);
		twctl_json_key(json, "message");
		twctl_json_string(json, finding->message);
		twctl_json_end_object(json);
	}
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

/* CRITICAL certificate "Jan Novák" (serial 5373…) expires in 2 days (…) */
static void
twctl_check_print_text(TwctlContext *ctx, GPtrArray *findings)
{
	for (guint i = 0; i < findings->len; i++) {
		TwctlFinding *finding = g_ptr_array_index(findings, i);
		g_autofree gchar *label = g_ascii_strup(
			twctl_output_enum_nick(TOKENWATCH_TYPE_ADVICE_SEVERITY, finding->severity),
			-1);
		g_autofree gchar *colored = twctl_output_colorize(
			ctx->color, twctl_advice_severity_color(finding->severity), label);

		g_print("%s %s\n", colored, finding->message);
	}
}

TwctlExit
twctl_check(TwctlContext *ctx, gchar ***args)
{
	gint opt_within = G_MININT; /* not given */
	const GOptionEntry entries[] = {
		{"within", 'w', 0, G_OPTION_ARG_INT, &opt_within,
		 N_("Count certificates that stop being usable within DAYS days as expiring "
		    "(default: tokenwatchd's warning period)"),
		 N_("DAYS")},
		{NULL},
	};
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) findings =
		g_ptr_array_new_with_free_func((GDestroyNotify)twctl_finding_free);
	g_autoptr(GError) error = NULL;
	TokenwatchAdviceSeverity worst;

	/* exit statuses 1 and 2 mean warning and critical here: wrong usage,
	 * like any failure to check, is 3 */
	if (twctl_context_parse_command(
		    ctx,
		    _("Check the certificates and tokens for scripts and monitoring: one line "
		      "per finding, most severe first. Exit status: 0 nothing to act on, 1 "
		      "warning, 2 critical, 3 could not check."),
		    entries, args) != TWCTL_EXIT_OK)
		return TWCTL_EXIT_CHECK_UNKNOWN;
	if (opt_within < 0 && opt_within != G_MININT) {
		twctl_context_usage_error((*args)[0], _("--within must not be negative"));
		return TWCTL_EXIT_CHECK_UNKNOWN;
	}

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL) {
		twctl_context_error(error);
		return TWCTL_EXIT_CHECK_UNKNOWN;
	}
	twctl_check_certificates(client, opt_within != G_MININT ? opt_within : -1, findings);
	twctl_check_tokens(client, findings);
	g_ptr_array_sort(findings, twctl_finding_compare);
	worst = twctl_check_worst(findings);

	if (ctx->opt_json)
		twctl_check_print_json(findings, worst);
	else
		twctl_check_print_text(ctx, findings);
	switch (worst) {
	case TOKENWATCH_ADVICE_SEVERITY_CRITICAL:
		return TWCTL_EXIT_CHECK_CRITICAL;
	case TOKENWATCH_ADVICE_SEVERITY_WARNING:
		return TWCTL_EXIT_CHECK_WARNING;
	default:
		return TWCTL_EXIT_OK;
	}
}

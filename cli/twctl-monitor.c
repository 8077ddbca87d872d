/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>

#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

/*
 * One line per event on stdout, flushed at once:
 *   text: "<local time> <event> <arguments>"
 *   JSON: {"event":"<event>",...,"time":<Unix seconds>}
 * The event names are stable: reader-added, reader-removed, card-inserted,
 * card-removed, token-added, token-removed, certificate-added,
 * certificate-removed, expiry-warning, device-certification-ending,
 * certificate-renewed, pcsc-available, daemon-running.
 */

typedef struct {
	TwctlContext *ctx;
	GMainLoop *loop;
} TwctlMonitor;

static void
twctl_monitor_emit(TwctlMonitor *self, const gchar *event, const gchar *text, TwctlJson *json)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	if (self->ctx->opt_json) {
		twctl_json_key(json, "time");
		twctl_json_double(json, (gdouble)g_date_time_to_unix(now) +
						g_date_time_get_microsecond(now) / 1e6);
		twctl_json_end_object(json);
		twctl_json_print(json);
	} else {
		g_autofree gchar *stamp = twctl_output_timestamp(now);
		g_autofree gchar *stamp_colored =
			twctl_output_colorize(self->ctx->color, TWCTL_COLOR_DIM, stamp);
		g_autofree gchar *event_colored =
			twctl_output_colorize(self->ctx->color, TWCTL_COLOR_BOLD, event);

		if (text != NULL)
			g_print("%s %s %s\n", stamp_colored, event_colored, text);
		else
			g_print("%s %s\n", stamp_colored, event_colored);
	}
	fflush(stdout);
}

static TwctlJson *
twctl_monitor_json_begin(const gchar *event)
{
	TwctlJson *json = twctl_json_new(FALSE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "event");
	twctl_json_string(json, event);
	return json;
}

static void
twctl_monitor_reader_event(TwctlMonitor *self, const gchar *event, TokenwatchReader *reader)
{
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin(event);
	const gchar *name = tokenwatch_reader_get_name(reader);
	const gchar *atr = tokenwatch_reader_get_atr(reader);
	gboolean with_atr = g_strcmp0(event, "card-inserted") == 0;
	g_autofree gchar *text = NULL;

	twctl_json_key(json, "reader");
	twctl_json_string(json, name);
	twctl_json_key(json, "object_path");
	twctl_json_string(json, tokenwatch_reader_get_object_path(reader));
	if (with_atr) {
		twctl_json_key(json, "atr");
		twctl_json_string(json, atr);
	}
	/* a mute card has no ATR: then the line ends with the reader name */
	if (with_atr && atr[0] != '\0')
		text = g_strdup_printf("%s %s", name, atr);
	else
		text = g_strdup(name);
	twctl_monitor_emit(self, event, text, json);
}

static void
twctl_monitor_flag_event(TwctlMonitor *self, const gchar *event, gboolean value)
{
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin(event);

	twctl_json_key(json, "value");
	twctl_json_boolean(json, value);
	twctl_monitor_emit(self, event, value ? "yes" : "no", json);
}

static void
twctl_monitor_reader_added_cb(TokenwatchClient *client,
			      TokenwatchReader *reader,
			      gpointer user_data)
{
	twctl_monitor_reader_event(user_data, "reader-added", reader);
}

static void
twctl_monitor_reader_removed_cb(TokenwatchClient *client,
				TokenwatchReader *reader,
				gpointer user_data)
{
	twctl_monitor_reader_event(user_data, "reader-removed", reader);
}

static void
twctl_monitor_card_inserted_cb(TokenwatchClient *client,
			       TokenwatchReader *reader,
			       gpointer user_data)
{
	twctl_monitor_reader_event(user_data, "card-inserted", reader);
}

static void
twctl_monitor_card_removed_cb(TokenwatchClient *client,
			      TokenwatchReader *reader,
			      gpointer user_data)
{
	twctl_monitor_reader_event(user_data, "card-removed", reader);
}

static void
twctl_monitor_token_event(TwctlMonitor *self, const gchar *event, TokenwatchToken *token)
{
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin(event);
	g_autofree gchar *name = twctl_token_name(token);
	g_autofree gchar *serial = twctl_output_sanitize(tokenwatch_token_get_serial_number(token));
	g_autofree gchar *text = g_strdup_printf(_("%s (serial number %s)"), name, serial);

	twctl_json_key(json, "label");
	twctl_json_string(json, tokenwatch_token_get_label(token));
	twctl_json_key(json, "serial_number");
	twctl_json_string(json, tokenwatch_token_get_serial_number(token));
	twctl_json_key(json, "object_path");
	twctl_json_string(json, tokenwatch_token_get_object_path(token));
	twctl_monitor_emit(self, event, text, json);
}

/* "Jan Novák (serial number 1234567890)" */
static gchar *
twctl_monitor_certificate_text(TokenwatchCertificate *cert)
{
	g_autofree gchar *name = twctl_certificate_name(cert);
	g_autofree gchar *serial =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number_decimal(cert));

	return g_strdup_printf(_("%s (serial number %s)"), name, serial);
}

static void
twctl_monitor_certificate_json(TwctlJson *json, const gchar *prefix, TokenwatchCertificate *cert)
{
	g_autofree gchar *key_path = g_strconcat(prefix, "object_path", NULL);
	g_autofree gchar *key_serial = g_strconcat(prefix, "serial_number_decimal", NULL);

	twctl_json_key(json, key_path);
	twctl_json_string(json, tokenwatch_certificate_get_object_path(cert));
	twctl_json_key(json, key_serial);
	twctl_json_string(json, tokenwatch_certificate_get_serial_number_decimal(cert));
}

static void
twctl_monitor_certificate_event(TwctlMonitor *self, const gchar *event, TokenwatchCertificate *cert)
{
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin(event);
	g_autofree gchar *text = twctl_monitor_certificate_text(cert);

	twctl_json_key(json, "common_name");
	twctl_json_string(json, tokenwatch_certificate_get_common_name(cert));
	twctl_monitor_certificate_json(json, "", cert);
	twctl_json_key(json, "token");
	twctl_json_string(json, tokenwatch_certificate_get_token_path(cert));
	twctl_monitor_emit(self, event, text, json);
}

static void
twctl_monitor_token_added_cb(TokenwatchClient *client, TokenwatchToken *token, gpointer user_data)
{
	twctl_monitor_token_event(user_data, "token-added", token);
}

static void
twctl_monitor_token_removed_cb(TokenwatchClient *client, TokenwatchToken *token, gpointer user_data)
{
	twctl_monitor_token_event(user_data, "token-removed", token);
}

static void
twctl_monitor_certificate_added_cb(TokenwatchClient *client,
				   TokenwatchCertificate *cert,
				   gpointer user_data)
{
	twctl_monitor_certificate_event(user_data, "certificate-added", cert);
}

static void
twctl_monitor_certificate_removed_cb(TokenwatchClient *client,
				     TokenwatchCertificate *cert,
				     gpointer user_data)
{
	twctl_monitor_certificate_event(user_data, "certificate-removed", cert);
}

/* "14 days left (warning)", "expires today (critical)", "expired 3 days ago" */
static gchar *
twctl_monitor_expiry_text(gint days_left, const gchar *level)
{
	g_autofree gchar *left = NULL;

	if (days_left > 0)
		left = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%d day left", "%d days left",
						   (gulong)days_left),
				       days_left);
	else if (days_left == 0 && g_strcmp0(level, "expired") != 0)
		left = g_strdup(_("expires today"));
	else if (days_left == 0)
		left = g_strdup(_("expired today"));
	else
		left = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "expired %d day ago",
						   "expired %d days ago", (gulong)-days_left),
				       -days_left);
	/* "expired" says it already */
	if (g_strcmp0(level, "expired") == 0)
		return g_steal_pointer(&left);
	return g_strdup_printf("%s (%s)", left, level);
}

/* "Jan Novák (serial number 1234): 14 days left (warning)" */
static void
twctl_monitor_expiry_warning_cb(TokenwatchClient *client,
				TokenwatchCertificate *cert,
				gint days_left,
				const gchar *level,
				gpointer user_data)
{
	TwctlMonitor *self = user_data;
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin("expiry-warning");
	g_autofree gchar *cert_text = twctl_monitor_certificate_text(cert);
	g_autofree gchar *safe_level = twctl_output_sanitize(level);
	g_autofree gchar *left = twctl_monitor_expiry_text(days_left, safe_level);
	g_autofree gchar *text = g_strdup_printf("%s: %s", cert_text, left);

	twctl_json_key(json, "level");
	twctl_json_string(json, level);
	twctl_json_key(json, "days_left");
	twctl_json_int(json, days_left);
	twctl_json_key(json, "common_name");
	twctl_json_string(json, tokenwatch_certificate_get_common_name(cert));
	twctl_monitor_certificate_json(json, "", cert);
	twctl_monitor_emit(self, "expiry-warning", text, json);
}

/* "ProID+Q (serial number 1234): QSCD certification ends in 90 days, on 2030-03-17" */
static void
twctl_monitor_device_certification_ending_cb(TokenwatchClient *client,
					     TokenwatchToken *token,
					     gint days_left,
					     gpointer user_data)
{
	TwctlMonitor *self = user_data;
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin("device-certification-ending");
	guint64 until = tokenwatch_token_get_qscd_certified_until(token);
	g_autofree gchar *name = twctl_token_name(token);
	g_autofree gchar *serial = twctl_output_sanitize(tokenwatch_token_get_serial_number(token));
	g_autofree gchar *date = twctl_output_date(until);
	g_autofree gchar *when = NULL;
	g_autofree gchar *text = NULL;

	/* tokenwatchd also tells when the day has come, or passed */
	if (days_left > 0)
		when = g_strdup_printf(
			g_dngettext(GETTEXT_PACKAGE, "QSCD certification ends in %d day, on %s",
				    "QSCD certification ends in %d days, on %s", (gulong)days_left),
			days_left, date);
	else if (days_left == 0)
		when = g_strdup_printf(_("QSCD certification ends today, on %s"), date);
	else
		when = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
						   "QSCD certification ended %d day ago, on %s",
						   "QSCD certification ended %d days ago, on %s",
						   (gulong)-days_left),
				       -days_left, date);
	text = g_strdup_printf(_("%s (serial number %s): %s"), name, serial, when);

	twctl_json_key(json, "days_left");
	twctl_json_int(json, days_left);
	twctl_json_key(json, "qscd_certified_until");
	twctl_json_uint(json, until);
	twctl_json_key(json, "label");
	twctl_json_string(json, tokenwatch_token_get_label(token));
	twctl_json_key(json, "serial_number");
	twctl_json_string(json, tokenwatch_token_get_serial_number(token));
	twctl_json_key(json, "object_path");
	twctl_json_string(json, tokenwatch_token_get_object_path(token));
	twctl_monitor_emit(self, "device-certification-ending", text, json);
}

/* "Jan Novák: serial number 1234 -> 5678, usable until 2028-11-21": the new
 * serial is what people enter in their JIP account */
static void
twctl_monitor_certificate_renewed_cb(TokenwatchClient *client,
				     TokenwatchCertificate *old_cert,
				     TokenwatchCertificate *new_cert,
				     gpointer user_data)
{
	TwctlMonitor *self = user_data;
	g_autoptr(TwctlJson) json = twctl_monitor_json_begin("certificate-renewed");
	g_autofree gchar *name = twctl_certificate_name(new_cert);
	g_autofree gchar *old_serial =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number_decimal(old_cert));
	g_autofree gchar *new_serial =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number_decimal(new_cert));
	g_autofree gchar *date =
		twctl_output_date(tokenwatch_certificate_get_effective_not_after(new_cert));
	g_autofree gchar *text = g_strdup_printf(_("%s: serial number %s -> %s, usable until %s"),
						 name, old_serial, new_serial, date);

	twctl_json_key(json, "common_name");
	twctl_json_string(json, tokenwatch_certificate_get_common_name(new_cert));
	twctl_monitor_certificate_json(json, "old_", old_cert);
	twctl_monitor_certificate_json(json, "new_", new_cert);
	twctl_monitor_emit(self, "certificate-renewed", text, json);
}

static void
twctl_monitor_pcsc_available_cb(TokenwatchClient *client, GParamSpec *pspec, gpointer user_data)
{
	twctl_monitor_flag_event(user_data, "pcsc-available",
				 tokenwatch_client_get_pcsc_available(client));
}

static void
twctl_monitor_daemon_running_cb(TokenwatchClient *client, GParamSpec *pspec, gpointer user_data)
{
	twctl_monitor_flag_event(user_data, "daemon-running",
				 tokenwatch_client_get_daemon_running(client));
}

static gboolean
twctl_monitor_quit_cb(gpointer user_data)
{
	TwctlMonitor *self = user_data;

	g_main_loop_quit(self->loop);
	return G_SOURCE_CONTINUE;
}

TwctlExit
twctl_monitor(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(GError) error = NULL;
	TwctlMonitor self = {ctx, NULL};
	guint sigint_id;
	guint sigterm_id;
	TwctlExit rc;

	rc = twctl_context_parse_command(ctx,
					 _("Print reader, card, token and certificate events, one "
					   "line each, until interrupted."),
					 NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	/* a test reading the pipe sees each line at once */
	setvbuf(stdout, NULL, _IOLBF, 0);

	client = twctl_context_connect(ctx, FALSE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	/* for people only: a --json reader may have merged stderr into stdout */
	if (!ctx->opt_json && !tokenwatch_client_get_daemon_running(client)) {
		g_printerr(
			"%s: %s\n", g_get_prgname(),
			ctx->bus_type == G_BUS_TYPE_SESSION
				? _("tokenwatchd is not running on the session bus; waiting for it")
				: _("tokenwatchd is not running on the system bus; waiting for "
				    "it"));
	}

	loop = g_main_loop_new(NULL, FALSE);
	self.loop = loop;
	g_signal_connect(client, "reader-added", G_CALLBACK(twctl_monitor_reader_added_cb), &self);
	g_signal_connect(client, "reader-removed", G_CALLBACK(twctl_monitor_reader_removed_cb),
			 &self);
	g_signal_connect(client, "card-inserted", G_CALLBACK(twctl_monitor_card_inserted_cb),
			 &self);
	g_signal_connect(client, "card-removed", G_CALLBACK(twctl_monitor_card_removed_cb), &self);
	g_signal_connect(client, "token-added", G_CALLBACK(twctl_monitor_token_added_cb), &self);
	g_signal_connect(client, "token-removed", G_CALLBACK(twctl_monitor_token_removed_cb),
			 &self);
	g_signal_connect(client, "certificate-added",
			 G_CALLBACK(twctl_monitor_certificate_added_cb), &self);
	g_signal_connect(client, "certificate-removed",
			 G_CALLBACK(twctl_monitor_certificate_removed_cb), &self);
	g_signal_connect(client, "expiry-warning", G_CALLBACK(twctl_monitor_expiry_warning_cb),
			 &self);
	g_signal_connect(client, "device-certification-ending",
			 G_CALLBACK(twctl_monitor_device_certification_ending_cb), &self);
	g_signal_connect(client, "certificate-renewed",
			 G_CALLBACK(twctl_monitor_certificate_renewed_cb), &self);
	g_signal_connect(client, "notify::pcsc-available",
			 G_CALLBACK(twctl_monitor_pcsc_available_cb), &self);
	g_signal_connect(client, "notify::daemon-running",
			 G_CALLBACK(twctl_monitor_daemon_running_cb), &self);
	sigint_id = g_unix_signal_add(SIGINT, twctl_monitor_quit_cb, &self);
	sigterm_id = g_unix_signal_add(SIGTERM, twctl_monitor_quit_cb, &self);

	g_main_loop_run(loop);

	g_source_remove(sigint_id);
	g_source_remove(sigterm_id);
	g_signal_handlers_disconnect_by_data(client, &self);
	return TWCTL_EXIT_OK;
}

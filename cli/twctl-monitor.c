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
#include "twctl-output.h"

/*
 * One line per event on stdout, flushed at once:
 *   text: "<local time> <event> <arguments>"
 *   JSON: {"event":"<event>",...,"time":<Unix seconds>}
 * The event names are stable: reader-added, reader-removed, card-inserted,
 * card-removed, pcsc-available, daemon-running.
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
		g_print("%s\n", twctl_json_get_data(json));
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
					 _("Print reader and card events, one line each, until "
					   "interrupted."),
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

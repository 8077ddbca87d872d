/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>

#include "tw-agent-stores.h"
#include "tw-agent.h"

#define TW_AGENT_BUS_NAME "io.github.tokenwatch.Agent"

/* One agent per session: the XDG autostart entry and the systemd user unit may
 * both start one. FALSE when another agent holds the name. Without a session
 * bus the agent runs (and waits for the bus with its notifications). The
 * name lives as long as @session, which the caller keeps. */
static gboolean
tw_agent_main_claim_name(GDBusConnection **session)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	guint32 result = 0;

	*session = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	if (*session == NULL) {
		g_info("No session bus: %s", error->message);
		return TRUE;
	}
	reply = g_dbus_connection_call_sync(
		*session, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
		"RequestName",
		g_variant_new("(su)", TW_AGENT_BUS_NAME, 0x4 /* DBUS_NAME_FLAG_DO_NOT_QUEUE */),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	if (reply == NULL) {
		g_info("Cannot own %s: %s", TW_AGENT_BUS_NAME, error->message);
		return TRUE;
	}
	g_variant_get(reply, "(u)", &result);
	/* 1: primary owner, 4: already the owner */
	return result == 1 || result == 4;
}

/* --unregister-all: removes what the agent's record says it added, from every
 * store, and nothing else. 0 when all is clean, 1 when a store was in use or
 * could not be changed (run it again). */
static int
tw_agent_main_unregister_all(void)
{
	g_autoptr(GKeyFile) request = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) results = NULL;
	int rc = 0;

	g_key_file_set_string(request, "request", "action", "unregister-all");
	results = tw_agent_stores_apply(request, &error);
	if (results == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	if (results->len == 0)
		g_print("%s\n", _("tokenwatch-agent has nothing registered."));
	for (guint i = 0; i < results->len; i++) {
		TwStoreResult *r = g_ptr_array_index(results, i);

		switch (r->status) {
		case TW_STORE_RESULT_OK:
			/* TRANSLATORS: %s is an NSS database directory or "p11-kit" */
			g_print(_("Removed what tokenwatch-agent had added to %s"), r->where);
			g_print("\n");
			break;
		case TW_STORE_RESULT_BUSY:
			g_printerr(_("%s is in use (is Firefox or Thunderbird running?). Close it "
				     "and run this again."),
				   r->where);
			g_printerr("\n");
			rc = 1;
			break;
		default:
			g_printerr(_("Cannot clean %s: %s"), r->where, r->message);
			g_printerr("\n");
			rc = 1;
			break;
		}
	}
	return rc;
}

static gboolean
tw_agent_main_quit_cb(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_CONTINUE;
}

int
main(int argc, char *argv[])
{
	gboolean opt_daemon_session = FALSE;
	gboolean opt_verbose = FALSE;
	gboolean opt_version = FALSE;
	gboolean opt_unregister_all = FALSE;
	gboolean opt_stores_helper = FALSE;
	const GOptionEntry entries[] = {
		{"unregister-all", 0, 0, G_OPTION_ARG_NONE, &opt_unregister_all,
		 N_("Remove everything the agent registered in your NSS databases and p11-kit "
		    "configuration, and exit"),
		 NULL},
		{"stores-helper", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_stores_helper,
		 "The agent's own helper for the NSS work", NULL},
		{"daemon-session", 0, 0, G_OPTION_ARG_NONE, &opt_daemon_session,
		 N_("Talk to a tokenwatchd on the session bus (for tests)"), NULL},
		{"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, N_("Log what happens"), NULL},
		{"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, N_("Print the version and exit"),
		 NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(GDBusConnection) session = NULL;
	g_autoptr(TwAgent) agent = NULL;
	const gchar *localedir = g_getenv("TOKENWATCH_LOCALEDIR");

	setlocale(LC_ALL, "");
	/* GLib's C locale for g_ascii_strto*(), made before any other thread
	 * runs (see tokenwatchd's main(): made later, under another thread's
	 * locale lock, it can leave errno set and agent.conf's numbers refused) */
	(void)g_ascii_strtoll("0", NULL, 10);
	/* TOKENWATCH_LOCALEDIR: a test hook, the translations of the build tree */
	bindtextdomain(GETTEXT_PACKAGE,
		       localedir != NULL && localedir[0] != '\0' ? localedir : LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_prgname("tokenwatch-agent");

	context = g_option_context_new(NULL);
	g_option_context_set_summary(
		context,
		_("Shows desktop notifications for what tokenwatchd finds on your tokens, and "
		  "registers their certificates in your NSS databases."));
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	if (opt_version) {
		g_print("tokenwatch-agent %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (opt_verbose)
		g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
	if (opt_stores_helper)
		return tw_agent_stores_helper_main();
	if (opt_unregister_all)
		return tw_agent_main_unregister_all();

	if (!tw_agent_main_claim_name(&session)) {
		g_message("Another tokenwatch-agent runs in this session");
		return 0;
	}

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, tw_agent_main_quit_cb, loop);
	g_unix_signal_add(SIGINT, tw_agent_main_quit_cb, loop);
	agent = tw_agent_new(opt_daemon_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM);
	tw_agent_start(agent);
	g_main_loop_run(loop);
	g_info("Stopping");
	return 0;
}

/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tokenwatchd: parse the command line, build the engine and its D-Bus
 * adaptor, run the loop until a signal or the adaptor says stop.
 */
#define G_LOG_DOMAIN "TwMain"

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tw-config.h"
#include "tw-daemon.h"
#include "tw-engine.h"
#include "tw-journal.h"
#include "tw-metrics.h"
#include "tw-p11-helper.h"
#include "tw-p11.h"
#include "tw-sd.h"
#include "tw-store.h"

#define TW_LOG_DOMAINS                                                                 \
	"TwMain TwDaemon TwEngine TwPcsc TwReader TwSd TwConfig TwP11 TwCert TwToken " \
	"TwTokenSet TwCertificate TwClock TwTracker TwAdvice TwDevices TwStore TwKeeper"

typedef struct {
	GMainLoop *loop;
	gint exit_code;
} TwMain;

static gboolean
tw_main_signal_cb(gpointer user_data)
{
	TwMain *main_data = user_data;

	g_message("stopping on a signal");
	main_data->exit_code = EXIT_SUCCESS;
	g_main_loop_quit(main_data->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean
tw_main_reload_cb(gpointer user_data)
{
	TwEngine *engine = TW_ENGINE(user_data);
	g_autoptr(GError) error = NULL;

	g_message("SIGHUP: reloading the configuration");
	if (!tw_engine_reload(engine, &error))
		g_warning("not reloaded: %s", error->message);
	return G_SOURCE_CONTINUE;
}

static void
tw_main_finished_cb(TwDaemon *daemon, gint exit_code, gpointer user_data)
{
	TwMain *main_data = user_data;

	main_data->exit_code = exit_code;
	g_main_loop_quit(main_data->loop);
}

int
main(int argc, char **argv)
{
	gboolean opt_system = FALSE;
	gboolean opt_session = FALSE;
	gboolean opt_replace = FALSE;
	gboolean opt_verbose = FALSE;
	gboolean opt_version = FALSE;
	gboolean opt_no_p11_kit = FALSE;
	gboolean opt_p11_helper = FALSE;
	gint opt_p11_timeout = 0;
	g_autofree gchar *opt_config = NULL;
	g_auto(GStrv) opt_modules = NULL;
	const GOptionEntry entries[] = {
		{"system", 0, 0, G_OPTION_ARG_NONE, &opt_system, "Use the system bus (the default)",
		 NULL},
		{"session", 0, 0, G_OPTION_ARG_NONE, &opt_session,
		 "Use the session bus (for tests and development)", NULL},
		{"replace", 'r', 0, G_OPTION_ARG_NONE, &opt_replace,
		 "Take the bus name over from a running instance", NULL},
		{"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log informational messages",
		 NULL},
		{"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit",
		 NULL},
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
		 "Read this configuration file instead of the default one", "FILE"},
		{"pkcs11-module", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_modules,
		 "Also load this PKCS#11 module (repeatable)", "PATH"},
		{"no-p11-kit", 0, 0, G_OPTION_ARG_NONE, &opt_no_p11_kit,
		 "Do not load the modules p11-kit's configuration lists", NULL},
		/* tokenwatchd's own PKCS#11 helper processes (tw-p11-helper.c) */
		{"p11-helper", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt_p11_helper, NULL,
		 NULL},
		{"p11-timeout", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_p11_timeout, NULL,
		 NULL},
		{NULL}};
	g_autoptr(TwConfig) config = NULL;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(TwEngine) engine = NULL;
	g_autoptr(TwJournal) journal = NULL;
	g_autoptr(TwMetrics) metrics = NULL;
	g_autoptr(TwDaemon) daemon = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	TwMain main_data = {NULL, EXIT_SUCCESS};

	setlocale(LC_ALL, "");
	/* GLib makes the C locale of g_ascii_strto*() at their first call, with
	 * newlocale(), which leaves errno at EAGAIN when it meets a lock another
	 * thread holds; g_ascii_string_to_signed() then takes "1" for no number
	 * (the first state record was moved aside as broken, seen under
	 * valgrind). Made here, before any other thread runs. */
	(void)g_ascii_strtoll("0", NULL, 10);
	/* no GVfs or other plug-ins in a system service */
	g_setenv("GIO_USE_VFS", "local", TRUE);
	/* PC/SC and PKCS#11 may write to a closed socket: that is an error, not a death */
	signal(SIGPIPE, SIG_IGN);

	context = g_option_context_new(NULL);
	g_option_context_set_summary(context, "Watch smart-card readers and tokens, and tell "
					      "D-Bus clients what is on them.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("tokenwatchd: %s\nTry \"tokenwatchd --help\".\n", error->message);
		return 2;
	}
	if (argc > 1) {
		g_printerr("tokenwatchd: unexpected argument \"%s\"\nTry \"tokenwatchd --help\".\n",
			   argv[1]);
		return 2;
	}
	if (opt_system && opt_session) {
		g_printerr("tokenwatchd: --system and --session exclude each other\n");
		return 2;
	}
	if (opt_version) {
		g_print("tokenwatchd %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (opt_verbose) {
		/* our domains' g_info() and g_debug(), not every library's */
		const gchar *env = g_getenv("G_MESSAGES_DEBUG");
		g_autofree gchar *domains =
			g_strjoin(" ", env != NULL ? env : "", TW_LOG_DOMAINS, NULL);

		g_setenv("G_MESSAGES_DEBUG", domains, TRUE);
	}

	if (opt_p11_helper)
		return tw_p11_helper_main(TW_P11_HELPER_FD, !opt_no_p11_kit,
					  (const gchar *const *)opt_modules,
					  (guint)MAX(opt_p11_timeout, 0));

	loop = g_main_loop_new(NULL, FALSE);
	main_data.loop = loop;
	g_unix_signal_add(SIGTERM, tw_main_signal_cb, &main_data);
	g_unix_signal_add(SIGINT, tw_main_signal_cb, &main_data);

	config = tw_config_new();
	if (!tw_config_load(config, opt_config, &error)) {
		g_printerr("tokenwatchd: %s\n", error->message);
		return EXIT_FAILURE;
	}
	for (guint i = 0; opt_modules != NULL && opt_modules[i] != NULL; i++)
		tw_config_add_module(config, opt_modules[i]);
	if (opt_no_p11_kit)
		tw_config_set_use_p11_kit(config, FALSE);
	/* $STATE_DIRECTORY, else per user (session bus) or per machine */
	tw_config_set_state_dir(config, tw_store_default_directory(opt_session));

	engine = tw_engine_new(config);
	journal = tw_journal_new(engine);
	metrics = tw_metrics_new(engine);
	g_unix_signal_add(SIGHUP, tw_main_reload_cb, engine);
	daemon = tw_daemon_new(engine, opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM,
			       opt_replace);
	g_signal_connect(daemon, "finished", G_CALLBACK(tw_main_finished_cb), &main_data);
	/* the state first, so that its objects are there when the bus comes */
	if (!tw_engine_prepare(engine, &error)) {
		g_printerr("tokenwatchd: %s\n", error->message);
		return EXIT_FAILURE;
	}
	if (!tw_daemon_start(daemon, &error)) {
		g_printerr("tokenwatchd: %s\n", error->message);
		return EXIT_FAILURE;
	}

	g_main_loop_run(loop);

	tw_sd_notify_stopping();
	tw_daemon_stop(daemon);
	tw_metrics_stop(metrics);
	/* a PKCS#11 call that hangs in a vendor module: the state is written,
	 * leave without running library destructors under it */
	if (!tw_p11_wait_workers(0)) {
		g_warning("a PKCS#11 module still hangs; leaving without cleaning up");
		fflush(NULL);
		_exit(main_data.exit_code);
	}
	return main_data.exit_code;
}

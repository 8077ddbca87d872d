/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-context.h"
#include "twctl-output.h"

/* the global options, accepted before and after the command name */
GOptionGroup *
twctl_context_get_global_group(TwctlContext *ctx, gboolean with_version)
{
	const GOptionEntry entries[] = {
		{"system", 0, 0, G_OPTION_ARG_NONE, &ctx->opt_system,
		 N_("Talk to tokenwatchd on the system bus (the default)"), NULL},
		{"session", 0, 0, G_OPTION_ARG_NONE, &ctx->opt_session,
		 N_("Talk to tokenwatchd on the session bus (for testing)"), NULL},
		{"json", 0, 0, G_OPTION_ARG_NONE, &ctx->opt_json, N_("Print JSON for machines"),
		 NULL},
		{"no-color", 0, 0, G_OPTION_ARG_NONE, &ctx->opt_no_color, N_("Do not use colors"),
		 NULL},
		{NULL},
	};
	const GOptionEntry version_entries[] = {
		{"version", 0, 0, G_OPTION_ARG_NONE, &ctx->opt_version,
		 N_("Print the version and exit"), NULL},
		{NULL},
	};
	GOptionGroup *group = g_option_group_new("global", _("Global options:"),
						 _("Show global options"), NULL, NULL);

	g_option_group_add_entries(group, entries);
	if (with_version)
		g_option_group_add_entries(group, version_entries);
	g_option_group_set_translation_domain(group, GETTEXT_PACKAGE);
	return group;
}

/* turns the options into a bus type and a colour decision */
gboolean
twctl_context_resolve(TwctlContext *ctx, GError **error)
{
	if (ctx->opt_system && ctx->opt_session) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    _("--system and --session exclude each other"));
		return FALSE;
	}
	ctx->bus_type = ctx->opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM;
	ctx->color = !ctx->opt_json && twctl_output_want_color(ctx->opt_no_color);
	return TRUE;
}

/* Parses the options of one command; (*args)[0] is the command name.
 * Returns TWCTL_EXIT_OK when the command should run; --help exits here. */
TwctlExit
twctl_context_parse_command(TwctlContext *ctx,
			    const gchar *summary,
			    const GOptionEntry *entries,
			    gchar ***args)
{
	return twctl_context_parse_command_args(ctx, NULL, summary, entries, 0, args);
}

/* As twctl_context_parse_command(), for a command that takes exactly @n_args
 * arguments, described by @parameters (e.g. "CERT") in the help; they are
 * left in (*args)[1] to (*args)[n_args]. */
TwctlExit
twctl_context_parse_command_args(TwctlContext *ctx,
				 const gchar *parameters,
				 const gchar *summary,
				 const GOptionEntry *entries,
				 guint n_args,
				 gchar ***args)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *command = g_strdup((*args)[0]);
	g_autofree gchar *usage = NULL;

	/* "Usage: tokenwatchctl [OPTION…] show CERT" */
	usage = parameters != NULL ? g_strdup_printf("%s %s", command, parameters)
				   : g_strdup(command);
	context = g_option_context_new(usage);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_summary(context, summary);
	/* list the global options right in the help of the command */
	g_option_context_set_main_group(context, twctl_context_get_global_group(ctx, FALSE));
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse_strv(context, args, &error))
		return twctl_context_usage_error(command, "%s", error->message);
	if (!twctl_context_resolve(ctx, &error))
		return twctl_context_usage_error(command, "%s", error->message);
	if (g_strv_length(*args) < n_args + 1)
		return twctl_context_usage_error(command, _("Missing argument %s"),
						 parameters != NULL ? parameters : "");
	if (g_strv_length(*args) > n_args + 1)
		return twctl_context_usage_error(command, _("Unexpected argument “%s”"),
						 (*args)[n_args + 1]);
	return TWCTL_EXIT_OK;
}

/* prints the message and a hint at --help, for @command if not %NULL */
TwctlExit
twctl_context_usage_error(const gchar *command, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	g_autofree gchar *help = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (command != NULL)
		help = g_strdup_printf("%s %s --help", g_get_prgname(), command);
	else
		help = g_strdup_printf("%s --help", g_get_prgname());
	g_printerr("%s: %s\n", g_get_prgname(), message);
	g_printerr(_("Try “%s” for more information."), help);
	g_printerr("\n");
	return TWCTL_EXIT_USAGE;
}

TwctlExit
twctl_context_error(const GError *error)
{
	g_printerr("%s: %s\n", g_get_prgname(), error->message);
	return TWCTL_EXIT_ERROR;
}

/* with @need_daemon, fails when tokenwatchd is not running */
TokenwatchClient *
twctl_context_connect(TwctlContext *ctx, gboolean need_daemon, GError **error)
{
	g_autoptr(TokenwatchClient) client = NULL;

	client = tokenwatch_client_new_for_bus(ctx->bus_type, NULL, error);
	if (client == NULL)
		return NULL;
	if (need_daemon && !tokenwatch_client_get_daemon_running(client)) {
		g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE,
				    ctx->bus_type == G_BUS_TYPE_SESSION
					    ? _("tokenwatchd is not running on the session bus")
					    : _("tokenwatchd is not running on the system bus"));
		return NULL;
	}
	return g_steal_pointer(&client);
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "twctl-commands.h"

static TwctlExit twctl_help(TwctlContext *ctx, gchar ***args);

static const TwctlCommand twctl_commands[] = {
	{"status", twctl_status,
	 N_("Show whether tokenwatchd and pcscd run, and count what they see")},
	{"readers", twctl_readers, N_("List the readers and the state of their cards")},
	{"tokens", twctl_tokens, N_("List the tokens: device, PIN states, memory, advice")},
	{"certs", twctl_certs, N_("List the certificates: name, serial number, validity, kind")},
	{"show", twctl_show, N_("Show every property of one certificate")},
	{"export", twctl_export, N_("Write one certificate as PEM or DER (no --json)")},
	{"expiring", twctl_expiring, N_("List the certificates to renew soon, most urgent first")},
	{"check", twctl_check, N_("Report what needs action, with an exit status for scripts")},
	{"forget", twctl_forget, N_("Make tokenwatchd forget a token and its certificates")},
	{"reload", twctl_reload, N_("Make tokenwatchd reload its configuration")},
	{"doctor", twctl_doctor, N_("Find why tokenwatch sees nothing, and say what to do")},
	{"unregister", twctl_unregister,
	 N_("Remove what tokenwatch-agent registered in your NSS databases")},
	{"monitor", twctl_monitor,
	 N_("Print reader, card, token and certificate events until "
	    "interrupted")},
	{"help", twctl_help, N_("Show the help of tokenwatchctl or of a command")},
	{NULL},
};

/* the default when no command is given */
#define TWCTL_DEFAULT_COMMAND "status"

static const TwctlCommand *
twctl_command_lookup(const gchar *name)
{
	for (guint i = 0; twctl_commands[i].name != NULL; i++) {
		if (g_strcmp0(twctl_commands[i].name, name) == 0)
			return &twctl_commands[i];
	}
	return NULL;
}

static gchar *
twctl_commands_describe(void)
{
	g_autoptr(GString) str = g_string_new(_("Commands:"));
	glong width = 0;

	for (guint i = 0; twctl_commands[i].name != NULL; i++)
		width = MAX(width, g_utf8_strlen(twctl_commands[i].name, -1));
	g_string_append_c(str, '\n');
	for (guint i = 0; twctl_commands[i].name != NULL; i++) {
		g_string_append_printf(str, "  %-*s  %s\n", (gint)width, twctl_commands[i].name,
				       _(twctl_commands[i].description));
	}
	g_string_append_c(str, '\n');
	g_string_append_printf(str,
			       _("Without a command, “%s” runs. Run “%s COMMAND --help” for the "
				 "options of a command."),
			       TWCTL_DEFAULT_COMMAND, g_get_prgname());
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static GOptionContext *
twctl_main_option_context(TwctlContext *ctx)
{
	GOptionContext *context = g_option_context_new(_("[COMMAND [OPTION…]]"));
	g_autofree gchar *description = twctl_commands_describe();

	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_summary(
		context, _("Query tokenwatchd about smart-card readers, tokens and their "
			   "certificates."));
	g_option_context_set_description(context, description);
	/* stop at the command name: what follows belongs to the command */
	g_option_context_set_strict_posix(context, TRUE);
	g_option_context_set_main_group(context, twctl_context_get_global_group(ctx, TRUE));
	return context;
}

/* "help" prints the main help, "help COMMAND" that of the command */
static TwctlExit
twctl_help(TwctlContext *ctx, gchar ***args)
{
	const TwctlCommand *cmd;
	g_auto(GStrv) cmd_args = NULL;

	if (g_strv_length(*args) < 2) {
		g_autoptr(GOptionContext) context = twctl_main_option_context(ctx);
		g_autofree gchar *help = g_option_context_get_help(context, TRUE, NULL);

		g_print("%s", help);
		return TWCTL_EXIT_OK;
	}
	cmd = twctl_command_lookup((*args)[1]);
	if (cmd == NULL || cmd->func == twctl_help)
		return twctl_context_usage_error(NULL, _("Unknown command “%s”"), (*args)[1]);
	cmd_args = g_new0(gchar *, 3);
	cmd_args[0] = g_strdup(cmd->name);
	cmd_args[1] = g_strdup("--help");
	return cmd->func(ctx, &cmd_args); /* exits */
}

int
main(int argc, char *argv[])
{
	TwctlContext ctx = {0};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) args = NULL;
	g_auto(GStrv) cmd_args = NULL;
	const TwctlCommand *cmd;
	const gchar *name;

	const gchar *localedir = g_getenv("TOKENWATCH_LOCALEDIR");

	setlocale(LC_ALL, "");
	/* TOKENWATCH_LOCALEDIR: a test hook, the translations of the build tree */
	bindtextdomain(GETTEXT_PACKAGE,
		       localedir != NULL && localedir[0] != '\0' ? localedir : LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_prgname("tokenwatchctl");

	args = g_strdupv(argv);
	context = twctl_main_option_context(&ctx);
	if (!g_option_context_parse_strv(context, &args, &error))
		return twctl_context_usage_error(NULL, "%s", error->message);
	if (ctx.opt_version) {
		g_print("tokenwatchctl %s\n", PACKAGE_VERSION);
		return TWCTL_EXIT_OK;
	}

	name = args[1] != NULL ? args[1] : TWCTL_DEFAULT_COMMAND;
	cmd = twctl_command_lookup(name);
	if (cmd == NULL)
		return twctl_context_usage_error(NULL, _("Unknown command “%s”"), name);
	if (args[1] != NULL) {
		cmd_args = g_strdupv(args + 1);
	} else {
		cmd_args = g_new0(gchar *, 2);
		cmd_args[0] = g_strdup(name);
	}
	return cmd->func(&ctx, &cmd_args);
}

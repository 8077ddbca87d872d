/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "twctl-commands.h"

/* The record of what was registered is the agent's, in the user's state
 * directory, and the NSS work loads PKCS#11 modules: so the agent does it,
 * "tokenwatch-agent --unregister-all", with its messages and exit status.
 * TOKENWATCH_AGENT names another agent program (for tests). */
TwctlExit
twctl_unregister(TwctlContext *ctx, gchar ***args)
{
	const gchar *agent = g_getenv("TOKENWATCH_AGENT");
	g_autofree gchar *program = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx,
		_("Remove what tokenwatch-agent registered in your NSS databases (the shared one, "
		  "Firefox and Thunderbird profiles) and p11-kit configuration: exactly what its "
		  "record lists, nothing else. A running agent registers a token again when it "
		  "next appears, unless Register=false is set in its agent.conf."),
		NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;
	if (ctx->opt_json)
		return twctl_context_usage_error(NULL, _("“%s” has no JSON output"), "unregister");

	program = g_strdup(agent != NULL && agent[0] != '\0' ? agent
							     : BINDIR G_DIR_SEPARATOR_S
				   "tokenwatch-agent");
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, program, "--unregister-all", NULL);
	if (proc == NULL) {
		g_printerr(_("Cannot run %s: %s"), program, error->message);
		g_printerr("\n");
		return TWCTL_EXIT_ERROR;
	}
	if (!g_subprocess_wait(proc, NULL, &error)) {
		g_printerr("%s\n", error->message);
		return TWCTL_EXIT_ERROR;
	}
	return g_subprocess_get_successful(proc) ? TWCTL_EXIT_OK : TWCTL_EXIT_ERROR;
}

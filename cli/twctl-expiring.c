/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-certs.h"
#include "twctl-commands.h"

/* how far "expiring" looks ahead by default: tokenwatchd's first warning */
#define TWCTL_EXPIRING_DEFAULT_DAYS 60

TwctlExit
twctl_expiring(TwctlContext *ctx, gchar ***args)
{
	gint opt_within = TWCTL_EXPIRING_DEFAULT_DAYS;
	const GOptionEntry entries[] = {
		{"within", 'w', 0, G_OPTION_ARG_INT, &opt_within,
		 N_("Look DAYS days ahead (default: 60)"), N_("DAYS")},
		{NULL},
	};
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *none = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx,
		_("List the certificates to renew: those that stop being usable within DAYS "
		  "days, and those already expired or revoked by their device; the most urgent "
		  "first. Superseded certificates are left out."),
		entries, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;
	if (opt_within < 0)
		return twctl_context_usage_error((*args)[0], _("--within must not be negative"));

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	certs = tokenwatch_client_get_certificates_expiring(client, (guint)opt_within);
	none = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
					   "No certificate expires within %d day or has expired.",
					   "No certificate expires within %d days or has expired.",
					   (gulong)opt_within),
			       opt_within);
	twctl_certs_print(ctx, certs, none);
	return TWCTL_EXIT_OK;
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-output.h"

TwctlExit
twctl_reload(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx,
		_("Make tokenwatchd read its configuration and device data again, as SIGHUP "
		  "does. When the file is not valid, nothing changes and the error names the "
		  "file, group and key."),
		NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	if (!tokenwatch_client_reload_config(client, NULL, &error))
		return twctl_context_error(error);
	if (ctx->opt_json) {
		g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

		twctl_json_begin_object(json);
		twctl_json_key(json, "reloaded");
		twctl_json_boolean(json, TRUE);
		twctl_json_end_object(json);
		twctl_json_print(json);
	} else {
		g_print("%s\n", _("Configuration reloaded."));
	}
	return TWCTL_EXIT_OK;
}

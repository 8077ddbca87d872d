/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

TwctlExit
twctl_forget(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *path = NULL;
	TokenwatchToken *token;
	TwctlExit rc;

	rc = twctl_context_parse_command_args(
		ctx, "TOKEN",
		_("Make tokenwatchd forget a token and its certificates, e.g. a card that will "
		  "not come back. A token that is present comes back at its next read. TOKEN is "
		  "its object path, its ID, its serial number or its label, or the start of "
		  "one."),
		NULL, 1, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	token = twctl_token_lookup(client, (*args)[1], &error);
	if (token == NULL)
		return twctl_context_error(error);
	name = twctl_token_name(token);
	path = g_strdup(tokenwatch_token_get_object_path(token));
	if (!tokenwatch_client_forget(client, token, NULL, &error))
		return twctl_context_error(error);
	if (ctx->opt_json) {
		g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

		twctl_json_begin_object(json);
		twctl_json_key(json, "forgotten");
		twctl_json_string(json, path);
		twctl_json_end_object(json);
		twctl_json_print(json);
	} else {
		g_print(_("Forgot %s (%s)\n"), name, path);
	}
	return TWCTL_EXIT_OK;
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-output.h"

static guint
twctl_status_count_cards(GPtrArray *readers)
{
	guint cards = 0;

	for (guint i = 0; i < readers->len; i++) {
		if (tokenwatch_reader_get_card_present(g_ptr_array_index(readers, i)))
			cards++;
	}
	return cards;
}

static void
twctl_status_print_json(TokenwatchClient *client, guint n_readers, guint n_cards)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "version");
	twctl_json_string(json, tokenwatch_client_get_version(client));
	twctl_json_key(json, "pcsc_available");
	twctl_json_boolean(json, tokenwatch_client_get_pcsc_available(client));
	twctl_json_key(json, "readers");
	twctl_json_uint(json, n_readers);
	twctl_json_key(json, "cards");
	twctl_json_uint(json, n_cards);
	twctl_json_end_object(json);
	g_print("%s\n", twctl_json_get_data(json));
}

static void
twctl_status_print_text(TwctlContext *ctx, TokenwatchClient *client, guint n_readers, guint n_cards)
{
	gboolean pcsc = tokenwatch_client_get_pcsc_available(client);
	const gchar *version = tokenwatch_client_get_version(client);
	const gchar *labels[] = {
		_("tokenwatchd version"), _("pcscd available"), _("Readers"), _("Cards"), NULL,
	};
	gint width = twctl_output_label_width(labels);
	g_autofree gchar *pcsc_str = twctl_output_colorize(
		ctx->color, pcsc ? TWCTL_COLOR_GREEN : TWCTL_COLOR_RED, pcsc ? _("yes") : _("no"));
	g_autofree gchar *readers_str = g_strdup_printf("%u", n_readers);
	g_autofree gchar *cards_str = g_strdup_printf("%u", n_cards);

	twctl_output_field(0, width, labels[0], version != NULL ? version : "-");
	twctl_output_field(0, width, labels[1], pcsc_str);
	twctl_output_field(0, width, labels[2], readers_str);
	twctl_output_field(0, width, labels[3], cards_str);
}

TwctlExit
twctl_status(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;
	guint n_cards;

	rc = twctl_context_parse_command(ctx,
					 _("Show whether tokenwatchd and pcscd run, and count "
					   "readers and cards."),
					 NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	readers = tokenwatch_client_get_readers(client);
	n_cards = twctl_status_count_cards(readers);
	if (ctx->opt_json)
		twctl_status_print_json(client, readers->len, n_cards);
	else
		twctl_status_print_text(ctx, client, readers->len, n_cards);
	return TWCTL_EXIT_OK;
}

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

static guint
twctl_status_count_present(GPtrArray *tokens)
{
	guint present = 0;

	for (guint i = 0; i < tokens->len; i++) {
		if (tokenwatch_token_get_present(g_ptr_array_index(tokens, i)))
			present++;
	}
	return present;
}

typedef struct {
	guint readers;
	guint cards;
	guint tokens;
	guint tokens_present;
	guint certificates;
} TwctlStatusCounts;

static void
twctl_status_print_json(TokenwatchClient *client, const TwctlStatusCounts *n)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "version");
	twctl_json_string(json, tokenwatch_client_get_version(client));
	twctl_json_key(json, "pcsc_available");
	twctl_json_boolean(json, tokenwatch_client_get_pcsc_available(client));
	twctl_json_key(json, "readers");
	twctl_json_uint(json, n->readers);
	twctl_json_key(json, "cards");
	twctl_json_uint(json, n->cards);
	twctl_json_key(json, "tokens");
	twctl_json_uint(json, n->tokens);
	twctl_json_key(json, "tokens_present");
	twctl_json_uint(json, n->tokens_present);
	twctl_json_key(json, "tokens_remembered");
	twctl_json_uint(json, n->tokens - n->tokens_present);
	twctl_json_key(json, "certificates");
	twctl_json_uint(json, n->certificates);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

static void
twctl_status_print_text(TwctlContext *ctx, TokenwatchClient *client, const TwctlStatusCounts *n)
{
	gboolean pcsc = tokenwatch_client_get_pcsc_available(client);
	const gchar *version = tokenwatch_client_get_version(client);
	const gchar *labels[] = {
		_("tokenwatchd version"),
		_("pcscd available"),
		_("Readers"),
		_("Cards"),
		_("Tokens"),
		_("Certificates"),
		NULL,
	};
	gint width = twctl_output_label_width(labels);
	g_autofree gchar *pcsc_str = twctl_output_colorize(
		ctx->color, pcsc ? TWCTL_COLOR_GREEN : TWCTL_COLOR_RED, pcsc ? _("yes") : _("no"));
	g_autofree gchar *readers_str = g_strdup_printf("%u", n->readers);
	g_autofree gchar *cards_str = g_strdup_printf("%u", n->cards);
	g_autofree gchar *tokens_str =
		n->tokens > 0 ? g_strdup_printf(_("%u (%u present, %u remembered)"), n->tokens,
						n->tokens_present, n->tokens - n->tokens_present)
			      : g_strdup("0");
	g_autofree gchar *certificates_str = g_strdup_printf("%u", n->certificates);

	twctl_output_field(0, width, labels[0], version != NULL ? version : "-");
	twctl_output_field(0, width, labels[1], pcsc_str);
	twctl_output_field(0, width, labels[2], readers_str);
	twctl_output_field(0, width, labels[3], cards_str);
	twctl_output_field(0, width, labels[4], tokens_str);
	twctl_output_field(0, width, labels[5], certificates_str);
}

TwctlExit
twctl_status(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certificates = NULL;
	g_autoptr(GError) error = NULL;
	TwctlStatusCounts n = {0};
	TwctlExit rc;

	rc = twctl_context_parse_command(ctx,
					 _("Show whether tokenwatchd and pcscd run, and count "
					   "readers, cards, tokens and certificates."),
					 NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	readers = tokenwatch_client_get_readers(client);
	tokens = tokenwatch_client_get_tokens(client);
	certificates = tokenwatch_client_get_certificates(client);
	n.readers = readers->len;
	n.cards = twctl_status_count_cards(readers);
	n.tokens = tokens->len;
	n.tokens_present = twctl_status_count_present(tokens);
	n.certificates = certificates->len;
	if (ctx->opt_json)
		twctl_status_print_json(client, &n);
	else
		twctl_status_print_text(ctx, client, &n);
	return TWCTL_EXIT_OK;
}

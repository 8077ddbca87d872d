/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-output.h"

/* the wire string, e.g. "in-use": stable, also in JSON */
static const gchar *
twctl_readers_card_state_to_string(TokenwatchCardState state)
{
	g_autoptr(GEnumClass) klass = g_type_class_ref(TOKENWATCH_TYPE_CARD_STATE);
	GEnumValue *value = g_enum_get_value(klass, state);

	return value != NULL ? value->value_nick : "unknown";
}

static TwctlColor
twctl_readers_card_state_color(TokenwatchCardState state)
{
	switch (state) {
	case TOKENWATCH_CARD_STATE_PRESENT:
		return TWCTL_COLOR_GREEN;
	case TOKENWATCH_CARD_STATE_MUTE:
	case TOKENWATCH_CARD_STATE_IN_USE:
		return TWCTL_COLOR_YELLOW;
	case TOKENWATCH_CARD_STATE_EMPTY:
	case TOKENWATCH_CARD_STATE_UNKNOWN:
	default:
		return TWCTL_COLOR_NONE;
	}
}

static void
twctl_readers_print_json(GPtrArray *readers)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "readers");
	twctl_json_begin_array(json);
	for (guint i = 0; i < readers->len; i++) {
		TokenwatchReader *reader = g_ptr_array_index(readers, i);

		twctl_json_begin_object(json);
		twctl_json_key(json, "name");
		twctl_json_string(json, tokenwatch_reader_get_name(reader));
		twctl_json_key(json, "object_path");
		twctl_json_string(json, tokenwatch_reader_get_object_path(reader));
		twctl_json_key(json, "card_present");
		twctl_json_boolean(json, tokenwatch_reader_get_card_present(reader));
		twctl_json_key(json, "card_state");
		twctl_json_string(json, twctl_readers_card_state_to_string(
						tokenwatch_reader_get_card_state(reader)));
		twctl_json_key(json, "atr");
		twctl_json_string(json, tokenwatch_reader_get_atr(reader));
		twctl_json_key(json, "event_count");
		twctl_json_uint(json, tokenwatch_reader_get_event_count(reader));
		twctl_json_end_object(json);
	}
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

static void
twctl_readers_print_text(TwctlContext *ctx, TokenwatchClient *client, GPtrArray *readers)
{
	const gchar *labels[] = {
		_("Card state"),
		_("ATR"),
		_("Events"),
		NULL,
	};
	gint width = twctl_output_label_width(labels);

	if (readers->len == 0) {
		if (tokenwatch_client_get_pcsc_available(client))
			g_print("%s\n", _("No readers."));
		else
			g_print("%s\n", _("No readers: tokenwatchd is not connected to pcscd."));
		return;
	}
	for (guint i = 0; i < readers->len; i++) {
		TokenwatchReader *reader = g_ptr_array_index(readers, i);
		TokenwatchCardState state = tokenwatch_reader_get_card_state(reader);
		const gchar *atr = tokenwatch_reader_get_atr(reader);
		g_autofree gchar *name = twctl_output_colorize(ctx->color, TWCTL_COLOR_BOLD,
							       tokenwatch_reader_get_name(reader));
		g_autofree gchar *state_str =
			twctl_output_colorize(ctx->color, twctl_readers_card_state_color(state),
					      twctl_readers_card_state_to_string(state));
		g_autofree gchar *events_str =
			g_strdup_printf("%u", tokenwatch_reader_get_event_count(reader));

		if (i > 0)
			g_print("\n");
		g_print("%s\n", name);
		twctl_output_field(2, width, labels[0], state_str);
		twctl_output_field(2, width, labels[1], atr[0] != '\0' ? atr : "-");
		twctl_output_field(2, width, labels[2], events_str);
	}
}

TwctlExit
twctl_readers(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(ctx, _("List the readers and the state of their cards."),
					 NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	readers = tokenwatch_client_get_readers(client);
	if (ctx->opt_json)
		twctl_readers_print_json(readers);
	else
		twctl_readers_print_text(ctx, client, readers);
	return TWCTL_EXIT_OK;
}

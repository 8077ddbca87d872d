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

static const gchar *
twctl_tokens_pin_state_label(TokenwatchPinState state)
{
	switch (state) {
	case TOKENWATCH_PIN_STATE_OK:
		return _("ok");
	case TOKENWATCH_PIN_STATE_TO_BE_CHANGED:
		return _("to be changed (still the factory PIN)");
	case TOKENWATCH_PIN_STATE_COUNT_LOW:
		return _("count low (a wrong PIN was entered)");
	case TOKENWATCH_PIN_STATE_FINAL_TRY:
		return _("final try (one more wrong PIN locks it)");
	case TOKENWATCH_PIN_STATE_LOCKED:
		return _("locked");
	case TOKENWATCH_PIN_STATE_UNKNOWN:
	default:
		return _("unknown");
	}
}

/* "6.6 KiB of 32.0 KiB used (21%)", or "unknown" */
static gchar *
twctl_tokens_memory(TokenwatchToken *token)
{
	guint64 total = tokenwatch_token_get_total_memory(token);
	guint64 free_bytes = tokenwatch_token_get_free_memory(token);
	guint64 used = free_bytes <= total ? total - free_bytes : 0;
	g_autofree gchar *used_str = NULL;
	g_autofree gchar *total_str = NULL;

	if (total == 0)
		return g_strdup(_("unknown"));
	used_str = g_format_size_full(used, G_FORMAT_SIZE_IEC_UNITS);
	total_str = g_format_size_full(total, G_FORMAT_SIZE_IEC_UNITS);
	return g_strdup_printf(_("%s of %s used (%.0f%%)"), used_str, total_str,
			       100.0 * (gdouble)used / (gdouble)total);
}

static gchar *
twctl_tokens_present(TokenwatchClient *client, TokenwatchToken *token)
{
	const gchar *reader_path = tokenwatch_token_get_reader_path(token);
	TokenwatchReader *reader =
		reader_path != NULL ? tokenwatch_client_get_reader_by_path(client, reader_path)
				    : NULL;
	g_autofree gchar *last_seen = NULL;
	g_autofree gchar *reader_name = NULL;

	if (tokenwatch_token_get_present(token) && reader != NULL) {
		reader_name = twctl_output_sanitize(tokenwatch_reader_get_name(reader));
		return g_strdup_printf(_("yes, in %s"), reader_name);
	}
	if (tokenwatch_token_get_present(token))
		return g_strdup(_("yes"));
	if (tokenwatch_token_get_last_seen(token) == 0)
		return g_strdup(_("no"));
	last_seen = twctl_output_datetime(tokenwatch_token_get_last_seen(token));
	return g_strdup_printf(_("no (last seen %s)"), last_seen);
}

/* the device data: "ProID+Q gen. 2, QSCD certified until 2030-03-17", or
 * %NULL when tokenwatch knows nothing about the device */
static gchar *
twctl_tokens_device(TwctlContext *ctx, TokenwatchToken *token)
{
	g_autofree gchar *name = twctl_output_sanitize(tokenwatch_token_get_device_name(token));
	guint64 until = tokenwatch_token_get_qscd_certified_until(token);
	guint64 now = (guint64)(g_get_real_time() / G_USEC_PER_SEC);
	g_autofree gchar *date = twctl_output_date(until);
	g_autofree gchar *qscd = NULL;

	if (until != 0 && until > now) {
		qscd = g_strdup_printf(_("QSCD certified until %s"), date);
	} else if (until != 0) {
		g_autofree gchar *ended = g_strdup_printf(_("QSCD certification ended %s"), date);

		qscd = twctl_output_colorize(ctx->color, TWCTL_COLOR_RED, ended);
	} else if (tokenwatch_token_get_qualified(token)) {
		qscd = g_strdup(_("QSCD"));
	}
	if (qscd == NULL)
		return name[0] != '\0' ? g_steal_pointer(&name) : NULL;
	if (name[0] == '\0')
		return g_steal_pointer(&qscd);
	return g_strdup_printf("%s, %s", name, qscd);
}

/* "ProID+Q (Monet+)", either alone, or "-" */
static gchar *
twctl_tokens_model(TokenwatchToken *token)
{
	const gchar *model = tokenwatch_token_get_model(token);
	const gchar *manufacturer = tokenwatch_token_get_manufacturer(token);
	g_autofree gchar *str = NULL;

	if (model[0] != '\0' && manufacturer[0] != '\0')
		str = g_strdup_printf("%s (%s)", model, manufacturer);
	else if (model[0] != '\0' || manufacturer[0] != '\0')
		str = g_strdup(model[0] != '\0' ? model : manufacturer);
	else
		str = g_strdup("-");
	return twctl_output_sanitize(str);
}

static void
twctl_tokens_print_pin(TwctlContext *ctx, gint width, const gchar *label, TokenwatchPinState state)
{
	g_autofree gchar *str = twctl_output_colorize(ctx->color, twctl_pin_state_color(state),
						      twctl_tokens_pin_state_label(state));

	twctl_output_field(2, width, label, str);
}

static void
twctl_tokens_print_one(TwctlContext *ctx, TokenwatchClient *client, TokenwatchToken *token)
{
	const gchar *labels[] = {_("Model"),   _("Device"),	   _("Serial number"),
				 _("Present"), _("User PIN"),	   _("SO PIN (PUK)"),
				 _("Memory"),  _("Unpaired keys"), _("Module"),
				 _("Error"),   _("Certificates"),  NULL};
	gint width = twctl_output_label_width(labels);
	g_autofree gchar *name = twctl_token_name(token);
	g_autofree gchar *title = twctl_output_colorize(ctx->color, TWCTL_COLOR_BOLD, name);
	g_autofree gchar *model = twctl_tokens_model(token);
	g_autofree gchar *device = twctl_tokens_device(ctx, token);
	g_autofree gchar *serial = twctl_output_sanitize(tokenwatch_token_get_serial_number(token));
	g_autofree gchar *present = twctl_tokens_present(client, token);
	g_autofree gchar *memory = twctl_tokens_memory(token);
	guint unpaired = tokenwatch_token_get_unpaired_keys(token);
	g_autofree gchar *unpaired_num = g_strdup_printf("%u", unpaired);
	g_autofree gchar *unpaired_str = twctl_output_colorize(
		ctx->color, unpaired > 0 ? TWCTL_COLOR_YELLOW : TWCTL_COLOR_NONE, unpaired_num);
	g_autofree gchar *module = twctl_output_sanitize(tokenwatch_token_get_module(token));
	g_autofree gchar *error = twctl_output_sanitize(tokenwatch_token_get_error(token));
	g_autoptr(GPtrArray) certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_autofree gchar *certs_str = g_strdup_printf("%u", certs->len);

	g_print("%s\n", title);
	twctl_output_field(2, width, labels[0], model);
	if (device != NULL)
		twctl_output_field(2, width, labels[1], device);
	twctl_output_field(2, width, labels[2], serial[0] != '\0' ? serial : "-");
	twctl_output_field(2, width, labels[3], present);
	twctl_tokens_print_pin(ctx, width, labels[4], tokenwatch_token_get_user_pin_state(token));
	twctl_tokens_print_pin(ctx, width, labels[5], tokenwatch_token_get_so_pin_state(token));
	twctl_output_field(2, width, labels[6], memory);
	twctl_output_field(2, width, labels[7], unpaired_str);
	twctl_output_field(2, width, labels[8], module[0] != '\0' ? module : "-");
	if (error[0] != '\0') {
		g_autofree gchar *error_str =
			twctl_output_colorize(ctx->color, TWCTL_COLOR_RED, error);

		twctl_output_field(2, width, labels[9], error_str);
	}
	twctl_output_field(2, width, labels[10], certs_str);
}

static void
twctl_tokens_print_json(TokenwatchClient *client, GPtrArray *tokens)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "tokens");
	twctl_json_begin_array(json);
	for (guint i = 0; i < tokens->len; i++)
		twctl_token_to_json(json, client, g_ptr_array_index(tokens, i));
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

TwctlExit
twctl_tokens(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx, _("List the tokens: PIN states, memory, and how many certificates they hold."),
		NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	tokens = tokenwatch_client_get_tokens(client);
	if (ctx->opt_json) {
		twctl_tokens_print_json(client, tokens);
		return TWCTL_EXIT_OK;
	}
	if (tokens->len == 0)
		g_print("%s\n", _("No tokens."));
	for (guint i = 0; i < tokens->len; i++) {
		if (i > 0)
			g_print("\n");
		twctl_tokens_print_one(ctx, client, g_ptr_array_index(tokens, i));
	}
	return TWCTL_EXIT_OK;
}

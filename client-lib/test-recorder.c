/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The client side of the tests of libtokenwatch: a recorder of what a
 * TokenwatchClient emits, and waiting for it. */

#include "config.h"

#include "test-fake-daemon.h"

gboolean
wait_tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

static void
recorder_reader_cb(TokenwatchClient *client, TokenwatchReader *reader, gpointer user_data)
{
	Recorder *rec = user_data;
	GSignalInvocationHint *hint = g_signal_get_invocation_hint(client);

	g_ptr_array_add(rec->events, g_strdup_printf("%s %s %s %u", g_signal_name(hint->signal_id),
						     tokenwatch_reader_get_name(reader),
						     tokenwatch_reader_get_atr(reader),
						     tokenwatch_reader_get_event_count(reader)));
}

static void
recorder_token_cb(TokenwatchClient *client, TokenwatchToken *token, gpointer user_data)
{
	Recorder *rec = user_data;
	GSignalInvocationHint *hint = g_signal_get_invocation_hint(client);

	g_ptr_array_add(rec->events, g_strdup_printf("%s %s %s", g_signal_name(hint->signal_id),
						     tokenwatch_token_get_label(token),
						     tokenwatch_token_get_serial_number(token)));
}

static void
recorder_certificate_cb(TokenwatchClient *client,
			TokenwatchCertificate *certificate,
			gpointer user_data)
{
	Recorder *rec = user_data;
	GSignalInvocationHint *hint = g_signal_get_invocation_hint(client);

	g_ptr_array_add(
		rec->events,
		g_strdup_printf("%s %s %s", g_signal_name(hint->signal_id),
				tokenwatch_certificate_get_common_name(certificate),
				tokenwatch_certificate_get_serial_number_decimal(certificate)));
}

static void
recorder_expiry_warning_cb(TokenwatchClient *client,
			   TokenwatchCertificate *certificate,
			   gint days_left,
			   const gchar *level,
			   gpointer user_data)
{
	Recorder *rec = user_data;

	g_ptr_array_add(
		rec->events,
		g_strdup_printf("expiry-warning %s %d %s",
				tokenwatch_certificate_get_serial_number_decimal(certificate),
				days_left, level));
}

static void
recorder_device_certification_ending_cb(TokenwatchClient *client,
					TokenwatchToken *token,
					gint days_left,
					gpointer user_data)
{
	Recorder *rec = user_data;

	g_ptr_array_add(rec->events,
			g_strdup_printf("device-certification-ending %s %d",
					tokenwatch_token_get_serial_number(token), days_left));
}

static void
recorder_certificate_renewed_cb(TokenwatchClient *client,
				TokenwatchCertificate *old_certificate,
				TokenwatchCertificate *new_certificate,
				gpointer user_data)
{
	Recorder *rec = user_data;

	g_ptr_array_add(
		rec->events,
		g_strdup_printf("certificate-renewed %s %s",
				tokenwatch_certificate_get_serial_number_decimal(old_certificate),
				tokenwatch_certificate_get_serial_number_decimal(new_certificate)));
}

void
recorder_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	Recorder *rec = user_data;
	g_auto(GValue) value = G_VALUE_INIT;
	g_autofree gchar *str = NULL;

	g_value_init(&value, pspec->value_type);
	g_object_get_property(object, pspec->name, &value);
	str = g_strdup_value_contents(&value);
	g_ptr_array_add(rec->events, g_strdup_printf("notify %s %s", pspec->name, str));
}

Recorder *
recorder_new(TokenwatchClient *client)
{
	Recorder *rec = g_new0(Recorder, 1);
	const gchar *sigs[] = {"reader-added", "reader-removed", "card-inserted", "card-removed"};

	rec->client = g_object_ref(client);
	rec->events = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < G_N_ELEMENTS(sigs); i++)
		g_signal_connect(client, sigs[i], G_CALLBACK(recorder_reader_cb), rec);
	g_signal_connect(client, "token-added", G_CALLBACK(recorder_token_cb), rec);
	g_signal_connect(client, "token-removed", G_CALLBACK(recorder_token_cb), rec);
	g_signal_connect(client, "certificate-added", G_CALLBACK(recorder_certificate_cb), rec);
	g_signal_connect(client, "certificate-removed", G_CALLBACK(recorder_certificate_cb), rec);
	g_signal_connect(client, "expiry-warning", G_CALLBACK(recorder_expiry_warning_cb), rec);
	g_signal_connect(client, "device-certification-ending",
			 G_CALLBACK(recorder_device_certification_ending_cb), rec);
	g_signal_connect(client, "certificate-renewed", G_CALLBACK(recorder_certificate_renewed_cb),
			 rec);
	g_signal_connect(client, "notify", G_CALLBACK(recorder_notify_cb), rec);
	return rec;
}

void
recorder_free(Recorder *rec)
{
	g_signal_handlers_disconnect_by_data(rec->client, rec);
	g_object_unref(rec->client);
	g_ptr_array_unref(rec->events);
	g_free(rec);
}

gboolean
recorder_has(Recorder *rec, const gchar *event)
{
	for (guint i = 0; i < rec->events->len; i++) {
		if (g_strcmp0(g_ptr_array_index(rec->events, i), event) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
client_ready_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **result = user_data;

	*result = g_object_ref(res);
}

TokenwatchClient *
client_new_async(void)
{
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	TokenwatchClient *client;

	tokenwatch_client_new_for_bus_async(G_BUS_TYPE_SESSION, NULL, client_ready_cb, &res);
	WAIT_FOR(res != NULL);
	client = tokenwatch_client_new_finish(res, &error);
	g_assert_no_error(error);
	g_assert_true(TOKENWATCH_IS_CLIENT(client));
	return client;
}

/* the tests */

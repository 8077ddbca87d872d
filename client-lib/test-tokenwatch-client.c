/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libtokenwatch against a fake tokenwatchd: the client, the Manager and the
 * readers. */

#include "config.h"

#include "test-fake-daemon.h"

static void
test_error_domain(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_dbus = NULL;
	g_autofree gchar *name = NULL;

	error = g_error_new_literal(TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_SUPPORTED, "nope");
	name = g_dbus_error_encode_gerror(error);
	g_assert_cmpstr(name, ==, "io.github.tokenwatch.TokenWatch1.Error.NotSupported");

	error_dbus = g_dbus_error_new_for_dbus_error(
		"io.github.tokenwatch.TokenWatch1.Error.NoService", "gone");
	g_assert_error(error_dbus, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_assert_true(g_dbus_error_strip_remote_error(error_dbus));
	g_assert_cmpstr(error_dbus->message, ==, "gone");
}

/* the value of @nick in the GEnum named @type_name, -1 if none */
static gint
tokenwatch_enum_value(const gchar *type_name, const gchar *nick)
{
	g_autoptr(GEnumClass) klass = NULL;
	GEnumValue *value;

	/* the types are registered by their get_type functions */
	g_type_ensure(TOKENWATCH_TYPE_PIN_STATE);
	g_type_ensure(TOKENWATCH_TYPE_CERTIFICATE_KIND);
	g_type_ensure(TOKENWATCH_TYPE_CERTIFICATE_STATUS);
	g_type_ensure(TOKENWATCH_TYPE_ADVICE_SEVERITY);
	klass = g_type_class_ref(g_type_from_name(type_name));
	value = g_enum_get_value_by_nick(klass, nick);
	return value != NULL ? value->value : -1;
}

static void
test_card_state_enum(void)
{
	g_autoptr(GEnumClass) klass = g_type_class_ref(TOKENWATCH_TYPE_CARD_STATE);

	g_assert_cmpint(g_enum_get_value_by_nick(klass, "in-use")->value, ==,
			TOKENWATCH_CARD_STATE_IN_USE);
	g_assert_cmpint(g_enum_get_value_by_nick(klass, "mute")->value, ==,
			TOKENWATCH_CARD_STATE_MUTE);
	g_assert_cmpint(g_enum_get_value_by_nick(klass, "unknown")->value, ==,
			TOKENWATCH_CARD_STATE_UNKNOWN);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchPinState", "to-be-changed"), ==,
			TOKENWATCH_PIN_STATE_TO_BE_CHANGED);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchPinState", "final-try"), ==,
			TOKENWATCH_PIN_STATE_FINAL_TRY);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchCertificateKind", "qualified-esign-qscd"),
			==, TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN_QSCD);
	g_assert_cmpint(
		tokenwatch_enum_value("TokenwatchCertificateKind", "non-qualified-personal"), ==,
		TOKENWATCH_CERTIFICATE_KIND_NON_QUALIFIED_PERSONAL);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchCertificateKind", "unknown"), ==, 0);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchCertificateStatus", "not-yet-valid"), ==,
			TOKENWATCH_CERTIFICATE_STATUS_NOT_YET_VALID);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchCertificateStatus", "revoked-by-device"),
			==, TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchCertificateStatus", "unknown"), ==, 0);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchAdviceSeverity", "critical"), ==,
			TOKENWATCH_ADVICE_SEVERITY_CRITICAL);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchAdviceSeverity", "info"), ==,
			TOKENWATCH_ADVICE_SEVERITY_INFO);
	g_assert_cmpint(tokenwatch_enum_value("TokenwatchAdviceSeverity", "unknown"), ==, 0);
	g_assert_true(TOKENWATCH_CHECK_VERSION(0, 0, 1));
	g_assert_false(TOKENWATCH_CHECK_VERSION(TOKENWATCH_MAJOR_VERSION + 1, 0, 0));
}

static void
test_no_daemon(void)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;

	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	g_assert_false(tokenwatch_client_get_daemon_running(client));
	g_assert_null(tokenwatch_client_get_version(client));
	g_assert_false(tokenwatch_client_get_pcsc_available(client));
	g_assert_cmpint(tokenwatch_client_get_bus_type(client), ==, G_BUS_TYPE_SESSION);
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);

	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_assert_nonnull(strstr(error->message, "tokenwatchd is not running on the session bus"));
}

static void
test_initial_state(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) readers = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path_a = fake_reader_path("Reader A 00 00");
	TokenwatchReader *reader;

	fake_run(fake, fake_add_reader_func, "Reader B");
	fake_run(fake, fake_add_reader_func, "Reader A 00 00|present|3B8F8001804F0CA0");
	fake_run(fake, fake_add_reader_func, "Reader C|exploded|");

	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(tokenwatch_client_get_daemon_running(client));
	g_assert_cmpstr(tokenwatch_client_get_version(client), ==, "9.8.7");
	g_assert_true(tokenwatch_client_get_pcsc_available(client));

	/* sorted by name; the unknown interface is ignored */
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 3);
	reader = g_ptr_array_index(readers, 0);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader A 00 00");
	g_assert_cmpstr(tokenwatch_reader_get_object_path(reader), ==, path_a);
	g_assert_true(tokenwatch_reader_get_card_present(reader));
	g_assert_cmpstr(tokenwatch_reader_get_atr(reader), ==, "3B8F8001804F0CA0");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_PRESENT);
	g_assert_cmpuint(tokenwatch_reader_get_event_count(reader), ==, 0);
	g_assert_nonnull(tokenwatch_reader_get_tokens(reader));
	g_assert_null(tokenwatch_reader_get_tokens(reader)[0]);
	g_assert_true(tokenwatch_client_get_reader_by_path(client, path_a) == reader);

	reader = g_ptr_array_index(readers, 1);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader B");
	g_assert_false(tokenwatch_reader_get_card_present(reader));
	g_assert_cmpstr(tokenwatch_reader_get_atr(reader), ==, "");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==, TOKENWATCH_CARD_STATE_EMPTY);

	/* a state from a newer daemon */
	reader = g_ptr_array_index(readers, 2);
	g_assert_cmpstr(tokenwatch_reader_get_name(reader), ==, "Reader C");
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_UNKNOWN);

	g_assert_null(tokenwatch_client_get_reader_by_path(client, TW_DBUS_PATH "/tokens/t1"));
}

static void
reader_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data)
{
	GString *notified = user_data;

	g_string_append_printf(notified, "%s;", pspec->name);
}

static void
test_events(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(Recorder) rec = recorder_new(client);
	g_autoptr(GString) notified = g_string_new(NULL);
	g_autofree gchar *path = fake_reader_path("Reader 1");
	g_autoptr(TokenwatchReader) reader = NULL;
	g_autoptr(GPtrArray) readers = NULL;

	g_assert_true(tokenwatch_client_get_daemon_running(client));

	fake_run(fake, fake_add_reader_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "reader-added Reader 1  0"));
	reader = g_object_ref(tokenwatch_client_get_reader_by_path(client, path));
	g_assert_nonnull(reader);
	g_signal_connect(reader, "notify", G_CALLBACK(reader_notify_cb), notified);

	/* the properties are already updated when card-inserted arrives */
	fake_run(fake, fake_set_card_func, "Reader 1|3BFF00");
	WAIT_FOR(recorder_has(rec, "card-inserted Reader 1 3BFF00 1"));
	g_assert_nonnull(strstr(notified->str, "card-present;"));
	g_assert_nonnull(strstr(notified->str, "atr;"));
	g_assert_nonnull(strstr(notified->str, "card-state;"));
	g_assert_nonnull(strstr(notified->str, "event-count;"));
	g_assert_null(strstr(notified->str, "name;"));
	g_assert_cmpint(tokenwatch_reader_get_card_state(reader), ==,
			TOKENWATCH_CARD_STATE_PRESENT);

	fake_run(fake, fake_set_card_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "card-removed Reader 1  2"));
	g_assert_false(tokenwatch_reader_get_card_present(reader));

	fake_run(fake, fake_set_pcsc_func, GINT_TO_POINTER(FALSE));
	WAIT_FOR(recorder_has(rec, "notify pcsc-available FALSE"));
	g_assert_false(tokenwatch_client_get_pcsc_available(client));

	fake_run(fake, fake_remove_reader_func, "Reader 1");
	WAIT_FOR(recorder_has(rec, "reader-removed Reader 1  2"));
	g_assert_null(tokenwatch_client_get_reader_by_path(client, path));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);
	g_signal_handlers_disconnect_by_data(reader, notified);
}

static void
test_restart(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(Recorder) rec = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) readers = NULL;

	fake_run(fake, fake_add_reader_func, "Reader X|present|3B00");
	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", NULL, "ok"));
	fake_add(fake, PATH_CERT_1, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_1, PATH_TOKEN_A));
	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	rec = recorder_new(client);
	g_assert_true(tokenwatch_client_get_daemon_running(client));

	/* tokenwatchd goes away */
	g_clear_pointer(&fake, fake_free);
	WAIT_FOR(recorder_has(rec, "notify daemon-running FALSE"));
	WAIT_FOR(recorder_has(rec, "reader-removed Reader X 3B00 0"));
	WAIT_FOR(recorder_has(rec, "token-removed ProID+Q 1234"));
	WAIT_FOR(recorder_has(rec, "certificate-removed Jan Novák 1234567890123456789"));
	g_assert_null(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A));
	g_assert_null(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1));
	g_assert_true(recorder_has(rec, "notify version NULL"));
	g_assert_true(recorder_has(rec, "notify pcsc-available FALSE"));
	g_assert_null(tokenwatch_client_get_version(client));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 0);
	g_clear_pointer(&readers, g_ptr_array_unref);

	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
	g_clear_error(&error);

	/* and comes back */
	g_ptr_array_set_size(rec->events, 0);
	fake = fake_new();
	fake_run(fake, fake_add_reader_func, "Reader X|present|3B00");
	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", NULL, "ok"));
	WAIT_FOR(recorder_has(rec, "notify daemon-running TRUE"));
	WAIT_FOR(recorder_has(rec, "token-added ProID+Q 1234"));
	WAIT_FOR(recorder_has(rec, "reader-added Reader X 3B00 0"));
	g_assert_true(recorder_has(rec, "notify version \"9.8.7\""));
	g_assert_true(recorder_has(rec, "notify pcsc-available TRUE"));
	readers = tokenwatch_client_get_readers(client);
	g_assert_cmpuint(readers->len, ==, 1);

	/* and the Manager proxy follows the new owner */
	g_assert_true(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fake->refresh_count, ==, 1);
}

static void
refresh_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	gboolean ok = tokenwatch_client_refresh_finish(TOKENWATCH_CLIENT(source), res, error);

	g_assert_true(ok == (*error == NULL));
	if (ok)
		*error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "no error");
}

static void
test_refresh(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(GError) error = NULL;

	g_assert_true(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_no_error(error);

	tokenwatch_client_refresh_async(client, NULL, refresh_cb, &error);
	WAIT_FOR(error != NULL);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_cmpuint(fake->refresh_count, ==, 2);

	/* errors of our domain keep their code and lose the D-Bus prefix */
	fake_run(fake, fake_set_refresh_error_func,
		 "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_assert_null(strstr(error->message, "GDBus.Error"));
	g_assert_nonnull(strstr(error->message, "refresh refused"));
	g_clear_error(&error);

	tokenwatch_client_refresh_async(client, NULL, refresh_cb, &error);
	WAIT_FOR(error != NULL);
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	/* generic D-Bus errors are mapped */
	fake_run(fake, fake_set_refresh_error_func, "org.freedesktop.DBus.Error.AccessDenied");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	fake_run(fake, fake_set_refresh_error_func, "org.example.Error.Weird");
	g_assert_false(tokenwatch_client_refresh(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "refresh refused"));
}

static void
bool_result_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **result = user_data;

	*result = g_object_ref(res);
}

static void
test_forget(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(Recorder) rec = NULL;
	g_autoptr(TokenwatchToken) token_a = NULL;
	g_autoptr(TokenwatchToken) token_q = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *certs_a[] = {PATH_CERT_1, NULL};

	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", certs_a, "ok"));
	fake_add(fake, PATH_TOKEN_Q, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q QSCD", "1234", "/", NULL, "ok"));
	fake_add(fake, PATH_CERT_1, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_1, PATH_TOKEN_A));
	client = client_new_async();
	rec = recorder_new(client);
	token_a = g_object_ref(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A));
	token_q = g_object_ref(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_Q));

	/* the token goes, and its certificate with it */
	g_assert_true(tokenwatch_client_forget(client, token_a, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(fake->forgotten->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(fake->forgotten, 0), ==, PATH_TOKEN_A);
	WAIT_FOR(recorder_has(rec, "token-removed ProID+Q 1234"));
	WAIT_FOR(recorder_has(rec, "certificate-removed Jan Novák 1234567890123456789"));
	g_assert_null(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A));

	/* again: tokenwatchd no longer knows it */
	g_assert_false(tokenwatch_client_forget(client, token_a, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "Forgetting token " PATH_TOKEN_A " failed: "));
	g_assert_nonnull(strstr(error->message, "no such token"));
	g_assert_null(strstr(error->message, "GDBus.Error"));
	g_clear_error(&error);
	tokenwatch_client_forget_async(client, token_a, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_false(tokenwatch_client_forget_finish(client, res, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_clear_object(&res);

	/* polkit says no */
	fake_run(fake, fake_set_forget_error_func,
		 "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied");
	tokenwatch_client_forget_async(client, token_q, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_false(tokenwatch_client_forget_finish(client, res, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	g_clear_object(&res);
	fake_run(fake, fake_set_forget_error_func, NULL);

	tokenwatch_client_forget_async(client, token_q, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_true(tokenwatch_client_forget_finish(client, res, &error));
	g_assert_no_error(error);
	g_clear_object(&res);
	WAIT_FOR(recorder_has(rec, "token-removed ProID+Q QSCD 1234"));

	/* tokenwatchd gone */
	g_clear_pointer(&fake, fake_free);
	WAIT_FOR(!tokenwatch_client_get_daemon_running(client));
	g_assert_false(tokenwatch_client_forget(client, token_q, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
}

static void
test_reload_config(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(tokenwatch_client_reload_config(client, NULL, &error));
	g_assert_no_error(error);
	tokenwatch_client_reload_config_async(client, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_true(tokenwatch_client_reload_config_finish(client, res, &error));
	g_assert_no_error(error);
	g_clear_object(&res);
	g_assert_cmpuint(fake->reload_count, ==, 2);

	/* an invalid file: the message says where */
	fake_run(fake, fake_set_reload_error_func,
		 "io.github.tokenwatch.TokenWatch1.Error.InvalidArgument|"
		 "/etc/tokenwatch/tokenwatch.conf: [Warnings] WarnDaysBeforeExpiry: "
		 "“soon” is not a number");
	g_assert_false(tokenwatch_client_reload_config(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==,
			"Reloading the configuration failed: /etc/tokenwatch/tokenwatch.conf: "
			"[Warnings] WarnDaysBeforeExpiry: “soon” is not a number");
	g_clear_error(&error);
	tokenwatch_client_reload_config_async(client, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_false(tokenwatch_client_reload_config_finish(client, res, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_clear_object(&res);
	g_assert_cmpuint(fake->reload_count, ==, 2);

	fake_run(fake, fake_set_reload_error_func, "org.freedesktop.DBus.Error.AccessDenied|no");
	g_assert_false(tokenwatch_client_reload_config(client, NULL, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	g_clear_pointer(&fake, fake_free);
	WAIT_FOR(!tokenwatch_client_get_daemon_running(client));
	tokenwatch_client_reload_config_async(client, NULL, bool_result_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_false(tokenwatch_client_reload_config_finish(client, res, &error));
	g_assert_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE);
}

int
main(int argc, char *argv[])
{
	g_autoptr(GTestDBus) bus = NULL;
	int rc;

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(bus);

	g_test_add_func("/client/error-domain", test_error_domain);
	g_test_add_func("/client/card-state-enum", test_card_state_enum);
	g_test_add_func("/client/no-daemon", test_no_daemon);
	g_test_add_func("/client/initial-state", test_initial_state);
	g_test_add_func("/client/events", test_events);
	g_test_add_func("/client/restart", test_restart);
	g_test_add_func("/client/refresh", test_refresh);
	g_test_add_func("/client/forget", test_forget);
	g_test_add_func("/client/reload-config", test_reload_config);
	rc = g_test_run();

	g_test_dbus_down(bus);
	return rc;
}

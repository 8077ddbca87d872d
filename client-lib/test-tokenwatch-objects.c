/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* libtokenwatch against a fake tokenwatchd: tokens and certificates. */

#include "config.h"

#include "test-fake-daemon.h"

static void
test_tokens_initial(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reader_path = fake_reader_path("Reader A");
	g_autofree gchar *reader_spec =
		g_strdup_printf("Reader A|present|3B00|%s,%s", PATH_TOKEN_A, PATH_TOKEN_Q);
	g_autofree gchar *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, CERT_1, -1);
	const gchar *certs_a[] = {PATH_CERT_2, PATH_CERT_1, FAKE_CERTIFICATES_PATH "gone", NULL};
	const gchar *certs_q[] = {PATH_CERT_1, NULL};
	g_auto(GStrv) paths = NULL;
	TokenwatchPinState pin_state = TOKENWATCH_PIN_STATE_UNKNOWN;
	guint64 qscd_until = 0;
	TokenwatchReader *reader;
	TokenwatchToken *token;
	TokenwatchCertificate *cert;

	fake_run(fake, fake_add_reader_func, reader_spec);
	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", reader_path, certs_a, "ok"));
	fake_add(fake, PATH_TOKEN_Q, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q QSCD", "1234", reader_path, certs_q, "count-low"));
	/* a daemon that sends few properties, and one value we do not know */
	fake_add(fake, PATH_TOKEN_P, FAKE_IFACE_TOKEN,
		 g_variant_new_parsed("{'Label': <'Partial'>, 'UserPinState': <'exploded'>}"));
	fake_add(fake, PATH_CERT_1, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_1, PATH_TOKEN_Q));
	fake_add(fake, PATH_CERT_2, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_2, PATH_TOKEN_A));

	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);

	/* sorted by label */
	tokens = tokenwatch_client_get_tokens(client);
	g_assert_cmpuint(tokens->len, ==, 3);
	g_assert_cmpstr(tokenwatch_token_get_label(g_ptr_array_index(tokens, 0)), ==, "Partial");
	g_assert_cmpstr(tokenwatch_token_get_label(g_ptr_array_index(tokens, 2)), ==,
			"ProID+Q QSCD");

	token = g_ptr_array_index(tokens, 1);
	g_assert_true(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A) == token);
	g_assert_cmpstr(tokenwatch_token_get_object_path(token), ==, PATH_TOKEN_A);
	g_assert_cmpstr(tokenwatch_token_get_label(token), ==, "ProID+Q");
	g_assert_cmpstr(tokenwatch_token_get_manufacturer(token), ==, "Monet+");
	g_assert_cmpstr(tokenwatch_token_get_model(token), ==, "ProID+Q");
	g_assert_cmpstr(tokenwatch_token_get_serial_number(token), ==, "1234");
	g_assert_true(tokenwatch_token_get_present(token));
	g_assert_cmpstr(tokenwatch_token_get_reader_path(token), ==, reader_path);
	g_assert_cmpuint(tokenwatch_token_get_first_seen(token), ==, 1700000000);
	g_assert_cmpuint(tokenwatch_token_get_last_seen(token), ==, 1700000100);
	g_assert_true(g_strv_equal(tokenwatch_token_get_certificate_paths(token), certs_a));
	g_assert_cmpint(tokenwatch_token_get_user_pin_state(token), ==, TOKENWATCH_PIN_STATE_OK);
	g_assert_cmpint(tokenwatch_token_get_so_pin_state(token), ==,
			TOKENWATCH_PIN_STATE_TO_BE_CHANGED);
	g_assert_cmpuint(tokenwatch_token_get_total_memory(token), ==, 32768);
	g_assert_cmpuint(tokenwatch_token_get_free_memory(token), ==, 26000);
	g_assert_cmpstr(tokenwatch_token_get_device_name(token), ==, "ProID+Q gen. 2");
	g_assert_cmpuint(tokenwatch_token_get_qscd_certified_until(token), ==, 1900000000);
	g_assert_true(tokenwatch_token_get_qualified(token));
	g_assert_cmpuint(tokenwatch_token_get_unpaired_keys(token), ==, 1);
	g_assert_cmpstr(tokenwatch_token_get_module(token), ==, "opensc-pkcs11.so");
	g_assert_cmpstr(tokenwatch_token_get_error(token), ==, "");
	g_object_get(token, "certificate-paths", &paths, "so-pin-state", &pin_state,
		     "qscd-certified-until", &qscd_until, NULL);
	g_assert_true(g_strv_equal((const gchar *const *)paths, certs_a));
	g_assert_cmpint(pin_state, ==, TOKENWATCH_PIN_STATE_TO_BE_CHANGED);
	g_assert_cmpuint(qscd_until, ==, 1900000000);

	/* in the token's order; unknown paths are left out */
	certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_assert_cmpuint(certs->len, ==, 2);
	g_assert_cmpstr(tokenwatch_certificate_get_object_path(g_ptr_array_index(certs, 0)), ==,
			PATH_CERT_2);
	g_assert_cmpstr(tokenwatch_certificate_get_object_path(g_ptr_array_index(certs, 1)), ==,
			PATH_CERT_1);
	g_clear_pointer(&certs, g_ptr_array_unref);

	/* what is missing reads as the default */
	token = g_ptr_array_index(tokens, 0);
	g_assert_cmpstr(tokenwatch_token_get_manufacturer(token), ==, "");
	g_assert_null(tokenwatch_token_get_reader_path(token));
	g_assert_nonnull(tokenwatch_token_get_certificate_paths(token));
	g_assert_null(tokenwatch_token_get_certificate_paths(token)[0]);
	g_assert_cmpint(tokenwatch_token_get_user_pin_state(token), ==,
			TOKENWATCH_PIN_STATE_UNKNOWN);
	g_assert_false(tokenwatch_token_get_present(token));
	g_assert_cmpuint(tokenwatch_token_get_total_memory(token), ==, 0);
	certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_assert_cmpuint(certs->len, ==, 0);
	g_clear_pointer(&certs, g_ptr_array_unref);

	reader = tokenwatch_client_get_reader_by_path(client, reader_path);
	g_clear_pointer(&tokens, g_ptr_array_unref);
	tokens = tokenwatch_client_get_tokens_for_reader(client, reader);
	g_assert_cmpuint(tokens->len, ==, 2);
	g_assert_cmpstr(tokenwatch_token_get_object_path(g_ptr_array_index(tokens, 0)), ==,
			PATH_TOKEN_A);
	g_assert_cmpstr(tokenwatch_token_get_object_path(g_ptr_array_index(tokens, 1)), ==,
			PATH_TOKEN_Q);

	/* one object per certificate; sorted by name, then effective end */
	certs = tokenwatch_client_get_certificates(client);
	g_assert_cmpuint(certs->len, ==, 2);
	cert = g_ptr_array_index(certs, 0);
	g_assert_cmpstr(tokenwatch_certificate_get_object_path(cert), ==, PATH_CERT_2);
	g_assert_cmpint(tokenwatch_certificate_get_days_left(cert), ==, -3);
	g_assert_cmpint(tokenwatch_certificate_get_kind(cert), ==,
			TOKENWATCH_CERTIFICATE_KIND_UNKNOWN);
	g_assert_cmpint(tokenwatch_certificate_get_status(cert), ==,
			TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN);

	cert = g_ptr_array_index(certs, 1);
	g_assert_true(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1) == cert);
	g_assert_cmpstr(tokenwatch_certificate_get_object_path(cert), ==, PATH_CERT_1);
	g_assert_cmpstr(tokenwatch_certificate_get_subject(cert), ==,
			"CN=Jan Novák,O=Example\\, s.r.o.,C=CZ");
	g_assert_cmpstr(tokenwatch_certificate_get_common_name(cert), ==, "Jan Novák");
	g_assert_cmpstr(tokenwatch_certificate_get_issuer(cert), ==,
			"CN=PostSignum Qualified CA 4,O=Česká pošta\\, s.p.,C=CZ");
	g_assert_cmpstr(tokenwatch_certificate_get_serial_number_decimal(cert), ==,
			"1234567890123456789");
	g_assert_cmpstr(tokenwatch_certificate_get_serial_number(cert), ==, "112210F47DE98115");
	g_assert_cmpuint(tokenwatch_certificate_get_not_before(cert), ==, 1700000000);
	g_assert_cmpuint(tokenwatch_certificate_get_effective_not_after(cert), ==,
			 1800000000 + 14 * 86400);
	g_assert_cmpuint(tokenwatch_certificate_get_not_after(cert), ==, 1800000000 + 15 * 86400);
	g_assert_cmpint(tokenwatch_certificate_get_days_left(cert), ==, 14);
	g_assert_cmpint(tokenwatch_certificate_get_kind(cert), ==,
			TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN_QSCD);
	g_assert_true(tokenwatch_certificate_get_qc_compliance(cert));
	g_assert_true(tokenwatch_certificate_get_qc_sscd(cert));
	g_assert_cmpstr(tokenwatch_certificate_get_qc_types(cert)[0], ==, "esign");
	g_assert_null(tokenwatch_certificate_get_qc_types(cert)[1]);
	g_assert_cmpstr(tokenwatch_certificate_get_policies(cert)[0], ==, "0.4.0.194112.1.2");
	g_assert_false(tokenwatch_certificate_get_is_ca(cert));
	g_assert_cmpstr(tokenwatch_certificate_get_key_type(cert), ==, "rsa");
	g_assert_cmpuint(tokenwatch_certificate_get_key_bits(cert), ==, 2048);
	g_assert_cmpstr(tokenwatch_certificate_get_key_usage(cert)[1], ==, "nonRepudiation");
	g_assert_cmpstr(tokenwatch_certificate_get_sha256(cert), ==, sha);
	g_assert_cmpstr(tokenwatch_certificate_get_label(cert), ==, "Podpisový certifikát");
	g_assert_cmpstr(tokenwatch_certificate_get_id(cert), ==, "01ab");
	g_assert_cmpstr(tokenwatch_certificate_get_error(cert), ==, "");
	g_assert_cmpstr(tokenwatch_certificate_get_token_path(cert), ==, PATH_TOKEN_Q);
	g_assert_cmpint(tokenwatch_certificate_get_status(cert), ==,
			TOKENWATCH_CERTIFICATE_STATUS_EXPIRING);

	/* the kinds of object do not mix */
	g_assert_null(tokenwatch_client_get_token_by_path(client, PATH_CERT_1));
	g_assert_null(tokenwatch_client_get_certificate_by_path(client, PATH_TOKEN_A));
	g_assert_null(tokenwatch_client_get_reader_by_path(client, PATH_TOKEN_A));
	g_assert_null(tokenwatch_client_get_token_by_path(client, reader_path));
}

static void
test_tokens_events(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(Recorder) rec = recorder_new(client);
	g_autoptr(TokenwatchToken) token = NULL;
	g_autoptr(TokenwatchCertificate) cert = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	const gchar *certs_1[] = {PATH_CERT_1, NULL};

	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", NULL, "ok"));
	WAIT_FOR(recorder_has(rec, "token-added ProID+Q 1234"));
	token = g_object_ref(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A));
	g_signal_connect(token, "notify", G_CALLBACK(recorder_notify_cb), rec);
	g_assert_false(tokenwatch_token_get_present(token));

	/* a certificate, then the token that lists it */
	fake_add(fake, PATH_CERT_1, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_1, PATH_TOKEN_A));
	WAIT_FOR(recorder_has(rec, "certificate-added Jan Novák 1234567890123456789"));
	cert = g_object_ref(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1));
	g_signal_connect(cert, "notify", G_CALLBACK(recorder_notify_cb), rec);
	fake_set(fake, PATH_TOKEN_A, "Certificates", g_variant_new_objv(certs_1, -1));
	WAIT_FOR(tokenwatch_token_get_certificate_paths(token)[0] != NULL);
	g_assert_true(recorder_has(rec, "notify certificate-paths "
					"[\"" PATH_CERT_1 "\"]"));
	certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_assert_cmpuint(certs->len, ==, 1);
	g_assert_true(g_ptr_array_index(certs, 0) == cert);

	/* the Manager's signals; those about unknown objects are dropped */
	fake_signal(fake, "ExpiryWarning",
		    g_variant_new("(ois)", FAKE_CERTIFICATES_PATH "unknown", 1, "critical"));
	fake_signal(fake, "ExpiryWarning", g_variant_new("(ois)", PATH_CERT_1, 14, "warning"));
	WAIT_FOR(recorder_has(rec, "expiry-warning 1234567890123456789 14 warning"));
	fake_signal(fake, "DeviceCertificationEnding",
		    g_variant_new("(oi)", FAKE_TOKENS_PATH "unknown", 1));
	fake_signal(fake, "DeviceCertificationEnding", g_variant_new("(oi)", PATH_TOKEN_A, 90));
	WAIT_FOR(recorder_has(rec, "device-certification-ending 1234 90"));
	g_assert_false(recorder_has(rec, "device-certification-ending 1234 1"));

	fake_add(fake, PATH_CERT_2, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_2, PATH_TOKEN_A));
	fake_signal(fake, "CertificateRenewed",
		    g_variant_new("(oo)", PATH_CERT_1, FAKE_CERTIFICATES_PATH "unknown"));
	fake_signal(fake, "CertificateRenewed", g_variant_new("(oo)", PATH_CERT_1, PATH_CERT_2));
	WAIT_FOR(recorder_has(rec, "certificate-renewed 1234567890123456789 42"));
	for (guint i = 0; i < rec->events->len; i++) {
		const gchar *event = g_ptr_array_index(rec->events, i);

		g_assert_false(g_str_has_prefix(event, "expiry-warning") &&
			       strstr(event, "critical") != NULL);
		if (g_str_has_prefix(event, "certificate-renewed"))
			g_assert_cmpstr(event, ==, "certificate-renewed 1234567890123456789 42");
	}

	/* property changes */
	fake_set(fake, PATH_CERT_1, "Status", g_variant_new_string("superseded"));
	WAIT_FOR(recorder_has(rec, "notify status ((TokenwatchCertificateStatus) "
				   "TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED)"));
	fake_set(fake, PATH_CERT_1, "DaysLeft", g_variant_new_int32(-1));
	WAIT_FOR(recorder_has(rec, "notify days-left -1"));
	fake_set(fake, PATH_TOKEN_A, "UserPinState", g_variant_new_string("final-try"));
	WAIT_FOR(recorder_has(rec, "notify user-pin-state ((TokenwatchPinState) "
				   "TOKENWATCH_PIN_STATE_FINAL_TRY)"));
	fake_set(fake, PATH_TOKEN_A, "Reader", g_variant_new_object_path(PATH_TOKEN_Q));
	WAIT_FOR(g_strcmp0(tokenwatch_token_get_reader_path(token), PATH_TOKEN_Q) == 0);
	g_assert_false(recorder_has(rec, "notify label \"ProID+Q\""));

	/* going away */
	fake_run(fake, fake_remove_object_func, PATH_CERT_1);
	WAIT_FOR(recorder_has(rec, "certificate-removed Jan Novák 1234567890123456789"));
	g_assert_null(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1));
	g_clear_pointer(&certs, g_ptr_array_unref);
	certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_assert_cmpuint(certs->len, ==, 0);
	fake_run(fake, fake_remove_object_func, PATH_TOKEN_A);
	WAIT_FOR(recorder_has(rec, "token-removed ProID+Q 1234"));
	g_assert_null(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A));
	g_signal_handlers_disconnect_by_data(token, rec);
	g_signal_handlers_disconnect_by_data(cert, rec);
}

static void
data_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **result = user_data;

	*result = g_object_ref(res);
}

static void
test_certificate_data(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(TokenwatchCertificate) cert = NULL;
	g_autoptr(GBytes) der = NULL;
	g_autoptr(GBytes) expected = g_bytes_new_static(fake_der, sizeof(fake_der));
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *pem = NULL;

	fake_add(fake, PATH_CERT_1, FAKE_IFACE_CERTIFICATE,
		 fake_certificate_props(CERT_1, PATH_TOKEN_A));
	WAIT_FOR(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1) != NULL);
	cert = g_object_ref(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1));

	der = tokenwatch_certificate_get_der(cert, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(der, expected));
	g_clear_pointer(&der, g_bytes_unref);
	pem = tokenwatch_certificate_get_pem(cert, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pem, ==, FAKE_PEM);
	g_clear_pointer(&pem, g_free);

	tokenwatch_certificate_get_der_async(cert, NULL, data_cb, &res);
	WAIT_FOR(res != NULL);
	der = tokenwatch_certificate_get_der_finish(cert, res, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(der, expected));
	g_clear_object(&res);
	tokenwatch_certificate_get_pem_async(cert, NULL, data_cb, &res);
	WAIT_FOR(res != NULL);
	pem = tokenwatch_certificate_get_pem_finish(cert, res, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(pem, ==, FAKE_PEM);
	g_clear_object(&res);
	g_clear_pointer(&pem, g_free);

	/* a certificate that went away: an error of our domain, with context */
	fake_run(fake, fake_remove_object_func, PATH_CERT_1);
	WAIT_FOR(tokenwatch_client_get_certificate_by_path(client, PATH_CERT_1) == NULL);
	pem = tokenwatch_certificate_get_pem(cert, NULL, &error);
	g_assert_null(pem);
	g_assert_true(error != NULL && error->domain == TOKENWATCH_ERROR);
	g_assert_nonnull(strstr(error->message, "Reading certificate " PATH_CERT_1));
	g_clear_error(&error);
	tokenwatch_certificate_get_der_async(cert, NULL, data_cb, &res);
	WAIT_FOR(res != NULL);
	g_assert_null(tokenwatch_certificate_get_der_finish(cert, res, &error));
	g_assert_true(error != NULL && error->domain == TOKENWATCH_ERROR);
	g_clear_error(&error);
	g_clear_object(&res);

	/* and tokenwatchd gone */
	g_clear_pointer(&fake, fake_free);
	WAIT_FOR(!tokenwatch_client_get_daemon_running(client));
	g_assert_null(tokenwatch_certificate_get_der(cert, NULL, &error));
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

	g_test_add_func("/objects/tokens-initial", test_tokens_initial);
	g_test_add_func("/objects/tokens-events", test_tokens_events);
	g_test_add_func("/objects/certificate-data", test_certificate_data);
	rc = g_test_run();

	g_test_dbus_down(bus);
	return rc;
}

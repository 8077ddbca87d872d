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
	g_assert_cmpstr(tokenwatch_token_get_module_path(token), ==,
			"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so");
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
	fake_signal(fake, "ExpiryWarning", g_variant_new("(ois)", PATH_CERT_1, -3, "expired"));
	WAIT_FOR(recorder_has(rec, "expiry-warning 1234567890123456789 -3 expired"));
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

/* "code severity-nick text" for each advice */
static gchar *
advice_to_string(GPtrArray *advice)
{
	g_autoptr(GString) str = g_string_new(NULL);

	for (guint i = 0; i < advice->len; i++) {
		TokenwatchAdvice *item = g_ptr_array_index(advice, i);
		g_autoptr(GEnumClass) klass = g_type_class_ref(TOKENWATCH_TYPE_ADVICE_SEVERITY);

		g_string_append_printf(
			str, "%s%s %s %s", i > 0 ? ";" : "", tokenwatch_advice_get_code(item),
			g_enum_get_value(klass, tokenwatch_advice_get_severity(item))->value_nick,
			tokenwatch_advice_get_text(item));
	}
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static guint
count_events(Recorder *rec, const gchar *prefix)
{
	guint n = 0;

	for (guint i = 0; i < rec->events->len; i++) {
		if (g_str_has_prefix(g_ptr_array_index(rec->events, i), prefix))
			n++;
	}
	return n;
}

static void
test_advice(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = client_new_async();
	g_autoptr(Recorder) rec = recorder_new(client);
	g_autoptr(GPtrArray) advice = NULL;
	g_autoptr(GPtrArray) advice_prop = NULL;
	g_autoptr(TokenwatchAdvice) kept = NULL;
	g_autofree gchar *str = NULL;
	TokenwatchToken *token;

	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", NULL, "ok"));
	fake_add(fake, PATH_TOKEN_P, FAKE_IFACE_TOKEN,
		 g_variant_new_parsed("{'Label': <'Partial'>}"));
	WAIT_FOR(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_P) != NULL);
	token = tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A);
	g_signal_connect(token, "notify", G_CALLBACK(recorder_notify_cb), rec);

	/* in the daemon's order */
	advice = tokenwatch_token_get_advice(token);
	str = advice_to_string(advice);
	g_assert_cmpstr(str, ==,
			"factory-pin warning The PUK is still the factory PUK: change it.;"
			"unpaired-keys info 1 key has no certificate.");
	g_clear_pointer(&str, g_free);
	g_object_get(token, "advice", &advice_prop, NULL);
	str = advice_to_string(advice_prop);
	g_assert_cmpstr(str, ==,
			"factory-pin warning The PUK is still the factory PUK: change it.;"
			"unpaired-keys info 1 key has no certificate.");
	g_clear_pointer(&str, g_free);
	g_clear_pointer(&advice_prop, g_ptr_array_unref);
	/* the array holds no references: what is kept beyond the main loop is
	 * referenced */
	kept = tokenwatch_advice_ref(g_ptr_array_index(advice, 0));
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* missing: none */
	advice = tokenwatch_token_get_advice(
		tokenwatch_client_get_token_by_path(client, PATH_TOKEN_P));
	g_assert_cmpuint(advice->len, ==, 0);
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* a change is notified once, a severity we do not know is unknown */
	fake_set(fake, PATH_TOKEN_A, "Advice",
		 fake_advice("pin-locked|apocalyptic|The PIN is blocked.;"
			     "qualified-area-full|warning|Remove \"Jan Novák 2023\": it expired."));
	WAIT_FOR(count_events(rec, "notify advice") == 1);
	advice = tokenwatch_token_get_advice(token);
	str = advice_to_string(advice);
	g_assert_cmpstr(str, ==,
			"pin-locked unknown The PIN is blocked.;"
			"qualified-area-full warning Remove \"Jan Novák 2023\": it expired.");
	g_clear_pointer(&str, g_free);
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* what was kept stays as it was */
	g_assert_cmpstr(tokenwatch_advice_get_code(kept), ==, "factory-pin");
	g_assert_cmpint(tokenwatch_advice_get_severity(kept), ==,
			TOKENWATCH_ADVICE_SEVERITY_WARNING);

	/* the same advice again is no change; none is one */
	fake_set(fake, PATH_TOKEN_A, "Advice",
		 fake_advice("pin-locked|apocalyptic|The PIN is blocked.;"
			     "qualified-area-full|warning|Remove \"Jan Novák 2023\": it expired."));
	fake_set(fake, PATH_TOKEN_A, "Error", g_variant_new_string("sync"));
	WAIT_FOR(g_strcmp0(tokenwatch_token_get_error(token), "sync") == 0);
	g_assert_cmpuint(count_events(rec, "notify advice"), ==, 1);
	fake_set(fake, PATH_TOKEN_A, "Advice", fake_advice(""));
	WAIT_FOR(count_events(rec, "notify advice") == 2);
	advice = tokenwatch_token_get_advice(token);
	g_assert_cmpuint(advice->len, ==, 0);
	g_signal_handlers_disconnect_by_data(token, rec);
}

static void
test_remembered_token(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(Recorder) rec = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reader_path = fake_reader_path("Reader A");
	g_autofree gchar *reader_spec = g_strdup_printf("Reader A|empty|");
	TokenwatchToken *token;

	/* a token whose card is out: remembered, with no reader */
	fake_run(fake, fake_add_reader_func, reader_spec);
	fake_add(fake, PATH_TOKEN_A, FAKE_IFACE_TOKEN,
		 fake_token_props("ProID+Q", "1234", "/", NULL, "ok"));
	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);
	rec = recorder_new(client);
	tokens = tokenwatch_client_get_tokens(client);
	g_assert_cmpuint(tokens->len, ==, 1);
	token = g_ptr_array_index(tokens, 0);
	g_assert_false(tokenwatch_token_get_present(token));
	g_assert_null(tokenwatch_token_get_reader_path(token));
	g_assert_cmpuint(tokenwatch_token_get_last_seen(token), ==, 1700000100);
	g_assert_cmpstr(tokenwatch_token_get_device_name(token), ==, "ProID+Q gen. 2");
	g_signal_connect(token, "notify", G_CALLBACK(recorder_notify_cb), rec);

	/* the card comes back: the same object */
	fake_set(fake, PATH_TOKEN_A, "Reader", g_variant_new_object_path(reader_path));
	fake_set(fake, PATH_TOKEN_A, "Present", g_variant_new_boolean(TRUE));
	WAIT_FOR(recorder_has(rec, "notify present TRUE"));
	g_assert_cmpstr(tokenwatch_token_get_reader_path(token), ==, reader_path);
	g_assert_true(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A) == token);

	/* and goes again: no token-removed */
	fake_set(fake, PATH_TOKEN_A, "Present", g_variant_new_boolean(FALSE));
	fake_set(fake, PATH_TOKEN_A, "Reader", g_variant_new_object_path("/"));
	WAIT_FOR(recorder_has(rec, "notify reader-path NULL"));
	g_assert_false(tokenwatch_token_get_present(token));
	g_assert_false(recorder_has(rec, "token-removed ProID+Q 1234"));
	g_assert_true(tokenwatch_client_get_token_by_path(client, PATH_TOKEN_A) == token);
	g_signal_handlers_disconnect_by_data(token, rec);
}

static gchar *
certificates_to_string(GPtrArray *certs)
{
	g_autoptr(GString) str = g_string_new(NULL);

	for (guint i = 0; i < certs->len; i++)
		g_string_append_printf(str, "%s%s", i > 0 ? " " : "",
				       tokenwatch_certificate_get_serial_number_decimal(
					       g_ptr_array_index(certs, i)));
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static void
test_certificates_expiring(void)
{
	g_autoptr(Fake) fake = fake_new();
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GError) error = NULL;
	const struct {
		const gchar *within;
		const gchar *expected;
	} cases[] = {
		/* by effective end; for the same end, by name */
		{"0", "3 4 5"},	       {"13", "3 4 5"},		  {"14", "3 4 1 5"},
		{"60", "3 4 1 8 2 5"}, {"4000", "3 4 1 8 2 5 7"},
	};
	const gchar *specs[] = {
		"Jan Novák|1|qualified-esign-qscd|expiring|14",
		"Jan Novák|2|non-qualified-personal|valid|60",
		"Jan Novák|3|qualified-esign-qscd|expired|-30",
		"Jan Novák|4|qualified-esign-qscd|revoked-by-device|-2",
		/* revoked, whatever its days say */
		"Eva Nová|5|qualified-esign-qscd|revoked-by-device|400",
		"Jan Novák|6|qualified-esign-qscd|superseded|5",
		"Jan Novák|7|ca|valid|3000",
		/* a status from a newer tokenwatchd: by its days */
		"Adam Starý|8|qualified-esign|dormant|60",
	};

	for (guint i = 0; i < G_N_ELEMENTS(specs); i++) {
		g_autofree gchar *path = g_strdup_printf("%s%u", FAKE_CERTIFICATES_PATH, i);

		fake_add(fake, path, FAKE_IFACE_CERTIFICATE,
			 fake_certificate_props(specs[i], PATH_TOKEN_A));
	}
	/* a certificate whose end is not known */
	fake_add(fake, FAKE_CERTIFICATES_PATH "unknown", FAKE_IFACE_CERTIFICATE,
		 g_variant_new_parsed("{'CommonName': <'Broken'>, 'Status': <'valid'>, "
				      "'SerialNumberDecimal': <'9'>}"));
	client = tokenwatch_client_new_for_bus(G_BUS_TYPE_SESSION, NULL, &error);
	g_assert_no_error(error);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint within = (guint)g_ascii_strtoull(cases[i].within, NULL, 10);
		g_autoptr(GPtrArray) certs =
			tokenwatch_client_get_certificates_expiring(client, within);
		g_autofree gchar *str = certificates_to_string(certs);

		g_assert_cmpstr(str, ==, cases[i].expected);
	}
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
	g_test_add_func("/objects/advice", test_advice);
	g_test_add_func("/objects/remembered-token", test_remembered_token);
	g_test_add_func("/objects/certificates-expiring", test_certificates_expiring);
	rc = g_test_run();

	g_test_dbus_down(bus);
	return rc;
}

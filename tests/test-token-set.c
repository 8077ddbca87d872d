/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * How reads change the tokens and certificates the engine shows, with
 * reads made up here: two tokens on one reader (the ProID+Q with its PIN
 * and QPIN areas), tokens moving between readers, certificates shared,
 * the order of the signals.
 */
#include "config.h"

#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>
#include <string.h>

#include "tw-advice.h"
#include "tw-token-set.h"
#include "tw-tracker.h"

typedef struct {
	TwTokenSet *set;
	GString *log;
	GBytes *cert_a;
	GBytes *cert_b;
} Fixture;

static void
token_added_cb(TwTokenSet *set, TwToken *token, Fixture *fx)
{
	g_string_append_printf(fx->log, "+T:%s;", tw_token_get_label(token));
}

static void
token_removed_cb(TwTokenSet *set, TwToken *token, Fixture *fx)
{
	g_string_append_printf(fx->log, "-T:%s;", tw_token_get_label(token));
}

static void
token_presence_cb(TwTokenSet *set, TwToken *token, Fixture *fx)
{
	g_string_append_printf(fx->log, "%s:%s;", tw_token_get_present(token) ? "in" : "out",
			       tw_token_get_label(token));
}

static void
cert_added_cb(TwTokenSet *set, TwCertificate *cert, Fixture *fx)
{
	g_string_append_printf(fx->log, "+C:%s;", tw_certificate_get_info(cert)->common_name);
}

static void
cert_removed_cb(TwTokenSet *set, TwCertificate *cert, Fixture *fx)
{
	g_string_append_printf(fx->log, "-C:%s;", tw_certificate_get_info(cert)->common_name);
}

static GBytes *
load_fixture(const gchar *name)
{
	const gchar *dir = g_getenv("TW_CERT_FIXTURES");
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;

	g_assert_nonnull(dir);
	path = g_strdup_printf("%s/%s.der", dir, name);
	g_assert_true(g_file_get_contents(path, &data, &len, &error));
	g_assert_no_error(error);
	return g_bytes_new_take(data, len);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->set = tw_token_set_new();
	fx->log = g_string_new(NULL);
	fx->cert_a = load_fixture("qualified-esign-qscd");
	fx->cert_b = load_fixture("personal-ncp-plus");
	g_signal_connect(fx->set, "token-added", G_CALLBACK(token_added_cb), fx);
	g_signal_connect(fx->set, "token-removed", G_CALLBACK(token_removed_cb), fx);
	g_signal_connect(fx->set, "token-presence-changed", G_CALLBACK(token_presence_cb), fx);
	g_signal_connect(fx->set, "certificate-added", G_CALLBACK(cert_added_cb), fx);
	g_signal_connect(fx->set, "certificate-removed", G_CALLBACK(cert_removed_cb), fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_object_unref(fx->set);
	g_string_free(fx->log, TRUE);
	g_bytes_unref(fx->cert_a);
	g_bytes_unref(fx->cert_b);
}

/* a token as tw-p11 would read it; certificates: NULL-terminated GBytes */
static TwP11Token *
make_token(const gchar *reader, const gchar *label, const gchar *serial, gulong flags, ...)
{
	TwP11Token *t = g_new0(TwP11Token, 1);
	va_list ap;
	GBytes *der;
	guint n = 0;

	t->module = g_strdup("test");
	t->slot_description = g_strdup(reader);
	t->label = g_strdup(label);
	t->manufacturer = g_strdup("Monet+");
	t->model = g_strdup("ProID+Q");
	t->serial = g_strdup(serial);
	t->flags = flags | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
	t->certificates = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);
	t->public_keys = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);
	va_start(ap, flags);
	while ((der = va_arg(ap, GBytes *)) != NULL) {
		TwP11Object *obj = g_new0(TwP11Object, 1);
		guint8 id = (guint8)++n;

		obj->id = g_bytes_new(&id, 1);
		obj->label = g_strdup_printf("cert %u", n);
		obj->value = g_bytes_ref(der);
		g_ptr_array_add(t->certificates, obj);
	}
	va_end(ap);
	return t;
}

static void
apply(Fixture *fx, const gchar *scope, ...)
{
	GPtrArray *tokens = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
	g_autoptr(TwTokenRead) read = NULL;
	TwP11Token *t;
	va_list ap;

	va_start(ap, scope);
	while ((t = va_arg(ap, TwP11Token *)) != NULL)
		g_ptr_array_add(tokens, t);
	va_end(ap);
	read = tw_token_read_new(tokens);
	g_string_truncate(fx->log, 0);
	tw_token_set_reconcile(fx->set, scope, read, 1800000000);
}

static guint
count_tokens(Fixture *fx, const gchar *scope)
{
	g_autoptr(GPtrArray) tokens = tw_token_set_get_tokens_in(fx->set, scope);

	return tokens->len;
}

static void
test_two_areas(Fixture *fx, gconstpointer data)
{
	/* the PIN area and the QPIN area of one device: same serial, two slots */
	apply(fx, "Reader A", make_token("Reader A", "PIN area", "0001", 0, fx->cert_b, NULL),
	      make_token("Reader A", "QPIN area", "0001", CKF_USER_PIN_FINAL_TRY, fx->cert_a, NULL),
	      NULL);
	g_assert_cmpstr(fx->log->str, ==,
			"+C:Eva Dvořáková;+T:PIN area;in:PIN area;+C:Jan Novák;+T:QPIN area;"
			"in:QPIN area;");
	g_assert_cmpuint(count_tokens(fx, "Reader A"), ==, 2);
	g_assert_cmpuint(tw_token_set_count_certificates(fx->set), ==, 2);

	/* read again: same ids, nothing said */
	apply(fx, "Reader A", make_token("Reader A", "PIN area", "0001", 0, fx->cert_b, NULL),
	      make_token("Reader A", "QPIN area", "0001", CKF_USER_PIN_FINAL_TRY, fx->cert_a, NULL),
	      NULL);
	g_assert_cmpstr(fx->log->str, ==, "");
	g_assert_cmpuint(count_tokens(fx, "Reader A"), ==, 2);

	/* card out: absent, remembered, certificates still tracked */
	g_string_truncate(fx->log, 0);
	tw_token_set_drop_scope(fx->set, "Reader A");
	g_assert_cmpstr(fx->log->str, ==, "out:PIN area;out:QPIN area;");
	g_assert_cmpuint(count_tokens(fx, NULL), ==, 2);
	g_assert_cmpuint(tw_token_set_count_certificates(fx->set), ==, 2);
	/* back in: present again, nothing new */
	apply(fx, "Reader A", make_token("Reader A", "PIN area", "0001", 0, fx->cert_b, NULL),
	      make_token("Reader A", "QPIN area", "0001", CKF_USER_PIN_FINAL_TRY, fx->cert_a, NULL),
	      NULL);
	g_assert_cmpstr(fx->log->str, ==, "in:PIN area;in:QPIN area;");
}

static void
test_order_and_sharing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) tokens = NULL;

	apply(fx, "Reader A", make_token("Reader A", "one", "1", 0, fx->cert_a, NULL), NULL);
	apply(fx, "Reader B", make_token("Reader B", "two", "2", 0, fx->cert_a, fx->cert_b, NULL),
	      NULL);
	/* the shared certificate is already there */
	g_assert_cmpstr(fx->log->str, ==, "+C:Eva Dvořáková;+T:two;in:two;");
	g_string_truncate(fx->log, 0);
	tw_token_set_drop_scope(fx->set, "Reader A");
	g_assert_cmpstr(fx->log->str, ==, "out:one;");
	/* forgetting: the token goes, and the certificates only it held */
	tokens = tw_token_set_get_tokens_in(fx->set, "Reader A");
	g_string_truncate(fx->log, 0);
	g_assert_true(tw_token_set_forget(fx->set, tw_token_get_id(g_ptr_array_index(tokens, 0))));
	g_assert_cmpstr(fx->log->str, ==, "-T:one;");
	g_assert_cmpuint(tw_token_set_count_certificates(fx->set), ==, 2);
	g_assert_false(tw_token_set_forget(fx->set, "0000000000000000"));
	g_clear_pointer(&tokens, g_ptr_array_unref);
	tokens = tw_token_set_get_tokens_in(fx->set, "Reader B");
	g_string_truncate(fx->log, 0);
	g_assert_true(tw_token_set_forget(fx->set, tw_token_get_id(g_ptr_array_index(tokens, 0))));
	g_assert_true(g_str_has_prefix(fx->log->str, "-T:two;-C:"));
	g_assert_cmpuint(tw_token_set_count_certificates(fx->set), ==, 0);
}

static void
test_moves(Fixture *fx, gconstpointer data)
{
	g_autoptr(GPtrArray) in_a = NULL;
	TwToken *token;

	/* read before pcscd named the reader: no reader */
	apply(fx, "", make_token("Reader A", "card", "9", 0, fx->cert_a, NULL), NULL);
	g_assert_cmpuint(count_tokens(fx, ""), ==, 1);
	/* then read in its reader: it moves, without going and coming */
	apply(fx, "Reader A", make_token("Reader A", "card", "9", 0, fx->cert_a, NULL), NULL);
	g_assert_cmpstr(fx->log->str, ==, "");
	g_assert_cmpuint(count_tokens(fx, ""), ==, 0);
	g_assert_cmpuint(count_tokens(fx, "Reader A"), ==, 1);
	/* a scan of the readerless scope does not take it away */
	apply(fx, "", NULL);
	g_assert_cmpuint(count_tokens(fx, "Reader A"), ==, 1);
	in_a = tw_token_set_get_tokens_in(fx->set, "Reader A");
	token = g_ptr_array_index(in_a, 0);
	g_assert_cmpstr(tw_token_set_get_scope(fx->set, token), ==, "Reader A");
	g_assert_cmpstr(tw_token_get_user_pin_state(token), ==, "ok");
	g_assert_true(tw_token_get_present(token));
}

static void
test_certificate_removed_from_token(Fixture *fx, gconstpointer data)
{
	apply(fx, "R", make_token("R", "t", "1", 0, fx->cert_a, fx->cert_b, NULL), NULL);
	/* the user deleted one certificate */
	apply(fx, "R", make_token("R", "t", "1", 0, fx->cert_b, NULL), NULL);
	g_assert_cmpstr(fx->log->str, ==, "-C:Jan Novák;");
	g_assert_cmpuint(tw_token_set_count_certificates(fx->set), ==, 1);
}

/* two certificates whose values could not be read, on two tokens: two
 * objects, not one (the hash of an empty value would be the same) */
static void
test_unreadable_certificates(Fixture *fx, gconstpointer data)
{
	g_autoptr(GBytes) nothing = g_bytes_new_static("", 0);
	TwP11Token *t1 = make_token("R1", "PIN", "111", 0, nothing, NULL);
	TwP11Token *t2 = make_token("R2", "PIN", "222", 0, nothing, NULL);
	g_autoptr(GPtrArray) certs = NULL;

	g_clear_pointer(&((TwP11Object *)g_ptr_array_index(t2->certificates, 0))->value,
			g_bytes_unref);
	apply(fx, "R1", t1, NULL);
	apply(fx, "R2", t2, NULL);
	certs = tw_token_set_get_certificates(fx->set);
	g_assert_cmpuint(certs->len, ==, 2);
	g_assert_cmpstr(tw_certificate_get_id(certs->pdata[0]), !=,
			tw_certificate_get_id(certs->pdata[1]));
	/* read again: the same objects */
	apply(fx, "R1", make_token("R1", "PIN", "111", 0, nothing, NULL), NULL);
	g_assert_cmpstr(fx->log->str, ==, "");
}

static void
test_uninitialised_skipped(Fixture *fx, gconstpointer data)
{
	TwP11Token *blank = make_token("R", "", "", 0, NULL);

	blank->flags = CKF_SO_PIN_LOCKED | CKF_SO_PIN_TO_BE_CHANGED;
	apply(fx, "R", blank, NULL);
	g_assert_cmpstr(fx->log->str, ==, "");
	g_assert_cmpuint(count_tokens(fx, NULL), ==, 0);
}

static void
test_pin_states(void)
{
	g_assert_cmpstr(tw_token_user_pin_state(0), ==, "unknown");
	g_assert_cmpstr(tw_token_user_pin_state(CKF_USER_PIN_INITIALIZED), ==, "ok");
	g_assert_cmpstr(
		tw_token_user_pin_state(CKF_USER_PIN_INITIALIZED | CKF_USER_PIN_TO_BE_CHANGED), ==,
		"to-be-changed");
	g_assert_cmpstr(tw_token_user_pin_state(CKF_USER_PIN_INITIALIZED | CKF_USER_PIN_COUNT_LOW),
			==, "count-low");
	/* the worst first */
	g_assert_cmpstr(tw_token_user_pin_state(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY |
						CKF_USER_PIN_TO_BE_CHANGED),
			==, "final-try");
	g_assert_cmpstr(tw_token_user_pin_state(CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED), ==,
			"locked");
	g_assert_cmpstr(tw_token_so_pin_state(CKF_TOKEN_INITIALIZED), ==, "ok");
	g_assert_cmpstr(tw_token_so_pin_state(CKF_TOKEN_INITIALIZED | CKF_SO_PIN_TO_BE_CHANGED), ==,
			"to-be-changed");
	g_assert_cmpstr(tw_token_so_pin_state(CKF_SO_PIN_LOCKED), ==, "locked");
	g_assert_cmpstr(tw_token_so_pin_state(0), ==, "unknown");
}

static gchar *
advice_codes(GPtrArray *advice)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < advice->len; i++) {
		TwAdvice *a = g_ptr_array_index(advice, i);

		g_string_append_printf(out, "%s%s:%s", i > 0 ? ";" : "", a->code, a->severity);
	}
	return g_string_free(out, FALSE);
}

static void
test_advice(Fixture *fx, gconstpointer data)
{
	const gchar *const no_certs[] = {NULL};
	g_autoptr(TwToken) token = tw_token_new("0123456789abcdef");
	g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func(g_object_unref);
	g_autoptr(GPtrArray) advice = NULL;
	g_autofree gchar *codes = NULL;
	TwCertificate *a = tw_certificate_new(tw_cert_info_parse(fx->cert_a));
	TwCertificate *b = tw_certificate_new(tw_cert_info_parse(fx->cert_a));
	gint64 now = 1800000000;

	/* nothing to say */
	tw_token_restore(token, "t", "m", "m", "1", "mod", "", 0, 0,
			 CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED, 0, 0, 0, no_certs);
	advice = tw_advice_for_token(token, certs, now, 10, 180);
	g_assert_cmpuint(advice->len, ==, 0);
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* factory PIN, PIN one try from locked, PUK locked, keys, memory: the
	 * most severe first */
	tw_token_restore(token, "t", "m", "m", "1", "mod", "", 0, 0,
			 CKF_TOKEN_INITIALIZED | CKF_USER_PIN_TO_BE_CHANGED |
				 CKF_USER_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED,
			 1000, 50, 2, no_certs);
	advice = tw_advice_for_token(token, certs, now, 10, 180);
	codes = advice_codes(advice);
	g_assert_cmpstr(codes, ==,
			"pin-final-try:critical;puk-locked:critical;factory-pin:warning;"
			"memory-low:warning;unpaired-keys:info");
	g_clear_pointer(&advice, g_ptr_array_unref);
	g_clear_pointer(&codes, g_free);

	/* a locked PIN says how not to destroy the chip */
	tw_token_set_flags(token, CKF_TOKEN_INITIALIZED | CKF_USER_PIN_LOCKED);
	advice = tw_advice_for_token(token, certs, now, 10, 180);
	g_assert_cmpstr(((TwAdvice *)g_ptr_array_index(advice, 0))->code, ==, "pin-locked");
	g_assert_nonnull(strstr(((TwAdvice *)g_ptr_array_index(advice, 0))->text, "PUK"));
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* the device: capacity 1 of 1 held by a valid certificate, its end near */
	tw_token_set_flags(token, CKF_TOKEN_INITIALIZED);
	tw_token_set_device(token, "ProID+Q", now + 20 * 86400, 1);
	g_ptr_array_add(certs, a);
	advice = tw_advice_for_token(token, certs, now, 10, 180);
	codes = advice_codes(advice);
	g_assert_cmpstr(codes, ==,
			"device-certification-ending:warning;qualified-area-full:warning;"
			"memory-low:warning;unpaired-keys:info");
	/* a valid certificate is never offered for removal */
	g_assert_nonnull(
		strstr(((TwAdvice *)g_ptr_array_index(advice, 1))->text, "Do not remove a valid"));
	g_clear_pointer(&advice, g_ptr_array_unref);
	g_clear_pointer(&codes, g_free);

	/* capacity 2, one of them superseded: that one may go */
	tw_token_set_device(token, "ProID+Q", now + 20 * 86400, 2);
	tw_certificate_set_superseded_by(b, "ffffffffffffffff");
	tw_certificate_update_time(b, now);
	g_ptr_array_add(certs, b);
	advice = tw_advice_for_token(token, certs, now, 10, 180);
	g_assert_nonnull(strstr(((TwAdvice *)g_ptr_array_index(advice, 1))->text, "superseded"));
	g_clear_pointer(&advice, g_ptr_array_unref);

	/* after the end */
	advice = tw_advice_for_token(token, certs, now + 21 * 86400, 10, 180);
	g_assert_cmpstr(((TwAdvice *)g_ptr_array_index(advice, 0))->code, ==,
			"device-certification-ended");
	g_assert_cmpstr(((TwAdvice *)g_ptr_array_index(advice, 0))->severity, ==, "critical");
}

static void
test_levels(void)
{
	g_assert_cmpstr(tw_tracker_level_for(60), ==, "info");
	g_assert_cmpstr(tw_tracker_level_for(31), ==, "info");
	g_assert_cmpstr(tw_tracker_level_for(30), ==, "warning");
	g_assert_cmpstr(tw_tracker_level_for(8), ==, "warning");
	g_assert_cmpstr(tw_tracker_level_for(7), ==, "critical");
	g_assert_cmpstr(tw_tracker_level_for(1), ==, "critical");
	g_assert_cmpstr(tw_tracker_level_for(0), ==, "expired");
}

static void
test_status(void)
{
	gint64 day = 86400;

	g_assert_cmpstr(tw_certificate_status_for(100, 100 + 400 * day, 50), ==, "not-yet-valid");
	g_assert_cmpstr(tw_certificate_status_for(0, 1000 * day, 0), ==, "valid");
	g_assert_cmpstr(tw_certificate_status_for(0, 100 * day, 40 * day - 1), ==, "valid");
	g_assert_cmpstr(tw_certificate_status_for(0, 100 * day, 40 * day), ==, "expiring");
	g_assert_cmpstr(tw_certificate_status_for(0, 100 * day, 100 * day), ==, "expired");
	/* an unknown end is no death */
	g_assert_cmpstr(tw_certificate_status_for(0, 0, 100 * day), ==, "valid");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/token-set/two-areas", Fixture, NULL, fixture_setup, test_two_areas,
		   fixture_teardown);
	g_test_add("/token-set/order-and-sharing", Fixture, NULL, fixture_setup,
		   test_order_and_sharing, fixture_teardown);
	g_test_add("/token-set/moves", Fixture, NULL, fixture_setup, test_moves, fixture_teardown);
	g_test_add("/token-set/certificate-removed", Fixture, NULL, fixture_setup,
		   test_certificate_removed_from_token, fixture_teardown);
	g_test_add("/token-set/unreadable-certificates", Fixture, NULL, fixture_setup,
		   test_unreadable_certificates, fixture_teardown);
	g_test_add("/token-set/uninitialised", Fixture, NULL, fixture_setup,
		   test_uninitialised_skipped, fixture_teardown);
	g_test_add_func("/token/pin-states", test_pin_states);
	g_test_add("/token/advice", Fixture, NULL, fixture_setup, test_advice, fixture_teardown);
	g_test_add_func("/tracker/levels", test_levels);
	g_test_add_func("/certificate/status", test_status);
	return g_test_run();
}

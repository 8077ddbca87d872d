/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The PKCS#11 layer against real modules: SoftHSM with a private token made
 * by tests/p11/make-softhsm.sh, the same behind tw-p11-recorder.so (which
 * logs every call and makes calls hang, fail or lie), and p11-kit's own
 * configuration. No mocks.
 */
#include "config.h"

#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tw-p11.h"

#define TEST_TOKEN_LABEL  "Testbed HSM"
#define TEST_RESULT_MAX_S 60

typedef void (*RecorderConfigureFunc)(const char *faults, const char *log_path);

static struct {
	gchar *hsm_dir;
	gboolean hsm_dir_ours;
	const gchar *softhsm;
	const gchar *recorder;
	RecorderConfigureFunc configure;
	guint scale; /* TW_TIME_SCALE: slower under valgrind */
} tw;

/* ---- helpers ------------------------------------------------------------ */

static void
result_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GAsyncResult **out = user_data;

	*out = g_object_ref(res);
}

static GAsyncResult *
wait_result(GAsyncResult **res)
{
	gint64 end = g_get_monotonic_time() + TEST_RESULT_MAX_S * G_TIME_SPAN_SECOND;

	while (*res == NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_main_context_iteration(NULL, TRUE);
	}
	return *res;
}

static gboolean
load(TwP11 *p11, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	tw_p11_load_async(p11, NULL, result_cb, &res);
	return tw_p11_load_finish(p11, wait_result(&res), error);
}

static GPtrArray *
read_tokens(TwP11 *p11, const gchar *reader_name, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;

	tw_p11_read_async(p11, reader_name, NULL, result_cb, &res);
	return tw_p11_read_finish(p11, wait_result(&res), error);
}

static TwP11 *
load_paths(const gchar *first, const gchar *second, guint timeout_ms)
{
	const gchar *paths[] = {first, second, NULL};
	g_autoptr(GError) error = NULL;
	TwP11 *p11 = tw_p11_new(FALSE, paths, timeout_ms);

	g_assert_true(load(p11, &error));
	g_assert_no_error(error);
	return p11;
}

static TwP11Token *
find_token(GPtrArray *tokens, const gchar *module, const gchar *label)
{
	for (guint i = 0; i < tokens->len; i++) {
		TwP11Token *token = g_ptr_array_index(tokens, i);

		if ((module == NULL || g_strcmp0(token->module, module) == 0) &&
		    g_strcmp0(token->label, label) == 0)
			return token;
	}
	return NULL;
}

static TwP11Object *
find_object(GPtrArray *objects, guint8 id)
{
	for (guint i = 0; i < objects->len; i++) {
		TwP11Object *object = g_ptr_array_index(objects, i);
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(object->id, &len);

		if (len == 1 && data[0] == id)
			return object;
	}
	return NULL;
}

static GBytes *
hsm_file(const gchar *name)
{
	g_autofree gchar *path = g_build_filename(tw.hsm_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;

	g_file_get_contents(path, &data, &len, &error);
	g_assert_no_error(error);
	return g_bytes_new_take(data, len);
}

static gchar *
new_log_path(void)
{
	return g_build_filename(g_get_user_runtime_dir(), "recorder.log", NULL);
}

/* the first word of every line of the recorder's log */
static GStrv
log_calls(const gchar *log_path)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	g_file_get_contents(log_path, &text, NULL, &error);
	g_assert_no_error(error);
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) words = g_strsplit(lines[i], " ", 2);

		if (words[0] != NULL && *words[0] != '\0')
			g_strv_builder_add(builder, words[0]);
	}
	return g_strv_builder_end(builder);
}

/* ---- SoftHSM, by path --------------------------------------------------- */

static void
assert_hsm_token(TwP11Token *token)
{
	g_autoptr(GBytes) cert1 = hsm_file("cert-01.der");
	g_autoptr(GBytes) cert2 = hsm_file("cert-02.der");
	TwP11Object *object;

	g_assert_nonnull(token);
	g_assert_null(token->error);
	g_assert_cmpstr(token->manufacturer, ==, "SoftHSM project");
	g_assert_cmpstr(token->model, ==, "SoftHSM v2");
	g_assert_cmpuint(strlen(token->serial), ==, 16);
	g_assert_true(g_str_has_prefix(token->slot_description, "SoftHSM slot ID 0x"));
	g_assert_true(token->slot_flags & CKF_TOKEN_PRESENT);
	g_assert_cmphex(token->flags & (CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
					CKF_TOKEN_INITIALIZED),
			==,
			CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
				CKF_TOKEN_INITIALIZED);
	/* SoftHSM 2.6 says "unavailable" for all four */
	g_assert_cmpuint(token->total_public_memory, ==, 0);
	g_assert_cmpuint(token->free_public_memory, ==, 0);
	g_assert_cmpuint(token->total_private_memory, ==, 0);
	g_assert_cmpuint(token->free_private_memory, ==, 0);

	/* certificates: byte for byte what openssl wrote */
	g_assert_cmpuint(token->certificates->len, ==, 2);
	object = find_object(token->certificates, 0x01);
	g_assert_nonnull(object);
	g_assert_null(object->error);
	g_assert_cmpstr(object->label, ==, "auth cert");
	g_assert_true(g_bytes_equal(object->value, cert1));
	object = find_object(token->certificates, 0x02);
	g_assert_nonnull(object);
	g_assert_null(object->error);
	g_assert_cmpstr(object->label, ==, "sign \xe9"); /* Latin-1, as written */
	g_assert_true(g_bytes_equal(object->value, cert2));

	/* public keys: id and label only */
	g_assert_cmpuint(token->public_keys->len, ==, 2);
	object = find_object(token->public_keys, 0x01);
	g_assert_nonnull(object);
	g_assert_cmpstr(object->label, ==, "auth key");
	g_assert_null(object->value);
	object = find_object(token->public_keys, 0x07);
	g_assert_nonnull(object);
	g_assert_cmpstr(object->label, ==, "orphan key");
	g_assert_null(object->value);
	g_assert_null(object->error);
}

static void
test_softhsm_read_all(void)
{
	g_autoptr(TwP11) p11 = load_paths(tw.softhsm, NULL, 0);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GAsyncResult) res1 = NULL;
	g_autoptr(GAsyncResult) res2 = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) modules = tw_p11_get_modules(p11);
	g_autoptr(GHashTable) errors = tw_p11_get_module_errors(p11);
	TwP11Token *blank = NULL;
	gint64 start;

	g_assert_cmpuint(g_strv_length(modules), ==, 1);
	g_assert_cmpstr(modules[0], ==, tw.softhsm);
	g_assert_cmpuint(g_hash_table_size(errors), ==, 0);

	start = g_get_monotonic_time();
	tokens = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	g_test_message("SoftHSM: read %u tokens in %.1f ms", tokens->len,
		       (g_get_monotonic_time() - start) / 1000.0);
	/* the token, and SoftHSM's free slot with a blank token */
	g_assert_cmpuint(tokens->len, ==, 2);
	assert_hsm_token(find_token(tokens, tw.softhsm, TEST_TOKEN_LABEL));
	blank = find_token(tokens, tw.softhsm, "");
	g_assert_nonnull(blank);
	g_assert_null(blank->error);
	g_assert_false(blank->flags & CKF_TOKEN_INITIALIZED);
	g_assert_cmpuint(blank->certificates->len, ==, 0);

	/* two reads at once */
	tw_p11_read_async(p11, NULL, NULL, result_cb, &res1);
	tw_p11_read_async(p11, NULL, NULL, result_cb, &res2);
	wait_result(&res1);
	wait_result(&res2);
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GPtrArray) again = tw_p11_read_finish(p11, i == 0 ? res1 : res2, &error);

		g_assert_no_error(error);
		assert_hsm_token(find_token(again, tw.softhsm, TEST_TOKEN_LABEL));
	}
}

static void
test_softhsm_reader_name(void)
{
	g_autoptr(TwP11) p11 = load_paths(tw.softhsm, NULL, 0);
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GPtrArray) none = NULL;
	g_autoptr(GPtrArray) one = NULL;
	g_autoptr(GError) error = NULL;
	TwP11Token *token;

	none = read_tokens(p11, "Virtual PCD 0 00 00", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(none->len, ==, 0);

	all = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	token = find_token(all, NULL, TEST_TOKEN_LABEL);
	g_assert(token != NULL);
	one = read_tokens(p11, token->slot_description, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(one->len, ==, 1);
	assert_hsm_token(g_ptr_array_index(one, 0));
}

static void
test_load_failures(void)
{
	const gchar *bad[] = {"/nonexistent/tw-no-such-module.so", NULL};
	g_autoptr(TwP11) none = tw_p11_new(FALSE, NULL, 0);
	g_autoptr(TwP11) only_bad = tw_p11_new(FALSE, bad, 0);
	g_autoptr(TwP11) mixed = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GHashTable) errors = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) modules = NULL;

	/* nothing asked for: fine, and reads find nothing */
	g_assert_true(load(none, &error));
	g_assert_no_error(error);
	tokens = read_tokens(none, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tokens->len, ==, 0);

	/* asked for, none loaded: fails */
	g_test_expect_message("TwP11", G_LOG_LEVEL_WARNING, "*tw-no-such-module.so*");
	g_assert_false(load(only_bad, &error));
	g_test_assert_expected_messages();
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_clear_error(&error);
	errors = tw_p11_get_module_errors(only_bad);
	g_assert_nonnull(g_hash_table_lookup(errors, bad[0]));

	/* one of two: works, the other one is reported */
	g_test_expect_message("TwP11", G_LOG_LEVEL_WARNING, "*tw-no-such-module.so*");
	mixed = load_paths(bad[0], tw.softhsm, 0);
	g_test_assert_expected_messages();
	modules = tw_p11_get_modules(mixed);
	g_assert_cmpuint(g_strv_length(modules), ==, 1);
	g_clear_pointer(&errors, g_hash_table_unref);
	errors = tw_p11_get_module_errors(mixed);
	g_assert_cmpuint(g_hash_table_size(errors), ==, 1);
}

/* ---- through the recorder ----------------------------------------------- */

static void
assert_only_allowed_calls(const gchar *log_path)
{
	/* the iron rule, spelled out; prefixes cover the whole families */
	const gchar *forbidden[] = {
		"C_Login",
		"C_Logout",
		"C_InitToken",
		"C_InitPIN",
		"C_SetPIN",
		"C_Sign",
		"C_Decrypt",
		"C_Encrypt",
		"C_Digest",
		"C_Verify",
		"C_GenerateKey",
		"C_WrapKey",
		"C_UnwrapKey",
		"C_DeriveKey",
		"C_CreateObject",
		"C_CopyObject",
		"C_DestroyObject",
		"C_SetAttributeValue",
		"C_SetOperationState",
		"C_GenerateRandom",
		"C_SeedRandom",
		NULL,
	};
	const gchar *allowed[] = {
		"C_GetFunctionList",   "C_Initialize",
		"C_Finalize",	       "C_GetInfo",
		"C_GetSlotList",       "C_GetSlotInfo",
		"C_GetTokenInfo",      "C_OpenSession",
		"C_CloseSession",      "C_FindObjectsInit",
		"C_FindObjects",       "C_FindObjectsFinal",
		"C_GetAttributeValue", NULL,
	};
	g_auto(GStrv) calls = log_calls(log_path);
	g_autofree gchar *text = NULL;

	g_assert_cmpuint(g_strv_length(calls), >, 0);
	for (guint i = 0; calls[i] != NULL; i++) {
		for (guint j = 0; forbidden[j] != NULL; j++) {
			if (g_str_has_prefix(calls[i], forbidden[j]))
				g_error("forbidden call %s in %s", calls[i], log_path);
		}
		if (!g_strv_contains(allowed, calls[i]))
			g_error("unexpected call %s in %s", calls[i], log_path);
	}
	g_assert_true(g_strv_contains((const gchar *const *)calls, "C_GetTokenInfo"));
	g_assert_true(g_strv_contains((const gchar *const *)calls, "C_FindObjects"));
	g_assert_true(g_strv_contains((const gchar *const *)calls, "C_Finalize"));

	/* sessions are read-only: CKF_SERIAL_SESSION (0x4) alone */
	g_file_get_contents(log_path, &text, NULL, NULL);
	g_assert_nonnull(strstr(text, "C_OpenSession slot="));
	for (const gchar *p = strstr(text, "C_OpenSession"); p != NULL;
	     p = strstr(p + 1, "C_OpenSession")) {
		const gchar *flags = strstr(p, "flags=");

		g_assert_nonnull(flags);
		g_assert_true(g_str_has_prefix(flags, "flags=0x4\n"));
	}
}

static void
test_recorder_log(void)
{
	g_autofree gchar *log_path = new_log_path();
	g_autoptr(TwP11) p11 = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GError) error = NULL;

	tw.configure(NULL, log_path);
	p11 = load_paths(tw.recorder, NULL, 0);
	tokens = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	assert_hsm_token(find_token(tokens, tw.recorder, TEST_TOKEN_LABEL));
	tw_p11_shutdown(p11);
	assert_only_allowed_calls(log_path);
	tw.configure(NULL, NULL);
}

/* one read through the recorder with @faults; returns the HSM token */
static GPtrArray *
read_with_faults(const gchar *faults, TwP11Token **token)
{
	g_autofree gchar *log_path = new_log_path();
	g_autoptr(TwP11) p11 = NULL;
	g_autoptr(GError) error = NULL;
	GPtrArray *tokens;

	tw.configure(faults, log_path);
	p11 = load_paths(tw.recorder, NULL, 0);
	tokens = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	*token = find_token(tokens, tw.recorder, TEST_TOKEN_LABEL);
	g_assert_nonnull(*token);
	g_test_message("%s: %s", faults, (*token)->error);
	tw_p11_shutdown(p11);
	tw.configure(NULL, NULL);
	assert_only_allowed_calls(log_path);
	return tokens;
}

static void
test_recorder_errors(void)
{
	g_autoptr(GPtrArray) t1 = NULL;
	g_autoptr(GPtrArray) t2 = NULL;
	g_autoptr(GPtrArray) t3 = NULL;
	TwP11Token *token;

	t1 = read_with_faults("error:C_GetAttributeValue:CKR_DEVICE_ERROR", &token);
	g_assert_nonnull(token->error);
	g_assert_nonnull(strstr(token->error, "C_GetAttributeValue: CKR_DEVICE_ERROR (0x30)"));
	g_assert_cmpuint(token->certificates->len, ==, 0);

	/* the card pulled after the first certificate (2 calls per object) */
	t2 = read_with_faults("error:C_GetAttributeValue@3:CKR_DEVICE_REMOVED", &token);
	g_assert_nonnull(token->error);
	g_assert_true(g_str_has_prefix(token->error, "token removed: C_GetAttributeValue"));
	g_assert_cmpuint(token->certificates->len, ==, 1);
	g_assert_nonnull(((TwP11Object *)g_ptr_array_index(token->certificates, 0))->value);

	t3 = read_with_faults("error:C_FindObjects:CKR_SESSION_HANDLE_INVALID", &token);
	g_assert_true(g_str_has_prefix(token->error, "token removed: C_FindObjects"));
	g_assert_cmpuint(token->certificates->len, ==, 0);
	g_assert_cmpuint(token->public_keys->len, ==, 0);
}

static void
test_recorder_bad_lengths(void)
{
	g_autoptr(GPtrArray) t1 = NULL;
	g_autoptr(GPtrArray) t2 = NULL;
	TwP11Token *token;

	t1 = read_with_faults("badlen:C_GetAttributeValue", &token);
	g_assert_nonnull(token->error);
	g_assert_nonnull(strstr(token->error, "is absurd"));
	g_assert_cmpuint(token->certificates->len, ==, 2);
	for (guint i = 0; i < token->certificates->len; i++) {
		TwP11Object *object = g_ptr_array_index(token->certificates, i);

		g_assert_null(object->value);
		g_assert_nonnull(strstr(object->error, "CKA_VALUE: a length of 2147483647"));
		g_assert_cmpuint(g_bytes_get_size(object->id), ==, 0);
	}

	t2 = read_with_faults("overlen:C_GetAttributeValue", &token);
	g_assert_nonnull(token->error);
	g_assert_nonnull(strstr(token->error, "the module reported"));
	for (guint i = 0; i < token->certificates->len; i++) {
		TwP11Object *object = g_ptr_array_index(token->certificates, i);

		g_assert_null(object->value);
		g_assert_nonnull(object->error);
	}
}

/* a module whose searches never end: at most TW_P11_MAX_OBJECTS per class */
static void
test_recorder_endless_search(void)
{
	g_autoptr(GBytes) cert1 = hsm_file("cert-01.der");
	g_autoptr(GBytes) cert2 = hsm_file("cert-02.der");
	g_autoptr(GPtrArray) tokens = NULL;
	TwP11Token *token;

	tokens = read_with_faults("endless:C_FindObjects", &token);
	g_assert_cmpstr(token->error, ==,
			"more than 1000 certificates: only the first 1000 were read");
	g_assert_cmpuint(token->certificates->len, ==, TW_P11_MAX_OBJECTS);
	g_assert_cmpuint(token->public_keys->len, ==, TW_P11_MAX_OBJECTS);
	for (guint i = 0; i < token->certificates->len; i++) {
		TwP11Object *object = g_ptr_array_index(token->certificates, i);

		g_assert_null(object->error);
		g_assert_true(g_bytes_equal(object->value, cert1) ||
			      g_bytes_equal(object->value, cert2));
	}
}

static void
test_recorder_slot_list_error(void)
{
	g_autofree gchar *log_path = new_log_path();
	g_autoptr(TwP11) p11 = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GHashTable) errors = NULL;
	g_autoptr(GError) error = NULL;

	tw.configure("error:C_GetSlotList:CKR_DEVICE_ERROR", log_path);
	p11 = load_paths(tw.recorder, tw.softhsm, 0);
	g_test_expect_message("TwP11", G_LOG_LEVEL_WARNING, "*C_GetSlotList: CKR_DEVICE_ERROR*");
	tokens = read_tokens(p11, NULL, &error);
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	g_assert_null(find_token(tokens, tw.recorder, TEST_TOKEN_LABEL));
	g_assert_nonnull(find_token(tokens, tw.softhsm, TEST_TOKEN_LABEL));
	errors = tw_p11_get_module_errors(p11);
	g_assert_nonnull(strstr(g_hash_table_lookup(errors, tw.recorder), "C_GetSlotList"));
	tw_p11_shutdown(p11);
	tw.configure(NULL, NULL);
}

static void
test_recorder_hang(void)
{
	guint timeout_ms = 1000 * tw.scale;
	g_autofree gchar *log_path = new_log_path();
	g_autoptr(TwP11) p11 = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GHashTable) errors = NULL;
	g_autoptr(GError) error = NULL;
	TwP11Token *token = NULL;
	gint64 start, took_ms;

	tw.configure("hang:C_FindObjects", log_path);
	p11 = load_paths(tw.recorder, tw.softhsm, timeout_ms);

	/* the recorder hangs: the whole read times out, in time */
	g_test_expect_message("TwP11", G_LOG_LEVEL_WARNING, "*C_FindObjects did not return*");
	start = g_get_monotonic_time();
	tokens = read_tokens(p11, NULL, &error);
	took_ms = (g_get_monotonic_time() - start) / 1000;
	g_test_assert_expected_messages();
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	g_assert_null(tokens);
	g_test_message("timed out after %" G_GINT64_FORMAT " ms (limit %u ms)", took_ms,
		       timeout_ms);
	g_assert_cmpint(took_ms, >=, timeout_ms - 50);
	g_assert_cmpint(took_ms, <, timeout_ms + 2000 * tw.scale);
	g_clear_error(&error);

	/* the next read skips the module that hangs and reads the other one */
	tokens = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	assert_hsm_token(find_token(tokens, tw.softhsm, TEST_TOKEN_LABEL));
	g_assert_null(find_token(tokens, tw.recorder, TEST_TOKEN_LABEL));
	errors = tw_p11_get_module_errors(p11);
	g_assert_nonnull(strstr(g_hash_table_lookup(errors, tw.recorder), "C_FindObjects"));

	/* the call returns at last: the module is read again */
	tw.configure(NULL, log_path);
	for (gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND * tw.scale;
	     token == NULL && g_get_monotonic_time() < end;) {
		g_clear_pointer(&tokens, g_ptr_array_unref);
		tokens = read_tokens(p11, NULL, &error);
		g_assert_no_error(error);
		token = find_token(tokens, tw.recorder, TEST_TOKEN_LABEL);
		if (token == NULL)
			g_usleep(20 * 1000);
	}
	assert_hsm_token(token);
	g_clear_pointer(&errors, g_hash_table_unref);
	errors = tw_p11_get_module_errors(p11);
	g_assert_null(g_hash_table_lookup(errors, tw.recorder));
	tw_p11_shutdown(p11);
	tw.configure(NULL, NULL);
	assert_only_allowed_calls(log_path);
}

/* the caller lets go while the worker hangs; its late result must land on
 * live memory and be dropped */
static void
test_recorder_late_result(void)
{
	g_autofree gchar *log_path = new_log_path();
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GError) error = NULL;
	TwP11 *p11;
	GPtrArray *tokens;
	gint64 end;

	tw.configure("hang:C_GetAttributeValue", log_path);
	p11 = load_paths(tw.recorder, NULL, 300 * tw.scale);
	g_object_add_weak_pointer(G_OBJECT(p11), (gpointer *)&p11);
	g_test_expect_message("TwP11", G_LOG_LEVEL_WARNING, "*C_GetAttributeValue did not return*");
	tw_p11_read_async(p11, NULL, NULL, result_cb, &res);
	tokens = tw_p11_read_finish(p11, wait_result(&res), &error);
	g_test_assert_expected_messages();
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	g_assert_null(tokens);

	g_clear_object(&res);
	g_object_unref(p11);
	g_assert_nonnull(p11); /* the worker holds it */
	tw.configure(NULL, NULL);
	/* the weak pointer clears p11 when the worker lets go */
	end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND * tw.scale;
	while (p11 != NULL) {
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(5 * 1000);
	}
}

static void
test_recorder_crash(void)
{
	g_autofree gchar *log_path = g_build_filename(tw.hsm_dir, "crash.log", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(TwP11) p11 = NULL;

	if (g_test_subprocess()) {
		g_autoptr(GPtrArray) tokens = NULL;

		/* a fresh process, no thread yet: the recorder reads its environment */
		g_setenv("TW_P11_RECORDER_FAULT", "crash:C_GetTokenInfo", TRUE);
		g_setenv("TW_P11_RECORDER_LOG", log_path, TRUE);
		p11 = load_paths(tw.recorder, NULL, 0);
		tokens = read_tokens(p11, NULL, NULL);
		g_assert_not_reached();
	}
	g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC * tw.scale, 0);
	g_test_trap_assert_failed();
	g_file_get_contents(log_path, &text, NULL, NULL);
	g_assert_nonnull(text);
	g_assert_nonnull(strrchr(g_strchomp(text), '\n'));
	g_assert_true(g_str_has_prefix(strrchr(text, '\n') + 1, "C_GetTokenInfo"));
}

/* ---- p11-kit's configuration -------------------------------------------- */

static void
test_p11_kit_config(void)
{
	g_autoptr(TwP11) p11 = tw_p11_new(TRUE, NULL, 0);
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) modules = NULL;
	TwP11Token *token;

	g_assert_true(load(p11, &error));
	g_assert_no_error(error);
	modules = tw_p11_get_modules(p11);
	for (guint i = 0; modules[i] != NULL; i++)
		g_test_message("p11-kit module: %s", modules[i]);
	if (!g_strv_contains((const gchar *const *)modules, "softhsm2"))
		g_error("p11-kit has no softhsm2 module: install softhsm2 (its "
			"/usr/share/p11-kit/modules/softhsm2.module)");
	g_assert_false(g_strv_contains((const gchar *const *)modules, "p11-kit-trust"));

	tokens = read_tokens(p11, NULL, &error);
	g_assert_no_error(error);
	token = find_token(tokens, "softhsm2", TEST_TOKEN_LABEL);
	assert_hsm_token(token);
	for (guint i = 0; i < tokens->len; i++) {
		token = g_ptr_array_index(tokens, i);
		g_test_message("token %s / %s in %s", token->label, token->model, token->module);
		g_assert_cmpstr(token->model, !=, "p11-kit-trust");
		g_assert_cmpstr(token->module, !=, "p11-kit-trust");
	}
}

/* ---- set-up ------------------------------------------------------------- */

static void
make_hsm(void)
{
	const gchar *script = g_getenv("TW_P11_MAKE_SOFTHSM");
	const gchar *argv[] = {script, NULL, NULL};
	g_autoptr(GError) error = NULL;
	gint status = 0;

	tw.hsm_dir = g_strdup(g_getenv("TW_TEST_P11_HSM_DIR"));
	if (tw.hsm_dir != NULL)
		return; /* a subprocess of ours */
	g_assert_nonnull(script);
	tw.hsm_dir = g_dir_make_tmp("tw-test-p11-XXXXXX", &error);
	g_assert_no_error(error);
	tw.hsm_dir_ours = TRUE;
	argv[1] = tw.hsm_dir;
	g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
		     &error);
	g_assert_no_error(error);
	g_spawn_check_wait_status(status, &error);
	g_assert_no_error(error);
	g_setenv("TW_TEST_P11_HSM_DIR", tw.hsm_dir, TRUE);
}

static void
remove_tree(const gchar *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
	}
	if (dir != NULL)
		g_dir_close(dir);
	g_rmdir(path);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *conf = NULL;
	const gchar *scale;
	void *handle;
	int ret;

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
	scale = g_getenv("TW_TIME_SCALE");
	tw.scale = MAX(1, (guint)g_ascii_strtoull(scale != NULL ? scale : "1", NULL, 10));
	tw.softhsm = g_getenv("TW_SOFTHSM_MODULE");
	if (tw.softhsm == NULL)
		tw.softhsm = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so";
	tw.recorder = g_getenv("TW_P11_RECORDER");
	g_assert_nonnull(tw.recorder);

	/* all the environment before any thread: SoftHSM reads it in C_Initialize */
	make_hsm();
	conf = g_build_filename(tw.hsm_dir, "softhsm2.conf", NULL);
	g_setenv("SOFTHSM2_CONF", conf, TRUE);
	g_setenv("TW_P11_RECORDER_TARGET", tw.softhsm, TRUE);
	handle = dlopen(tw.recorder, RTLD_NOW);
	g_assert_nonnull(handle);
	*(void **)(&tw.configure) = dlsym(handle, "tw_p11_recorder_configure");
	g_assert_nonnull(tw.configure);
	/* this process sets the recorder up itself; a subprocess uses the
	 * environment */
	if (!g_test_subprocess())
		tw.configure(NULL, NULL);

	g_test_add_func("/p11/softhsm/read-all", test_softhsm_read_all);
	g_test_add_func("/p11/softhsm/reader-name", test_softhsm_reader_name);
	g_test_add_func("/p11/load-failures", test_load_failures);
	g_test_add_func("/p11/recorder/log", test_recorder_log);
	g_test_add_func("/p11/recorder/errors", test_recorder_errors);
	g_test_add_func("/p11/recorder/bad-lengths", test_recorder_bad_lengths);
	g_test_add_func("/p11/recorder/endless-search", test_recorder_endless_search);
	g_test_add_func("/p11/recorder/slot-list-error", test_recorder_slot_list_error);
	g_test_add_func("/p11/recorder/hang", test_recorder_hang);
	g_test_add_func("/p11/recorder/late-result", test_recorder_late_result);
	g_test_add_func("/p11/recorder/crash", test_recorder_crash);
	g_test_add_func("/p11/p11-kit-config", test_p11_kit_config);
	ret = g_test_run();

	if (tw.hsm_dir_ours)
		remove_tree(tw.hsm_dir);
	g_free(tw.hsm_dir);
	dlclose(handle);
	return ret;
}

/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * A fake tokenwatchd for the tests of libtokenwatch: a thread with its own
 * main context and bus connection that exports the objects of the D-Bus
 * contract by hand (the XML in dbus/), on a private bus from GTestDBus; and
 * what the tests share on the client side.
 */

#pragma once

#include <tokenwatch.h>

G_BEGIN_DECLS

#define FAKE_READERS_PATH      TW_DBUS_PATH "/readers/"
#define FAKE_TOKENS_PATH       TW_DBUS_PATH "/tokens/"
#define FAKE_CERTIFICATES_PATH TW_DBUS_PATH "/certificates/"
#define FAKE_IFACE_MANAGER     "io.github.tokenwatch.TokenWatch1.Manager"
#define FAKE_IFACE_READER      "io.github.tokenwatch.TokenWatch1.Reader"
#define FAKE_IFACE_TOKEN       "io.github.tokenwatch.TokenWatch1.Token"
#define FAKE_IFACE_CERTIFICATE "io.github.tokenwatch.TokenWatch1.Certificate"
#define FAKE_IFACE_OTHER       "org.example.NotKnownToTheLibrary"

#define PATH_TOKEN_A FAKE_TOKENS_PATH "Monet_2B_ProID_2BQ_1234"
#define PATH_TOKEN_Q FAKE_TOKENS_PATH "Monet_2B_ProID_2BQ_1234_Q"
#define PATH_TOKEN_P FAKE_TOKENS_PATH "partial"
#define PATH_CERT_1  FAKE_CERTIFICATES_PATH "0123456789abcdef"
#define PATH_CERT_2  FAKE_CERTIFICATES_PATH "fedcba9876543210"
/* certificates for fake_certificate_props() */
#define CERT_1 "Jan Novák|1234567890123456789|qualified-esign-qscd|expiring|14"
#define CERT_2 "Jan Novák|42|qualified-from-the-future|glowing|-3"

/* what the fake's certificates are, in DER and PEM */
extern const guint8 fake_der[5];
#define FAKE_PEM "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n"

typedef struct {
	GThread *thread;
	GMainContext *context;
	GMainLoop *loop;
	GDBusConnection *connection;
	GDBusNodeInfo *manager_node;
	GDBusNodeInfo *reader_node;
	GDBusNodeInfo *token_node;
	GDBusNodeInfo *certificate_node;
	GDBusNodeInfo *om_node;
	guint manager_id;
	guint om_id;
	GHashTable *readers; /* path → FakeReader */
	GHashTable *objects; /* path → FakeObject */
	gchar *version;
	gboolean pcsc_available;
	gchar *refresh_error; /* D-Bus error name Refresh returns, or NULL */
	guint refresh_count;
	gchar *reload_error; /* "D-Bus error name|message" ReloadConfig returns, or NULL */
	guint reload_count;
	gchar *forget_error;  /* D-Bus error name Forget returns, or NULL */
	GPtrArray *forgotten; /* of gchar*: the tokens Forget dropped */
	GMutex mutex;
	GCond cond;
	gboolean ready;
} Fake;

/* run in the fake's thread by fake_run() */
typedef void (*FakeFunc)(Fake *fake, gconstpointer data);

Fake *fake_new(void);
void fake_free(Fake *fake);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)
void fake_run(Fake *fake, FakeFunc func, gconstpointer data);

gchar *fake_reader_path(const gchar *name);
void fake_add_reader_func(Fake *fake, gconstpointer data);
void fake_remove_reader_func(Fake *fake, gconstpointer data);
void fake_set_card_func(Fake *fake, gconstpointer data);
void fake_set_pcsc_func(Fake *fake, gconstpointer data);
void fake_set_refresh_error_func(Fake *fake, gconstpointer data);
void fake_set_reload_error_func(Fake *fake, gconstpointer data);
void fake_set_forget_error_func(Fake *fake, gconstpointer data);
void fake_remove_object_func(Fake *fake, gconstpointer data);

void fake_add(Fake *fake, const gchar *path, const gchar *iface, GVariant *props);
void fake_set(Fake *fake, const gchar *path, const gchar *name, GVariant *value);
void fake_signal(Fake *fake, const gchar *signal, GVariant *parameters);
GVariant *fake_token_props(const gchar *label,
			   const gchar *serial,
			   const gchar *reader_path,
			   const gchar *const *certificates,
			   const gchar *user_pin_state);
GVariant *fake_certificate_props(const gchar *spec, const gchar *token_path);
GVariant *fake_advice(const gchar *spec);

/* the client side */

typedef struct {
	TokenwatchClient *client;
	GPtrArray *events; /* of gchar* */
} Recorder;

gboolean wait_tick_cb(gpointer user_data);

#define WAIT_FOR(cond)                                                           \
	G_STMT_START                                                             \
	{                                                                        \
		gint64 _deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC; \
		guint _tick = g_timeout_add(20, wait_tick_cb, NULL);             \
		while (!(cond)) {                                                \
			if (g_get_monotonic_time() > _deadline)                  \
				g_error("timed out waiting for %s", #cond);      \
			g_main_context_iteration(NULL, TRUE);                    \
		}                                                                \
		g_source_remove(_tick);                                          \
	}                                                                        \
	G_STMT_END

Recorder *recorder_new(TokenwatchClient *client);
void recorder_free(Recorder *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Recorder, recorder_free)
gboolean recorder_has(Recorder *rec, const gchar *event);
void recorder_notify_cb(GObject *object, GParamSpec *pspec, gpointer user_data);
TokenwatchClient *client_new_async(void);

G_END_DECLS

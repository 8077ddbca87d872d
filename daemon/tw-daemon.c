/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The D-Bus adaptor: the only place that knows object paths. It exports the
 * engine's objects under an ObjectManager (TwExporter), with the Manager
 * interface on the root path itself. Readers are public; a token and its
 * certificates are shown only to the clients that may see them (see
 * tw_daemon_visible_cb), and the Manager signals about them go to those
 * clients only.
 *
 * Order on the wire: the objects are exported, then the name is requested,
 * and only when the name is ours does the engine start watching readers.
 * Property changes are flushed before the Manager signal that announces them,
 * so a client that reacts to CardInserted already reads the new CardPresent.
 */
#define G_LOG_DOMAIN "TwDaemon"

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "tw-auth.h"
#include "tw-daemon.h"
#include "tw-dbus-generated.h"
#include "tw-exporter.h"
#include "tw-names.h"
#include "tw-sd.h"

#define TW_DBUS_MANAGER_INTERFACE "io.github.tokenwatch.TokenWatch1.Manager"

struct _TwDaemon {
	GObject parent_instance;
	TwEngine *engine;
	GBusType bus_type;
	gboolean replace;

	GDBusConnection *connection;
	TwExporter *exporter;
	TwPeers *peers; /* who the callers are: uid, polkit's read-tokens */
	TwDBusManager *manager;
	GHashTable *readers;	  /* TwReader → TwDBusObjectSkeleton */
	GHashTable *tokens;	  /* TwToken → TwDBusObjectSkeleton */
	GHashTable *certificates; /* TwCertificate → TwDBusObjectSkeleton */
	GHashTable *holders;	  /* certificate id → GPtrArray of TwToken, or NULL: stale */
	guint name_id;
	gboolean name_acquired;
	gboolean engine_started;
	guint watchdog_id;
	gchar *last_status;
	GQueue pending; /* TwDaemonSignal: Manager signals about tokens, in order */
	guint pending_id;
};

/* A Manager signal about a token or a certificate, sent when the engine is
 * done with the change that caused it (the owners of a token read are set
 * after it is added), to those who may see the object then, or to
 * @audience, those who saw it before it went. */
typedef struct {
	gchar *name;
	GVariant *params;
	gchar *path;	     /* what it is about */
	GPtrArray *audience; /* or NULL: who sees @path when it is sent */
} TwDaemonSignal;

static void
tw_daemon_signal_free(TwDaemonSignal *sig)
{
	g_free(sig->name);
	g_variant_unref(sig->params);
	g_free(sig->path);
	g_clear_pointer(&sig->audience, g_ptr_array_unref);
	g_free(sig);
}

G_DEFINE_TYPE(TwDaemon, tw_daemon, G_TYPE_OBJECT)

enum { SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

static const gchar *
tw_daemon_bus_name(TwDaemon *self)
{
	return self->bus_type == G_BUS_TYPE_SESSION ? "session" : "system";
}

static void
tw_daemon_finish(TwDaemon *self, gint exit_code)
{
	g_signal_emit(self, signals[SIGNAL_FINISHED], 0, exit_code);
}

static void
tw_daemon_update_status(TwDaemon *self)
{
	g_autofree gchar *status = tw_engine_describe(self->engine);

	if (g_strcmp0(status, self->last_status) == 0)
		return;
	g_free(self->last_status);
	self->last_status = g_steal_pointer(&status);
	if (self->engine_started)
		tw_sd_notify_status(self->last_status);
}

static gchar *
tw_daemon_token_path(TwToken *token)
{
	return tw_names_object_path("tokens", tw_token_get_id(token));
}

static gchar *
tw_daemon_certificate_path(const gchar *id)
{
	return tw_names_object_path("certificates", id);
}

static void
tw_daemon_sync_reader(TwDaemon *self, TwReader *reader)
{
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->readers, reader);
	g_autoptr(TwDBusReader) iface = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) paths = NULL;

	if (object == NULL)
		return;
	tokens = tw_token_set_get_tokens_in(tw_engine_get_token_set(self->engine),
					    tw_reader_get_pcsc_name(reader));
	paths = g_ptr_array_new_null_terminated(tokens->len, g_free, TRUE);
	for (guint i = 0; i < tokens->len; i++) {
		TwToken *token = g_ptr_array_index(tokens, i);

		if (tw_token_get_present(token))
			g_ptr_array_add(paths, tw_daemon_token_path(token));
	}
	iface = tw_dbus_object_get_reader(TW_DBUS_OBJECT(object));
	tw_dbus_reader_set_name(iface, tw_reader_get_name(reader));
	tw_dbus_reader_set_card_present(iface, tw_reader_get_card_present(reader));
	tw_dbus_reader_set_atr(iface, tw_reader_get_atr(reader));
	tw_dbus_reader_set_card_state(iface,
				      tw_card_state_to_string(tw_reader_get_card_state(reader)));
	tw_dbus_reader_set_event_count(iface, tw_reader_get_event_count(reader));
	tw_dbus_reader_set_tokens(iface, (const gchar *const *)paths->pdata);
}

/* Reader.Tokens of every reader, flushed: a token came or went */
static void
tw_daemon_sync_readers(TwDaemon *self)
{
	GHashTableIter iter;
	gpointer reader, object;

	g_hash_table_iter_init(&iter, self->readers);
	while (g_hash_table_iter_next(&iter, &reader, &object)) {
		tw_daemon_sync_reader(self, reader);
		tw_exporter_flush(self->exporter, g_dbus_object_get_object_path(object));
	}
}

static GVariant *
tw_daemon_advice_variant(GPtrArray *advice)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a(sss)"));
	for (guint i = 0; i < advice->len; i++) {
		TwAdvice *a = g_ptr_array_index(advice, i);

		g_variant_builder_add(&builder, "(sss)", a->code, a->severity, a->text);
	}
	return g_variant_builder_end(&builder);
}

static gint64
tw_clock_now_for_daemon(TwDaemon *self)
{
	return tw_engine_now(self->engine);
}

static void
tw_daemon_sync_token(TwDaemon *self, TwToken *token)
{
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->tokens, token);
	TwReader *reader = tw_engine_get_token_reader(self->engine, token);
	GPtrArray *ids = tw_token_get_certificate_ids(token);
	g_autoptr(TwDBusToken) iface = NULL;
	g_autoptr(GPtrArray) paths = g_ptr_array_new_null_terminated(ids->len, g_free, TRUE);
	g_autofree gchar *reader_path = NULL;

	if (object == NULL)
		return;
	for (guint i = 0; i < ids->len; i++)
		g_ptr_array_add(paths, tw_daemon_certificate_path(g_ptr_array_index(ids, i)));
	reader_path = reader != NULL && tw_token_get_present(token)
			      ? tw_names_object_path("readers", tw_reader_get_pcsc_name(reader))
			      : g_strdup("/");
	iface = tw_dbus_object_get_token(TW_DBUS_OBJECT(object));
	tw_dbus_token_set_label(iface, tw_token_get_label(token));
	tw_dbus_token_set_manufacturer(iface, tw_token_get_manufacturer(token));
	tw_dbus_token_set_model(iface, tw_token_get_model(token));
	tw_dbus_token_set_serial_number(iface, tw_token_get_serial(token));
	tw_dbus_token_set_present(iface, tw_token_get_present(token));
	tw_dbus_token_set_reader(iface, reader_path);
	tw_dbus_token_set_first_seen(iface, (guint64)tw_token_get_first_seen(token));
	tw_dbus_token_set_last_seen(iface, (guint64)tw_token_get_last_seen(token));
	tw_dbus_token_set_certificates(iface, (const gchar *const *)paths->pdata);
	tw_dbus_token_set_user_pin_state(iface, tw_token_get_user_pin_state(token));
	tw_dbus_token_set_so_pin_state(iface, tw_token_get_so_pin_state(token));
	tw_dbus_token_set_total_memory(iface, tw_token_get_total_memory(token));
	tw_dbus_token_set_free_memory(iface, tw_token_get_free_memory(token));
	tw_dbus_token_set_unpaired_keys(iface, tw_token_get_unpaired_keys(token));
	tw_dbus_token_set_module(iface, tw_token_get_module(token));
	tw_dbus_token_set_module_path(iface, tw_token_get_module_path(token));
	tw_dbus_token_set_error(iface, tw_token_get_error(token));
	tw_dbus_token_set_device_name(iface, tw_token_get_device_name(token));
	tw_dbus_token_set_qscd_certified_until(iface,
					       (guint64)MAX(tw_token_get_qscd_until(token), 0));
	/* true only while the certification is known to run */
	tw_dbus_token_set_qualified(iface, tw_token_get_qscd_until(token) != 0 &&
						   tw_clock_now_for_daemon(self) <
							   tw_token_get_qscd_until(token));
	tw_dbus_token_set_advice(iface, tw_daemon_advice_variant(tw_token_get_advice(token)));
	tw_dbus_token_set_owners(iface, g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32,
								  tw_token_get_owners(token)->data,
								  tw_token_get_owners(token)->len,
								  sizeof(guint32)));
}

static void
tw_daemon_sync_certificate(TwDaemon *self, TwCertificate *cert)
{
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->certificates, cert);
	const TwCertInfo *info = tw_certificate_get_info(cert);
	TwToken *token = tw_token_set_get_token(tw_engine_get_token_set(self->engine),
						tw_certificate_get_token_id(cert));
	g_autoptr(TwDBusCertificate) iface = NULL;
	g_autofree gchar *token_path = NULL;

	if (object == NULL)
		return;
	token_path = token != NULL ? tw_daemon_token_path(token) : g_strdup("/");
	iface = tw_dbus_object_get_certificate(TW_DBUS_OBJECT(object));
	tw_dbus_certificate_set_subject(iface, info->subject);
	tw_dbus_certificate_set_common_name(iface, info->common_name);
	tw_dbus_certificate_set_issuer(iface, info->issuer);
	tw_dbus_certificate_set_serial_number(iface, info->serial_hex);
	tw_dbus_certificate_set_serial_number_decimal(iface, info->serial_decimal);
	tw_dbus_certificate_set_not_before(iface, (guint64)MAX(info->not_before, 0));
	tw_dbus_certificate_set_not_after(iface, (guint64)MAX(info->not_after, 0));
	tw_dbus_certificate_set_effective_not_after(
		iface, (guint64)MAX(tw_certificate_get_effective_not_after(cert), 0));
	tw_dbus_certificate_set_days_left(iface, tw_certificate_get_days_left(cert));
	tw_dbus_certificate_set_kind(iface, tw_cert_kind_to_string(info->kind));
	tw_dbus_certificate_set_qc_compliance(iface, info->qc_compliance);
	tw_dbus_certificate_set_qc_sscd(iface, info->qc_sscd);
	tw_dbus_certificate_set_qc_types(iface, (const gchar *const *)info->qc_types);
	tw_dbus_certificate_set_policies(iface, (const gchar *const *)info->policies);
	tw_dbus_certificate_set_is_ca(iface, info->is_ca);
	tw_dbus_certificate_set_key_type(iface, info->key_type);
	tw_dbus_certificate_set_key_bits(iface, info->key_bits);
	tw_dbus_certificate_set_key_usage(iface, (const gchar *const *)info->key_usage);
	tw_dbus_certificate_set_sha256(iface, info->sha256);
	tw_dbus_certificate_set_label(iface, tw_certificate_get_label(cert));
	tw_dbus_certificate_set_id(iface, tw_certificate_get_ckaid(cert));
	tw_dbus_certificate_set_error(iface, info->error != NULL ? info->error : "");
	tw_dbus_certificate_set_token(iface, token_path);
	tw_dbus_certificate_set_status(iface, tw_certificate_get_status(cert));
}

/* the certificates of @token now point to it, flushed: they were
 * exported before it */
static void
tw_daemon_sync_token_certificates(TwDaemon *self, TwToken *token)
{
	GPtrArray *ids = tw_token_get_certificate_ids(token);
	TwTokenSet *set = tw_engine_get_token_set(self->engine);

	for (guint i = 0; i < ids->len; i++) {
		TwCertificate *cert = tw_token_set_get_certificate(set, g_ptr_array_index(ids, i));
		TwDBusObjectSkeleton *object =
			cert != NULL ? g_hash_table_lookup(self->certificates, cert) : NULL;

		if (object == NULL)
			continue;
		tw_daemon_sync_certificate(self, cert);
		tw_exporter_flush(self->exporter,
				  g_dbus_object_get_object_path(G_DBUS_OBJECT(object)));
	}
}

/* the tokens that hold each certificate, found again after any change */
static GPtrArray *
tw_daemon_get_holders(TwDaemon *self, TwCertificate *cert)
{
	if (self->holders == NULL) {
		g_autoptr(GPtrArray) tokens =
			tw_token_set_get_tokens(tw_engine_get_token_set(self->engine));

		self->holders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						      (GDestroyNotify)g_ptr_array_unref);
		for (guint i = 0; i < tokens->len; i++) {
			TwToken *token = g_ptr_array_index(tokens, i);
			GPtrArray *ids = tw_token_get_certificate_ids(token);

			for (guint j = 0; j < ids->len; j++) {
				const gchar *id = g_ptr_array_index(ids, j);
				GPtrArray *holders = g_hash_table_lookup(self->holders, id);

				if (holders == NULL) {
					holders = g_ptr_array_new();
					g_hash_table_insert(self->holders, g_strdup(id), holders);
				}
				g_ptr_array_add(holders, token);
			}
		}
	}
	return g_hash_table_lookup(self->holders, tw_certificate_get_id(cert));
}

static gboolean
tw_daemon_token_owned_by(TwToken *token, guint32 uid)
{
	GArray *owners = token != NULL ? tw_token_get_owners(token) : NULL;

	for (guint i = 0; owners != NULL && i < owners->len; i++) {
		if (g_array_index(owners, guint32, i) == uid)
			return TRUE;
	}
	return FALSE;
}

/* A token is shown to the users who own it (Owners: their session was
 * active on the seat while it was in a reader) and, while it is in a
 * reader, to clients that polkit allows io.github.tokenwatch.read-tokens
 * (by default: users of an active local session); a certificate to whoever
 * sees a token that holds it. Root and the daemon's own user see all (the
 * exporter asks no further). */
static gboolean
tw_daemon_token_visible(const TwPeer *peer, TwToken *token)
{
	return tw_daemon_token_owned_by(token, peer->uid) ||
	       (peer->may_read && tw_token_get_present(token));
}

static gboolean
tw_daemon_visible_cb(const TwPeer *peer, GObject *subject, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	GPtrArray *holders;

	if (TW_IS_TOKEN(subject))
		return tw_daemon_token_visible(peer, TW_TOKEN(subject));
	holders = tw_daemon_get_holders(self, TW_CERTIFICATE(subject));
	for (guint i = 0; holders != NULL && i < holders->len; i++) {
		if (tw_daemon_token_visible(peer, g_ptr_array_index(holders, i)))
			return TRUE;
	}
	return FALSE;
}

static const gchar *
tw_daemon_object_path(GHashTable *objects, gpointer key)
{
	GDBusObject *object = g_hash_table_lookup(objects, key);

	return object != NULL ? g_dbus_object_get_object_path(object) : NULL;
}

/* a token's owners or presence may have changed: so may who sees its
 * certificates */
static void
tw_daemon_token_changed_cb(TwToken *token, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	GPtrArray *ids = tw_token_get_certificate_ids(token);
	TwTokenSet *set = tw_engine_get_token_set(self->engine);

	/* the certificates it held, in case it holds some no longer */
	if (self->holders != NULL) {
		GHashTableIter iter;
		gpointer id, holders;

		g_hash_table_iter_init(&iter, self->holders);
		while (g_hash_table_iter_next(&iter, &id, &holders)) {
			g_autofree gchar *path = NULL;

			if (!g_ptr_array_find(holders, token, NULL))
				continue;
			path = tw_daemon_certificate_path(id);
			tw_exporter_invalidate(self->exporter, path);
		}
		g_clear_pointer(&self->holders, g_hash_table_unref);
	}
	tw_daemon_sync_token(self, token);
	for (guint i = 0; i < ids->len; i++) {
		TwCertificate *cert = tw_token_set_get_certificate(set, g_ptr_array_index(ids, i));
		const gchar *path =
			cert != NULL ? tw_daemon_object_path(self->certificates, cert) : NULL;

		if (path != NULL)
			tw_exporter_invalidate(self->exporter, path);
	}
}

static void
tw_daemon_certificate_changed_cb(TwCertificate *cert, gpointer user_data)
{
	tw_daemon_sync_certificate(TW_DAEMON(user_data), cert);
}

static gboolean
tw_daemon_handle_get_der_cb(TwDBusCertificate *iface,
			    GDBusMethodInvocation *invocation,
			    gpointer user_data)
{
	TwCertificate *cert = TW_CERTIFICATE(user_data);
	GBytes *der = tw_certificate_get_info(cert)->der;

	tw_dbus_certificate_complete_get_der(
		iface, invocation, g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, der, TRUE));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
tw_daemon_handle_get_pem_cb(TwDBusCertificate *iface,
			    GDBusMethodInvocation *invocation,
			    gpointer user_data)
{
	TwCertificate *cert = TW_CERTIFICATE(user_data);
	g_autofree gchar *pem = tw_cert_info_to_pem(tw_certificate_get_info(cert));

	tw_dbus_certificate_complete_get_pem(iface, invocation, pem);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
tw_daemon_send_pending_cb(gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	TwDaemonSignal *sig;

	self->pending_id = 0;
	/* properties and who sees what first: the signal is read with them */
	tw_exporter_flush_pending(self->exporter);
	while ((sig = g_queue_pop_head(&self->pending)) != NULL) {
		g_autoptr(GPtrArray) now = NULL;

		if (sig->audience == NULL)
			now = tw_exporter_get_audience(self->exporter, sig->path);
		tw_exporter_emit(self->exporter, sig->audience != NULL ? sig->audience : now,
				 TW_DBUS_MANAGER_INTERFACE, sig->name, sig->params);
		tw_daemon_signal_free(sig);
	}
	return G_SOURCE_REMOVE;
}

/* queues the Manager signal @name about the token or certificate at @path;
 * @audience: (transfer full) (nullable): who saw it, when it is going */
static void
tw_daemon_emit_private(
	TwDaemon *self, const gchar *path, GPtrArray *audience, const gchar *name, GVariant *params)
{
	TwDaemonSignal *sig = g_new0(TwDaemonSignal, 1);

	sig->name = g_strdup(name);
	sig->params = g_variant_ref_sink(params);
	sig->path = g_strdup(path);
	sig->audience = audience;
	g_queue_push_tail(&self->pending, sig);
	if (self->pending_id == 0)
		self->pending_id = g_idle_add(tw_daemon_send_pending_cb, self);
}

static void
tw_daemon_certificate_added_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *path = tw_daemon_certificate_path(tw_certificate_get_id(cert));
	g_autoptr(TwDBusObjectSkeleton) object = tw_dbus_object_skeleton_new(path);
	g_autoptr(TwDBusCertificate) iface = tw_dbus_certificate_skeleton_new();

	tw_dbus_object_skeleton_set_certificate(object, iface);
	g_hash_table_insert(self->certificates, g_object_ref(cert), g_object_ref(object));
	g_clear_pointer(&self->holders, g_hash_table_unref);
	tw_daemon_sync_certificate(self, cert);
	g_signal_connect_object(cert, "changed", G_CALLBACK(tw_daemon_certificate_changed_cb), self,
				0);
	g_signal_connect_object(iface, "handle-get-der", G_CALLBACK(tw_daemon_handle_get_der_cb),
				cert, 0);
	g_signal_connect_object(iface, "handle-get-pem", G_CALLBACK(tw_daemon_handle_get_pem_cb),
				cert, 0);
	tw_exporter_add(self->exporter, path, G_DBUS_INTERFACE_SKELETON(iface), G_OBJECT(cert));
	/* remembered from the state is no news */
	if (!tw_token_set_get_restoring(set))
		tw_daemon_emit_private(self, path, NULL, "CertificateAdded",
				       g_variant_new("(o)", path));
}

static void
tw_daemon_certificate_removed_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->certificates, cert);
	g_autofree gchar *path = NULL;
	GPtrArray *audience;

	if (object == NULL)
		return;
	path = g_strdup(g_dbus_object_get_object_path(G_DBUS_OBJECT(object)));
	g_signal_handlers_disconnect_by_data(cert, self);
	audience = tw_exporter_get_audience(self->exporter, path);
	tw_exporter_remove(self->exporter, path);
	g_hash_table_remove(self->certificates, cert);
	g_clear_pointer(&self->holders, g_hash_table_unref);
	tw_daemon_emit_private(self, path, audience, "CertificateRemoved",
			       g_variant_new("(o)", path));
	tw_daemon_update_status(self);
}

static void
tw_daemon_token_added_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *path = tw_daemon_token_path(token);
	g_autoptr(TwDBusObjectSkeleton) object = tw_dbus_object_skeleton_new(path);
	g_autoptr(TwDBusToken) iface = tw_dbus_token_skeleton_new();

	tw_dbus_object_skeleton_set_token(object, iface);
	g_hash_table_insert(self->tokens, g_object_ref(token), g_object_ref(object));
	g_clear_pointer(&self->holders, g_hash_table_unref);
	tw_daemon_sync_token(self, token);
	g_signal_connect_object(token, "changed", G_CALLBACK(tw_daemon_token_changed_cb), self, 0);
	tw_exporter_add(self->exporter, path, G_DBUS_INTERFACE_SKELETON(iface), G_OBJECT(token));
	tw_daemon_sync_token_certificates(self, token);
	/* TokenAdded follows from its presence */
}

/* a token came (TokenAdded) or went (TokenRemoved); its object stays */
static void
tw_daemon_token_presence_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path = tw_daemon_object_path(self->tokens, token);
	GPtrArray *before;

	if (path == NULL)
		return;
	/* gone: tell whoever saw it, some of whom may no longer see it */
	before = tw_exporter_get_audience(self->exporter, path);
	tw_daemon_sync_token(self, token);
	tw_exporter_flush(self->exporter, path);
	tw_daemon_sync_token_certificates(self, token);
	tw_daemon_sync_readers(self);
	if (tw_token_get_present(token)) {
		g_ptr_array_unref(before);
		tw_daemon_emit_private(self, path, NULL, "TokenAdded", g_variant_new("(o)", path));
	} else {
		tw_daemon_emit_private(self, path, before, "TokenRemoved",
				       g_variant_new("(o)", path));
	}
	tw_daemon_update_status(self);
}

static void
tw_daemon_token_removed_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->tokens, token);
	g_autofree gchar *path = NULL;
	GPtrArray *audience;

	if (object == NULL)
		return;
	path = g_strdup(g_dbus_object_get_object_path(G_DBUS_OBJECT(object)));
	g_signal_handlers_disconnect_by_data(token, self);
	audience = tw_exporter_get_audience(self->exporter, path);
	tw_exporter_remove(self->exporter, path);
	g_hash_table_remove(self->tokens, token);
	g_clear_pointer(&self->holders, g_hash_table_unref);
	tw_daemon_sync_readers(self);
	/* forgotten while present: it is gone for clients */
	if (tw_token_get_present(token))
		tw_daemon_emit_private(self, path, audience, "TokenRemoved",
				       g_variant_new("(o)", path));
	else
		g_ptr_array_unref(audience);
	tw_daemon_update_status(self);
}

static void
tw_daemon_reader_notify_cb(TwReader *reader, GParamSpec *pspec, gpointer user_data)
{
	tw_daemon_sync_reader(TW_DAEMON(user_data), reader);
}

/* send pending PropertiesChanged of the object of @key in @objects now,
 * before a signal about it */
static const gchar *
tw_daemon_flush_object(TwDaemon *self, GHashTable *objects, gpointer key)
{
	const gchar *path = tw_daemon_object_path(objects, key);

	if (path != NULL)
		tw_exporter_flush(self->exporter, path);
	return path;
}

static void
tw_daemon_reader_added_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *path = tw_names_object_path("readers", tw_reader_get_pcsc_name(reader));
	g_autoptr(TwDBusObjectSkeleton) object = tw_dbus_object_skeleton_new(path);
	g_autoptr(TwDBusReader) iface = tw_dbus_reader_skeleton_new();

	tw_dbus_object_skeleton_set_reader(object, iface);
	g_hash_table_insert(self->readers, g_object_ref(reader), g_object_ref(object));
	tw_daemon_sync_reader(self, reader);
	g_signal_connect_object(reader, "notify", G_CALLBACK(tw_daemon_reader_notify_cb), self, 0);
	tw_exporter_add(self->exporter, path, G_DBUS_INTERFACE_SKELETON(iface), NULL);
	tw_dbus_manager_emit_reader_added(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_reader_removed_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	TwDBusObjectSkeleton *object = g_hash_table_lookup(self->readers, reader);
	g_autofree gchar *path = NULL;

	if (object == NULL)
		return;
	path = g_strdup(g_dbus_object_get_object_path(G_DBUS_OBJECT(object)));
	g_signal_handlers_disconnect_by_data(reader, self);
	tw_exporter_remove(self->exporter, path);
	g_hash_table_remove(self->readers, reader);
	tw_dbus_manager_emit_reader_removed(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_card_inserted_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path;

	tw_daemon_sync_reader(self, reader);
	path = tw_daemon_flush_object(self, self->readers, reader);
	if (path != NULL)
		tw_dbus_manager_emit_card_inserted(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_card_removed_cb(TwEngine *engine, TwReader *reader, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path;

	tw_daemon_sync_reader(self, reader);
	path = tw_daemon_flush_object(self, self->readers, reader);
	if (path != NULL)
		tw_dbus_manager_emit_card_removed(self->manager, path);
	tw_daemon_update_status(self);
}

static void
tw_daemon_pcsc_available_cb(TwEngine *engine, GParamSpec *pspec, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	tw_dbus_manager_set_pcsc_available(self->manager, tw_engine_get_pcsc_available(engine));
	tw_daemon_update_status(self);
}

/* send pending PropertiesChanged of @cert and of its token, before a signal
 * about @cert: clients decide by the token's Owners whose certificate it is */
static const gchar *
tw_daemon_flush_certificate(TwDaemon *self, TwCertificate *cert)
{
	const gchar *token_id = tw_certificate_get_token_id(cert);

	if (token_id != NULL) {
		TwTokenSet *set = tw_engine_get_token_set(self->engine);
		TwToken *token = tw_token_set_get_token(set, token_id);

		if (token != NULL)
			tw_daemon_flush_object(self, self->tokens, token);
	}
	return tw_daemon_flush_object(self, self->certificates, cert);
}

static void
tw_daemon_expiry_warning_cb(
	TwEngine *engine, TwCertificate *cert, gint days, const gchar *level, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path = tw_daemon_flush_certificate(self, cert);

	if (path != NULL)
		tw_daemon_emit_private(self, path, NULL, "ExpiryWarning",
				       g_variant_new("(ois)", path, days, level));
}

static void
tw_daemon_device_ending_cb(TwEngine *engine, TwToken *token, gint days, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	const gchar *path = tw_daemon_flush_object(self, self->tokens, token);

	if (path != NULL)
		tw_daemon_emit_private(self, path, NULL, "DeviceCertificationEnding",
				       g_variant_new("(oi)", path, days));
}

/* to those who see the new certificate */
static void
tw_daemon_renewed_cb(TwEngine *engine, TwCertificate *old, TwCertificate *new, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *old_path = g_strdup(tw_daemon_flush_certificate(self, old));
	const gchar *new_path = tw_daemon_flush_certificate(self, new);

	if (old_path != NULL && new_path != NULL)
		tw_daemon_emit_private(self, new_path, NULL, "CertificateRenewed",
				       g_variant_new("(oo)", old_path, new_path));
}

/* A call that changes state, waiting for the caller's uid and polkit. */
typedef struct {
	TwDaemon *self;
	GDBusMethodInvocation *invocation;
	gchar *token_id; /* Forget */
	guint32 uid;
} TwDaemonCall;

static void
tw_daemon_call_free(TwDaemonCall *call)
{
	g_object_unref(call->self);
	g_object_unref(call->invocation);
	g_free(call->token_id);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwDaemonCall, tw_daemon_call_free)

static TwDaemonCall *
tw_daemon_call_new(TwDaemon *self, GDBusMethodInvocation *invocation)
{
	TwDaemonCall *call = g_new0(TwDaemonCall, 1);

	call->self = g_object_ref(self);
	call->invocation = g_object_ref(invocation);
	return call;
}

static void
tw_daemon_return_denied(GDBusMethodInvocation *invocation, const GError *error)
{
	g_info("%s.%s from %s refused: %s", g_dbus_method_invocation_get_interface_name(invocation),
	       g_dbus_method_invocation_get_method_name(invocation),
	       g_dbus_method_invocation_get_sender(invocation), error->message);
	g_dbus_method_invocation_return_dbus_error(invocation, TW_AUTH_ERROR_PERMISSION_DENIED,
						   error->message);
}

/* the caller's uid from TwPeers; refuses and frees @call when unknown */
static gboolean
tw_daemon_call_set_uid(TwDaemonCall *call, GObject *source, GAsyncResult *res)
{
	g_autoptr(GError) error = NULL;
	const TwPeer *peer = tw_peers_get_finish(TW_PEERS(source), res, &error);

	if (peer == NULL) {
		tw_daemon_return_denied(call->invocation, error);
		tw_daemon_call_free(call);
		return FALSE;
	}
	call->uid = peer->uid;
	return TRUE;
}

static void
tw_daemon_forget_authorized_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwDaemonCall) call = user_data;
	g_autoptr(GError) error = NULL;

	if (!tw_auth_check_finish(res, &error)) {
		tw_daemon_return_denied(call->invocation, error);
		return;
	}
	if (!tw_engine_forget(call->self->engine, call->token_id)) {
		g_dbus_method_invocation_return_dbus_error(
			call->invocation, "io.github.tokenwatch.TokenWatch1.Error.NotFound",
			"no such token");
		return;
	}
	g_message("token %s forgotten on request of %s (uid %u)", call->token_id,
		  g_dbus_method_invocation_get_sender(call->invocation), call->uid);
	tw_dbus_manager_complete_forget(call->self->manager, call->invocation);
}

static void
tw_daemon_forget_uid_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwDaemonCall *call = user_data;
	const gchar *action;

	if (!tw_daemon_call_set_uid(call, source, res))
		return;
	/* one's own token (seen in one's session) is a smaller matter */
	action = tw_daemon_token_owned_by(
			 tw_token_set_get_token(tw_engine_get_token_set(call->self->engine),
						call->token_id),
			 call->uid)
			 ? TW_AUTH_ACTION_FORGET_OWN
			 : TW_AUTH_ACTION_FORGET;
	tw_auth_check_async(call->invocation, call->uid, action, NULL,
			    tw_daemon_forget_authorized_cb, call);
}

static gboolean
tw_daemon_handle_forget_cb(TwDBusManager *manager,
			   GDBusMethodInvocation *invocation,
			   const gchar *path,
			   gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autofree gchar *prefix = g_strdup_printf("%s/tokens/", TW_DBUS_PATH);
	const gchar *id = g_str_has_prefix(path, prefix) ? path + strlen(prefix) : NULL;
	TwDaemonCall *call;

	if (id == NULL ||
	    tw_token_set_get_token(tw_engine_get_token_set(self->engine), id) == NULL) {
		g_dbus_method_invocation_return_dbus_error(
			invocation, "io.github.tokenwatch.TokenWatch1.Error.NotFound",
			"no such token");
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	call = tw_daemon_call_new(self, invocation);
	call->token_id = g_strdup(id);
	tw_peers_get_async(self->peers, g_dbus_method_invocation_get_sender(invocation), NULL,
			   tw_daemon_forget_uid_cb, call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
tw_daemon_reload_authorized_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwDaemonCall) call = user_data;
	g_autoptr(GError) error = NULL;

	if (!tw_auth_check_finish(res, &error)) {
		tw_daemon_return_denied(call->invocation, error);
		return;
	}
	if (!tw_engine_reload(call->self->engine, &error)) {
		g_dbus_method_invocation_return_dbus_error(
			call->invocation, "io.github.tokenwatch.TokenWatch1.Error.InvalidArgument",
			error->message);
		return;
	}
	tw_dbus_manager_complete_reload_config(call->self->manager, call->invocation);
}

static void
tw_daemon_reload_uid_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwDaemonCall *call = user_data;

	if (!tw_daemon_call_set_uid(call, source, res))
		return;
	tw_auth_check_async(call->invocation, call->uid, TW_AUTH_ACTION_RELOAD_CONFIG, NULL,
			    tw_daemon_reload_authorized_cb, call);
}

static gboolean
tw_daemon_handle_reload_config_cb(TwDBusManager *manager,
				  GDBusMethodInvocation *invocation,
				  gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	tw_peers_get_async(self->peers, g_dbus_method_invocation_get_sender(invocation), NULL,
			   tw_daemon_reload_uid_cb, tw_daemon_call_new(self, invocation));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
tw_daemon_handle_refresh_cb(TwDBusManager *manager,
			    GDBusMethodInvocation *invocation,
			    gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	g_info("refresh requested by %s", g_dbus_method_invocation_get_sender(invocation));
	tw_engine_refresh(self->engine);
	tw_dbus_manager_complete_refresh(manager, invocation);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
tw_daemon_worker_healthy_cb(gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	/* the worker only ever works for a moment between two waits */
	return tw_engine_get_worker_busy_usec(self->engine) < 10 * G_USEC_PER_SEC;
}

static void
tw_daemon_name_acquired_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);
	g_autoptr(GError) error = NULL;

	self->name_acquired = TRUE;
	if (self->engine_started)
		return;
	g_info("owning %s on the %s bus", name, tw_daemon_bus_name(self));
	if (!tw_engine_start(self->engine, &error)) {
		g_printerr("tokenwatchd: %s\n", error->message);
		tw_daemon_finish(self, EXIT_FAILURE);
		return;
	}
	self->engine_started = TRUE;
	tw_daemon_update_status(self);
	tw_sd_notify_ready(self->last_status);
	self->watchdog_id = tw_sd_watchdog_start(tw_daemon_worker_healthy_cb, self);
}

static void
tw_daemon_name_lost_cb(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	if (connection == NULL || g_dbus_connection_is_closed(connection)) {
		g_printerr("tokenwatchd: lost the connection to the %s bus\n",
			   tw_daemon_bus_name(self));
		tw_daemon_finish(self, EXIT_FAILURE);
	} else if (!self->name_acquired) {
		g_printerr("tokenwatchd: another tokenwatchd already owns %s on the %s bus "
			   "(use --replace to take over)\n",
			   name, tw_daemon_bus_name(self));
		tw_daemon_finish(self, EXIT_FAILURE);
	} else {
		g_message("%s was taken over by another instance; exiting", name);
		tw_daemon_finish(self, EXIT_SUCCESS);
	}
}

static void
tw_daemon_connection_closed_cb(GDBusConnection *connection,
			       gboolean remote_peer_vanished,
			       GError *error,
			       gpointer user_data)
{
	TwDaemon *self = TW_DAEMON(user_data);

	g_printerr("tokenwatchd: the %s bus connection closed%s%s\n", tw_daemon_bus_name(self),
		   error != NULL ? ": " : "", error != NULL ? error->message : "");
	tw_daemon_finish(self, EXIT_FAILURE);
}

gboolean
tw_daemon_start(TwDaemon *self, GError **error)
{
	GBusNameOwnerFlags flags =
		G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT | G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE;

	g_return_val_if_fail(TW_IS_DAEMON(self), FALSE);

	self->connection = g_bus_get_sync(self->bus_type, NULL, error);
	if (self->connection == NULL) {
		g_prefix_error(error, "connecting to the %s bus: ", tw_daemon_bus_name(self));
		return FALSE;
	}
	/* quit through our own path, with a message, not by SIGTERM */
	g_dbus_connection_set_exit_on_close(self->connection, FALSE);
	g_signal_connect_object(self->connection, "closed",
				G_CALLBACK(tw_daemon_connection_closed_cb), self, 0);

	if (!g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(self->manager),
					      self->connection, TW_DBUS_PATH, error)) {
		g_prefix_error(error, "exporting %s: ", TW_DBUS_PATH);
		return FALSE;
	}
	self->peers = tw_peers_new(self->connection, getuid());
	if (!tw_exporter_set_connection(self->exporter, self->connection, self->peers, error)) {
		g_prefix_error(error, "exporting the objects: ");
		return FALSE;
	}

	if (self->replace)
		flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
	self->name_id = g_bus_own_name_on_connection(self->connection, TW_DBUS_NAME, flags,
						     tw_daemon_name_acquired_cb,
						     tw_daemon_name_lost_cb, self, NULL);
	return TRUE;
}

void
tw_daemon_stop(TwDaemon *self)
{
	g_return_if_fail(TW_IS_DAEMON(self));

	g_clear_handle_id(&self->watchdog_id, g_source_remove);
	if (self->pending_id != 0) {
		g_source_remove(self->pending_id);
		tw_daemon_send_pending_cb(self);
	}
	if (self->engine_started) {
		tw_engine_stop(self->engine);
		self->engine_started = FALSE;
	}
	if (self->name_id != 0) {
		g_bus_unown_name(self->name_id);
		self->name_id = 0;
	}
	if (g_dbus_interface_skeleton_get_connection(G_DBUS_INTERFACE_SKELETON(self->manager)) !=
	    NULL) {
		tw_exporter_unset_connection(self->exporter);
		/* calls still waiting for who their caller is are refused */
		g_object_run_dispose(G_OBJECT(self->peers));
		g_clear_object(&self->peers);
		g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(self->manager));
		/* let the bus see the name released before we go */
		g_dbus_connection_flush_sync(self->connection, NULL, NULL);
	}
}

static void
tw_daemon_dispose(GObject *object)
{
	TwDaemon *self = TW_DAEMON(object);

	if (self->engine != NULL) {
		tw_daemon_stop(self);
		g_signal_handlers_disconnect_by_data(self->engine, self);
		g_signal_handlers_disconnect_by_data(tw_engine_get_token_set(self->engine), self);
		g_clear_object(&self->engine);
	}
	g_clear_pointer(&self->readers, g_hash_table_unref);
	g_clear_pointer(&self->tokens, g_hash_table_unref);
	g_clear_pointer(&self->certificates, g_hash_table_unref);
	g_clear_handle_id(&self->pending_id, g_source_remove);
	g_queue_clear_full(&self->pending, (GDestroyNotify)tw_daemon_signal_free);
	g_clear_object(&self->exporter);
	g_clear_object(&self->peers);
	g_clear_pointer(&self->holders, g_hash_table_unref);
	g_clear_object(&self->manager);
	g_clear_object(&self->connection);
	g_clear_pointer(&self->last_status, g_free);
	G_OBJECT_CLASS(tw_daemon_parent_class)->dispose(object);
}

static void
tw_daemon_init(TwDaemon *self)
{
	const gchar *collections[] = {"readers", "tokens", "certificates", NULL};

	self->readers = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
					      g_object_unref);
	self->tokens = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
					     g_object_unref);
	self->certificates = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref,
						   g_object_unref);
	self->exporter = tw_exporter_new(TW_DBUS_PATH, collections, tw_daemon_visible_cb, self);
	self->manager = tw_dbus_manager_skeleton_new();
	tw_dbus_manager_set_version(self->manager, PACKAGE_VERSION);
	g_signal_connect(self->manager, "handle-refresh", G_CALLBACK(tw_daemon_handle_refresh_cb),
			 self);
	g_signal_connect(self->manager, "handle-forget", G_CALLBACK(tw_daemon_handle_forget_cb),
			 self);
	g_signal_connect(self->manager, "handle-reload-config",
			 G_CALLBACK(tw_daemon_handle_reload_config_cb), self);
}

static void
tw_daemon_class_init(TwDaemonClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_daemon_dispose;

	/**
	 * TwDaemon::finished:
	 * @exit_code: what the process should exit with
	 *
	 * The daemon cannot go on (name lost, bus gone, start-up failed).
	 */
	signals[SIGNAL_FINISHED] =
		g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

TwDaemon *
tw_daemon_new(TwEngine *engine, GBusType bus_type, gboolean replace)
{
	TwDaemon *self;
	TwTokenSet *set;

	g_return_val_if_fail(TW_IS_ENGINE(engine), NULL);

	self = g_object_new(TW_TYPE_DAEMON, NULL);
	self->engine = g_object_ref(engine);
	self->bus_type = bus_type;
	self->replace = replace;
	g_signal_connect(engine, "reader-added", G_CALLBACK(tw_daemon_reader_added_cb), self);
	g_signal_connect(engine, "reader-removed", G_CALLBACK(tw_daemon_reader_removed_cb), self);
	g_signal_connect(engine, "card-inserted", G_CALLBACK(tw_daemon_card_inserted_cb), self);
	g_signal_connect(engine, "card-removed", G_CALLBACK(tw_daemon_card_removed_cb), self);
	g_signal_connect(engine, "notify::pcsc-available", G_CALLBACK(tw_daemon_pcsc_available_cb),
			 self);
	g_signal_connect(engine, "expiry-warning", G_CALLBACK(tw_daemon_expiry_warning_cb), self);
	g_signal_connect(engine, "device-certification-ending",
			 G_CALLBACK(tw_daemon_device_ending_cb), self);
	g_signal_connect(engine, "certificate-renewed", G_CALLBACK(tw_daemon_renewed_cb), self);
	set = tw_engine_get_token_set(engine);
	g_signal_connect(set, "token-added", G_CALLBACK(tw_daemon_token_added_cb), self);
	g_signal_connect(set, "token-removed", G_CALLBACK(tw_daemon_token_removed_cb), self);
	g_signal_connect(set, "token-presence-changed", G_CALLBACK(tw_daemon_token_presence_cb),
			 self);
	g_signal_connect(set, "certificate-added", G_CALLBACK(tw_daemon_certificate_added_cb),
			 self);
	g_signal_connect(set, "certificate-removed", G_CALLBACK(tw_daemon_certificate_removed_cb),
			 self);
	return self;
}

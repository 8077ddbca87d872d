/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Between the token set and the state store: at start, what the store
 * remembers comes back as absent tokens and their certificates; from then
 * on, every token and certificate that changes is written (the store writes
 * in its own thread, debounced), and what is forgotten is removed.
 */
#define G_LOG_DOMAIN "TwKeeper"

#include "config.h"

#include <string.h>

#include "tw-keeper.h"

struct _TwKeeper {
	GObject parent_instance;
	TwTokenSet *set;
	TwStore *store;
	GHashTable *dirty_tokens; /* TwToken → itself */
	GHashTable *dirty_certs;  /* TwCertificate → itself */
	guint save_id;
};

G_DEFINE_TYPE(TwKeeper, tw_keeper, G_TYPE_OBJECT)

static TwStoredToken *
tw_keeper_stored_token(TwToken *token)
{
	TwStoredToken *s = tw_stored_token_new(tw_token_get_id(token));
	GPtrArray *ids = tw_token_get_certificate_ids(token);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	g_free(s->label);
	s->label = g_strdup(tw_token_get_label(token));
	g_free(s->manufacturer);
	s->manufacturer = g_strdup(tw_token_get_manufacturer(token));
	g_free(s->model);
	s->model = g_strdup(tw_token_get_model(token));
	g_free(s->serial);
	s->serial = g_strdup(tw_token_get_serial(token));
	g_free(s->module);
	s->module = g_strdup(tw_token_get_module(token));
	g_free(s->reader);
	s->reader = g_strdup(tw_token_get_reader_name(token));
	g_free(s->atr);
	s->atr = g_strdup(tw_token_get_atr(token));
	s->first_seen = tw_token_get_first_seen(token);
	s->last_seen = tw_token_get_last_seen(token);
	s->flags = tw_token_get_flags(token);
	s->total_memory = tw_token_get_total_memory(token);
	s->free_memory = tw_token_get_free_memory(token);
	s->unpaired_keys = tw_token_get_unpaired_keys(token);
	for (guint i = 0; i < ids->len; i++)
		g_strv_builder_add(builder, g_ptr_array_index(ids, i));
	g_strfreev(s->certificates);
	s->certificates = g_strv_builder_end(builder);
	g_strfreev(s->device_warnings);
	s->device_warnings = tw_token_get_device_warned(token);
	g_strfreev(s->owners);
	s->owners = g_new0(gchar *, tw_token_get_owners(token)->len + 1);
	for (guint i = 0; i < tw_token_get_owners(token)->len; i++)
		s->owners[i] = g_strdup_printf(
			"%u", g_array_index(tw_token_get_owners(token), guint32, i));
	return s;
}

static TwStoredCertificate *
tw_keeper_stored_certificate(TwCertificate *cert)
{
	TwStoredCertificate *s = tw_stored_certificate_new(tw_certificate_get_id(cert));

	g_clear_pointer(&s->der, g_bytes_unref);
	s->der = g_bytes_ref(tw_certificate_get_info(cert)->der);
	g_free(s->token);
	s->token = g_strdup(tw_certificate_get_token_id(cert));
	g_free(s->label);
	s->label = g_strdup(tw_certificate_get_label(cert));
	g_free(s->ckaid);
	s->ckaid = g_strdup(tw_certificate_get_ckaid(cert));
	g_strfreev(s->warnings);
	s->warnings = tw_certificate_get_warned(cert);
	g_free(s->superseded_by);
	s->superseded_by = g_strdup(tw_certificate_get_superseded_by(cert));
	return s;
}

static gboolean
tw_keeper_save_cb(gpointer user_data)
{
	TwKeeper *self = TW_KEEPER(user_data);
	GHashTableIter iter;
	gpointer key;

	self->save_id = 0;
	g_hash_table_iter_init(&iter, self->dirty_certs);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		g_autoptr(TwStoredCertificate) s = tw_keeper_stored_certificate(key);

		tw_store_put_certificate(self->store, s);
	}
	g_hash_table_remove_all(self->dirty_certs);
	g_hash_table_iter_init(&iter, self->dirty_tokens);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		g_autoptr(TwStoredToken) s = tw_keeper_stored_token(key);

		tw_store_put_token(self->store, s);
	}
	g_hash_table_remove_all(self->dirty_tokens);
	return G_SOURCE_REMOVE;
}

/* many changes in one turn of the main loop make one save */
static void
tw_keeper_schedule(TwKeeper *self)
{
	if (self->save_id == 0)
		self->save_id = g_idle_add(tw_keeper_save_cb, self);
}

static void
tw_keeper_token_changed_cb(TwToken *token, gpointer user_data)
{
	TwKeeper *self = TW_KEEPER(user_data);

	g_hash_table_replace(self->dirty_tokens, g_object_ref(token), NULL);
	tw_keeper_schedule(self);
}

static void
tw_keeper_certificate_changed_cb(TwCertificate *cert, gpointer user_data)
{
	TwKeeper *self = TW_KEEPER(user_data);

	g_hash_table_replace(self->dirty_certs, g_object_ref(cert), NULL);
	tw_keeper_schedule(self);
}

static void
tw_keeper_token_added_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	g_signal_connect_object(token, "changed", G_CALLBACK(tw_keeper_token_changed_cb), user_data,
				0);
	tw_keeper_token_changed_cb(token, user_data);
}

static void
tw_keeper_certificate_added_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	g_signal_connect_object(cert, "changed", G_CALLBACK(tw_keeper_certificate_changed_cb),
				user_data, 0);
	tw_keeper_certificate_changed_cb(cert, user_data);
}

static void
tw_keeper_token_removed_cb(TwTokenSet *set, TwToken *token, gpointer user_data)
{
	TwKeeper *self = TW_KEEPER(user_data);

	g_signal_handlers_disconnect_by_data(token, self);
	g_hash_table_remove(self->dirty_tokens, token);
	tw_store_remove_token(self->store, tw_token_get_id(token));
}

static void
tw_keeper_certificate_removed_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	TwKeeper *self = TW_KEEPER(user_data);

	g_signal_handlers_disconnect_by_data(cert, self);
	g_hash_table_remove(self->dirty_certs, cert);
	tw_store_remove_certificate(self->store, tw_certificate_get_id(cert));
}

/* Parsing many certificates takes a while (0.13 ms each here): the state is
 * parsed on every core at once. */
typedef struct {
	GPtrArray *certs;  /* TwStoredCertificate */
	GPtrArray *parsed; /* TwCertInfo, in the same order */
	guint from;
	guint to;
} TwKeeperSlice;

static gpointer
tw_keeper_parse_slice(gpointer data)
{
	TwKeeperSlice *slice = data;

	for (guint i = slice->from; i < slice->to; i++) {
		const TwStoredCertificate *s = g_ptr_array_index(slice->certs, i);

		slice->parsed->pdata[i] = tw_cert_info_parse(s->der);
	}
	return NULL;
}

static GPtrArray *
tw_keeper_parse_all(GPtrArray *certs)
{
	guint n_threads = certs->len < 64 ? 1 : CLAMP(g_get_num_processors(), 1, 8);
	GPtrArray *parsed = g_ptr_array_new_full(certs->len, (GDestroyNotify)tw_cert_info_free);
	g_autofree TwKeeperSlice *slices = g_new0(TwKeeperSlice, n_threads);
	g_autofree GThread **threads = g_new0(GThread *, n_threads);

	g_ptr_array_set_size(parsed, certs->len);
	for (guint t = 0; t < n_threads; t++) {
		slices[t].certs = certs;
		slices[t].parsed = parsed;
		slices[t].from = certs->len * t / n_threads;
		slices[t].to = certs->len * (t + 1) / n_threads;
		/* the last slice here, the others in threads of their own */
		if (t + 1 < n_threads)
			threads[t] = g_thread_try_new("tw-parse", tw_keeper_parse_slice, &slices[t],
						      NULL);
	}
	tw_keeper_parse_slice(&slices[n_threads - 1]);
	for (guint t = 0; t + 1 < n_threads; t++) {
		if (threads[t] != NULL)
			g_thread_join(threads[t]);
		else
			tw_keeper_parse_slice(&slices[t]); /* no thread: here */
	}
	return parsed;
}

/* @info: (transfer full): @s parsed */
static TwCertificate *
tw_keeper_restore_certificate(const TwStoredCertificate *s, TwCertInfo *info)
{
	TwCertificate *cert;
	g_autoptr(GBytes) ckaid = NULL;
	gsize len = strlen(s->ckaid) / 2;
	guint8 *bytes = NULL;

	/* the DER is the truth: a record whose id does not match it is not it;
	 * but a certificate that could not be read (no DER) has an id of its
	 * own (tw-token-set.c), which the empty value cannot confirm */
	if (info->der != NULL && g_bytes_get_size(info->der) > 0) {
		if (g_strcmp0(info->id, s->id) != 0) {
			g_warning("state: certificate %s does not hold the certificate it "
				  "names; dropped",
				  s->id);
			tw_cert_info_free(info);
			return NULL;
		}
	} else {
		g_free(info->id);
		info->id = g_strdup(s->id);
	}
	bytes = g_new0(guint8, len + 1);
	for (gsize i = 0; i < len; i++)
		bytes[i] = (guint8)((g_ascii_xdigit_value(s->ckaid[2 * i]) << 4) |
				    g_ascii_xdigit_value(s->ckaid[2 * i + 1]));
	ckaid = g_bytes_new_take(bytes, len);
	cert = tw_certificate_new(info);
	tw_certificate_set_seen(cert, s->token, s->label, ckaid);
	tw_certificate_set_warned(cert, (const gchar *const *)s->warnings);
	if (s->superseded_by != NULL)
		tw_certificate_set_superseded_by(cert, s->superseded_by);
	return cert;
}

/**
 * tw_keeper_restore:
 *
 * Loads the store into the token set, as absent tokens with their
 * certificates, and keeps the store up to date from then on. Call once,
 * before the first read.
 *
 * Returns: the number of tokens restored
 */
guint
tw_keeper_restore(TwKeeper *self)
{
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GHashTable) by_id =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_object_unref);
	g_autoptr(GError) error = NULL;
	guint restored = 0;

	g_return_val_if_fail(TW_IS_KEEPER(self), 0);
	if (!tw_store_load(self->store, &tokens, &certs, &error)) {
		g_warning("state not loaded: %s; starting empty", error->message);
	} else {
		g_autoptr(GPtrArray) parsed = tw_keeper_parse_all(certs);

		tw_token_set_set_restoring(self->set, TRUE);

		for (guint i = 0; i < certs->len; i++) {
			TwCertificate *cert = tw_keeper_restore_certificate(
				g_ptr_array_index(certs, i), g_steal_pointer(&parsed->pdata[i]));

			if (cert != NULL)
				g_hash_table_insert(by_id, (gpointer)tw_certificate_get_id(cert),
						    cert);
		}
		for (guint i = 0; i < tokens->len; i++) {
			const TwStoredToken *s = g_ptr_array_index(tokens, i);
			g_autoptr(TwToken) token = tw_token_new(s->id);
			g_autoptr(GPtrArray) mine = g_ptr_array_new();
			g_autoptr(GStrvBuilder) held = g_strv_builder_new();
			g_auto(GStrv) held_ids = NULL;

			for (guint j = 0; s->certificates[j] != NULL; j++) {
				TwCertificate *cert =
					g_hash_table_lookup(by_id, s->certificates[j]);

				if (cert == NULL)
					continue; /* its record was broken: moved aside */
				g_ptr_array_add(mine, cert);
				g_strv_builder_add(held, s->certificates[j]);
			}
			held_ids = g_strv_builder_end(held);
			tw_token_restore(token, s->label, s->manufacturer, s->model, s->serial,
					 s->module, s->reader, s->first_seen, s->last_seen,
					 s->flags, s->total_memory, s->free_memory,
					 s->unpaired_keys, (const gchar *const *)held_ids);
			tw_token_set_atr(token, s->atr);
			tw_token_set_device_warned(token, (const gchar *const *)s->device_warnings);
			{
				g_autoptr(GArray) owners =
					g_array_new(FALSE, FALSE, sizeof(guint32));

				for (guint j = 0; s->owners[j] != NULL; j++) {
					guint32 uid =
						(guint32)g_ascii_strtoull(s->owners[j], NULL, 10);

					g_array_append_val(owners, uid);
				}
				tw_token_add_owners(token, owners);
			}
			tw_token_set_restore(self->set, token, s->reader, mine);
			restored++;
		}
		tw_token_set_set_restoring(self->set, FALSE);
	}
	g_info("%u tokens and %u certificates remembered", restored,
	       tw_token_set_count_certificates(self->set));
	/* from now on, keep the store up to date */
	g_signal_connect(self->set, "token-added", G_CALLBACK(tw_keeper_token_added_cb), self);
	g_signal_connect(self->set, "token-removed", G_CALLBACK(tw_keeper_token_removed_cb), self);
	g_signal_connect(self->set, "certificate-added", G_CALLBACK(tw_keeper_certificate_added_cb),
			 self);
	g_signal_connect(self->set, "certificate-removed",
			 G_CALLBACK(tw_keeper_certificate_removed_cb), self);
	{
		g_autoptr(GPtrArray) all_tokens = tw_token_set_get_tokens(self->set);
		g_autoptr(GPtrArray) all_certs = tw_token_set_get_certificates(self->set);

		for (guint i = 0; i < all_tokens->len; i++)
			g_signal_connect_object(g_ptr_array_index(all_tokens, i), "changed",
						G_CALLBACK(tw_keeper_token_changed_cb), self, 0);
		for (guint i = 0; i < all_certs->len; i++)
			g_signal_connect_object(g_ptr_array_index(all_certs, i), "changed",
						G_CALLBACK(tw_keeper_certificate_changed_cb), self,
						0);
	}
	return restored;
}

/* at shutdown: what changed is queued, and the queue written (bounded) */
void
tw_keeper_flush(TwKeeper *self, guint timeout_ms)
{
	g_return_if_fail(TW_IS_KEEPER(self));
	if (self->save_id != 0) {
		g_source_remove(self->save_id);
		tw_keeper_save_cb(self);
	}
	if (!tw_store_flush(self->store, timeout_ms))
		g_warning("the state could not all be written before stopping");
}

static void
tw_keeper_dispose(GObject *object)
{
	TwKeeper *self = TW_KEEPER(object);

	g_clear_handle_id(&self->save_id, g_source_remove);
	if (self->set != NULL)
		g_signal_handlers_disconnect_by_data(self->set, self);
	g_clear_object(&self->set);
	g_clear_object(&self->store);
	g_clear_pointer(&self->dirty_tokens, g_hash_table_unref);
	g_clear_pointer(&self->dirty_certs, g_hash_table_unref);
	G_OBJECT_CLASS(tw_keeper_parent_class)->dispose(object);
}

static void
tw_keeper_init(TwKeeper *self)
{
	self->dirty_tokens =
		g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, NULL);
	self->dirty_certs =
		g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, NULL);
}

static void
tw_keeper_class_init(TwKeeperClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = tw_keeper_dispose;
}

TwKeeper *
tw_keeper_new(TwTokenSet *set, TwStore *store)
{
	TwKeeper *self = g_object_new(TW_TYPE_KEEPER, NULL);

	self->set = g_object_ref(set);
	self->store = g_object_ref(store);
	return self;
}

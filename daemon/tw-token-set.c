/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The tokens and certificates the engine shows, and how a read changes
 * them. No threads and no PKCS#11 calls here: reads happen elsewhere and
 * come in as TwTokenRead.
 *
 * Every token belongs to a scope: the name of the PC/SC reader it was read
 * in, or "" for tokens of modules with no reader (SoftHSM). A read replaces
 * what one scope holds: tokens it does not find any more are marked absent
 * (they stay known, with their certificates), new ones come, known ones are
 * updated and marked present. Only tw_token_set_forget() drops a token. A token found in another
 * scope than before moves there (a card moved between readers, or a module read before pcscd named
 * its readers) without going and coming back.
 *
 * A certificate is one object per SHA-256, whatever number of tokens hold
 * it; it goes when no token holds it any more. Signals come in an order a
 * client can rely on: certificates are added before the token that lists
 * them, and removed after it.
 */
#define G_LOG_DOMAIN "TwTokenSet"

#include "config.h"

#include <string.h>

#include "tw-token-set.h"

struct _TwTokenSet {
	GObject parent_instance;
	GHashTable *tokens;	  /* id → TwToken */
	GHashTable *scopes;	  /* token id → scope */
	GHashTable *certificates; /* id → TwCertificate */
	GPtrArray *order;	  /* token ids in the order they came */
	gboolean restoring;	  /* what is added comes from the state, not a read */
};

G_DEFINE_TYPE(TwTokenSet, tw_token_set, G_TYPE_OBJECT)

enum {
	SIGNAL_TOKEN_ADDED,
	SIGNAL_TOKEN_REMOVED,
	SIGNAL_TOKEN_PRESENCE,
	SIGNAL_CERTIFICATE_ADDED,
	SIGNAL_CERTIFICATE_REMOVED,
	N_SIGNALS
};
static guint signals[N_SIGNALS] = {0};

static void
tw_cert_info_array_free(gpointer p)
{
	if (p != NULL)
		g_ptr_array_unref(p);
}

/* A certificate object whose value could not be read parses as the empty
 * certificate, whose id (the hash of nothing) every such object would share:
 * it gets an id of its own instead, from the token it is on and its CKA_ID
 * and label, so that two unreadable certificates stay two objects. */
static void
tw_token_read_unreadable_id(TwCertInfo *info, const TwP11Token *token, const TwP11Object *obj)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	const gchar *parts[] = {"unreadable",  token->manufacturer, token->model,
				token->serial, token->label,	    obj->label};
	gsize len = 0;
	const guint8 *id = obj->id != NULL ? g_bytes_get_data(obj->id, &len) : NULL;

	for (guint i = 0; i < G_N_ELEMENTS(parts); i++)
		g_checksum_update(sum, (const guchar *)(parts[i] != NULL ? parts[i] : ""),
				  (gssize)strlen(parts[i] != NULL ? parts[i] : "") + 1);
	if (id != NULL && len > 0)
		g_checksum_update(sum, id, (gssize)len);
	g_free(info->id);
	info->id = g_strndup(g_checksum_get_string(sum), 16);
}

/**
 * tw_token_read_new:
 * @tokens: (transfer full) (element-type TwP11Token): what tw-p11 read
 *
 * Parses every certificate value. Slow for many certificates: call it in a
 * worker thread.
 */
TwTokenRead *
tw_token_read_new(GPtrArray *tokens)
{
	TwTokenRead *read = g_new0(TwTokenRead, 1);

	for (guint i = tokens->len; i > 0; i--) {
		if (!tw_token_p11_is_initialized(g_ptr_array_index(tokens, i - 1)))
			g_ptr_array_remove_index(tokens, i - 1);
	}
	read->tokens = tokens;
	read->certs = g_ptr_array_new_with_free_func(tw_cert_info_array_free);
	for (guint i = 0; i < tokens->len; i++) {
		const TwP11Token *token = g_ptr_array_index(tokens, i);
		GPtrArray *infos =
			g_ptr_array_new_with_free_func((GDestroyNotify)tw_cert_info_free);

		for (guint j = 0; token->certificates != NULL && j < token->certificates->len;
		     j++) {
			const TwP11Object *obj = g_ptr_array_index(token->certificates, j);
			g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
			TwCertInfo *info =
				tw_cert_info_parse(obj->value != NULL ? obj->value : empty);

			if (obj->value == NULL || g_bytes_get_size(obj->value) == 0)
				tw_token_read_unreadable_id(info, token, obj);
			g_ptr_array_add(infos, info);
		}
		g_ptr_array_add(read->certs, infos);
	}
	return read;
}

void
tw_token_read_free(TwTokenRead *read)
{
	if (read == NULL)
		return;
	g_ptr_array_unref(read->tokens);
	g_ptr_array_unref(read->certs);
	g_free(read);
}

/**
 * tw_token_read_split:
 * @read: (transfer full): a read of every slot
 *
 * Returns: (transfer full): slot description → TwTokenRead of the tokens in
 * slots so described
 */
GHashTable *
tw_token_read_split(TwTokenRead *read)
{
	GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						   (GDestroyNotify)tw_token_read_free);

	for (guint i = 0; i < read->tokens->len; i++) {
		TwP11Token *token = g_ptr_array_index(read->tokens, i);
		TwTokenRead *group = g_hash_table_lookup(groups, token->slot_description);

		if (group == NULL) {
			group = g_new0(TwTokenRead, 1);
			group->tokens =
				g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
			group->certs = g_ptr_array_new_with_free_func(tw_cert_info_array_free);
			g_hash_table_insert(groups, g_strdup(token->slot_description), group);
		}
		g_ptr_array_add(group->tokens, g_steal_pointer(&read->tokens->pdata[i]));
		g_ptr_array_add(group->certs, g_steal_pointer(&read->certs->pdata[i]));
	}
	/* every element moved to a group */
	g_ptr_array_set_free_func(read->tokens, NULL);
	g_ptr_array_set_free_func(read->certs, NULL);
	tw_token_read_free(read);
	return groups;
}

/* an id for each token of a read, unique within it: two areas of one device
 * may share manufacturer, model and serial, and then differ in the label */
static gchar *
tw_token_set_id_for(const TwP11Token *token, GHashTable *used)
{
	gchar *id = tw_token_id_for(token->manufacturer, token->model, token->serial);

	if (g_hash_table_contains(used, id)) {
		g_autofree gchar *more =
			g_strdup_printf("%s\n%s\n%lu", token->serial, token->label, token->slot_id);

		g_free(id);
		id = tw_token_id_for(token->manufacturer, token->model, more);
	}
	g_hash_table_add(used, g_strdup(id));
	return id;
}

/* certificates no token holds any more go, after the tokens that held them */
static void
tw_token_set_collect_certificates(TwTokenSet *self)
{
	g_autoptr(GHashTable) held = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->tokens);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		GPtrArray *ids = tw_token_get_certificate_ids(value);

		for (guint i = 0; i < ids->len; i++)
			g_hash_table_add(held, g_ptr_array_index(ids, i));
	}
	g_hash_table_iter_init(&iter, self->certificates);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (!g_hash_table_contains(held, tw_certificate_get_id(value))) {
			g_ptr_array_add(gone, g_object_ref(value));
			g_hash_table_iter_remove(&iter);
		}
	}
	for (guint i = 0; i < gone->len; i++)
		g_signal_emit(self, signals[SIGNAL_CERTIFICATE_REMOVED], 0,
			      g_ptr_array_index(gone, i));
}

static void
tw_token_set_remove_token(TwTokenSet *self, const gchar *id)
{
	g_autoptr(TwToken) token = g_object_ref(g_hash_table_lookup(self->tokens, id));
	g_autofree gchar *key = g_strdup(id);

	g_hash_table_remove(self->tokens, key);
	g_hash_table_remove(self->scopes, key);
	for (guint i = 0; i < self->order->len; i++) {
		if (g_strcmp0(g_ptr_array_index(self->order, i), key) == 0) {
			g_ptr_array_remove_index(self->order, i);
			break;
		}
	}
	g_info("token removed: %s (%s)", tw_token_get_label(token), key);
	g_signal_emit(self, signals[SIGNAL_TOKEN_REMOVED], 0, token);
}

/* the certificates of one token of a read: new ones made, all told where
 * they were seen; returns their ids in order */
static GPtrArray *
tw_token_set_take_certificates(TwTokenSet *self,
			       const gchar *token_id,
			       const TwP11Token *p11,
			       GPtrArray *infos,
			       gint64 now)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);

	for (guint j = 0; j < infos->len; j++) {
		TwCertInfo *info = g_ptr_array_index(infos, j);
		const TwP11Object *obj = g_ptr_array_index(p11->certificates, j);
		TwCertificate *cert = g_hash_table_lookup(self->certificates, info->id);
		gboolean is_new = cert == NULL;

		if (is_new) {
			/* the certificate takes the parsed info over from the read */
			cert = tw_certificate_new(g_steal_pointer(&infos->pdata[j]));
			g_hash_table_insert(self->certificates, g_strdup(info->id), cert);
		}
		tw_certificate_set_seen(cert, token_id, obj->label, obj->id);
		tw_certificate_update_time(cert, now);
		if (is_new) {
			g_info("certificate added: %s (%s)", info->subject, info->id);
			g_signal_emit(self, signals[SIGNAL_CERTIFICATE_ADDED], 0, cert);
		}
		/* the same certificate twice on a token counts once */
		if (!g_ptr_array_find_with_equal_func(ids, info->id, g_str_equal, NULL))
			g_ptr_array_add(ids, g_strdup(info->id));
	}
	return ids;
}

/**
 * tw_token_set_reconcile:
 * @scope: the reader name the read was for, "" for tokens without a reader
 * @read: what the read found in that scope
 * @now: Unix seconds
 *
 * Makes @scope hold exactly what @read found.
 */
void
tw_token_set_reconcile(TwTokenSet *self, const gchar *scope, TwTokenRead *read, gint64 now)
{
	g_autoptr(GHashTable) found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_object_unref);

	g_return_if_fail(TW_IS_TOKEN_SET(self));
	g_return_if_fail(scope != NULL);

	for (guint i = 0; i < read->tokens->len; i++) {
		const TwP11Token *p11 = g_ptr_array_index(read->tokens, i);
		g_autofree gchar *id = tw_token_set_id_for(p11, found);
		g_autoptr(GPtrArray) cert_ids = tw_token_set_take_certificates(
			self, id, p11, g_ptr_array_index(read->certs, i), now);
		TwToken *token = g_hash_table_lookup(self->tokens, id);

		if (token == NULL) {
			token = tw_token_new(id);
			tw_token_set_present(token, TRUE);
			tw_token_update(token, p11, cert_ids, now);
			g_hash_table_insert(self->tokens, g_strdup(id), token);
			g_hash_table_insert(self->scopes, g_strdup(id), g_strdup(scope));
			g_ptr_array_add(self->order, g_strdup(id));
			g_info("token added: %s (%s)", tw_token_get_label(token), id);
			g_signal_emit(self, signals[SIGNAL_TOKEN_ADDED], 0, token);
			g_signal_emit(self, signals[SIGNAL_TOKEN_PRESENCE], 0, token);
		} else {
			gboolean arrived = !tw_token_get_present(token);

			g_hash_table_insert(self->scopes, g_strdup(id), g_strdup(scope));
			tw_token_update(token, p11, cert_ids, now);
			if (arrived) {
				tw_token_set_present(token, TRUE);
				g_info("token present again: %s (%s)", tw_token_get_label(token),
				       id);
				g_signal_emit(self, signals[SIGNAL_TOKEN_PRESENCE], 0, token);
			}
		}
	}

	/* what the scope held and the read did not find is no longer there,
	 * but it is remembered */
	for (guint i = 0; i < self->order->len; i++) {
		const gchar *id = g_ptr_array_index(self->order, i);
		TwToken *token = g_hash_table_lookup(self->tokens, id);

		if (g_strcmp0(g_hash_table_lookup(self->scopes, id), scope) == 0 &&
		    !g_hash_table_contains(found, id) && tw_token_get_present(token))
			g_ptr_array_add(gone, g_object_ref(token));
	}
	for (guint i = 0; i < gone->len; i++) {
		TwToken *token = g_ptr_array_index(gone, i);

		tw_token_set_present(token, FALSE);
		g_info("token gone: %s (%s)", tw_token_get_label(token), tw_token_get_id(token));
		g_signal_emit(self, signals[SIGNAL_TOKEN_PRESENCE], 0, token);
	}
	tw_token_set_collect_certificates(self);
}

/* the card went, or its reader: its tokens are no longer there */
void
tw_token_set_drop_scope(TwTokenSet *self, const gchar *scope)
{
	g_autoptr(TwTokenRead) read = tw_token_read_new(
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free));

	g_return_if_fail(TW_IS_TOKEN_SET(self));
	tw_token_set_reconcile(self, scope, read, 0);
}

/**
 * tw_token_set_forget:
 * @id: a token id
 *
 * Drops the token, and its certificates that no other token holds.
 *
 * Returns: FALSE if there is no such token
 */
gboolean
tw_token_set_forget(TwTokenSet *self, const gchar *id)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), FALSE);
	if (!g_hash_table_contains(self->tokens, id))
		return FALSE;
	tw_token_set_remove_token(self, id);
	tw_token_set_collect_certificates(self);
	return TRUE;
}

/* a read of @scope failed as a whole: say so on the tokens it holds */
void
tw_token_set_mark_error(TwTokenSet *self, const gchar *scope, const gchar *error)
{
	g_return_if_fail(TW_IS_TOKEN_SET(self));
	for (guint i = 0; i < self->order->len; i++) {
		const gchar *id = g_ptr_array_index(self->order, i);

		if (g_strcmp0(g_hash_table_lookup(self->scopes, id), scope) == 0)
			tw_token_set_error(g_hash_table_lookup(self->tokens, id), error);
	}
}

/* days left and status move with the clock */
void
tw_token_set_update_time(TwTokenSet *self, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	g_return_if_fail(TW_IS_TOKEN_SET(self));
	g_hash_table_iter_init(&iter, self->certificates);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		tw_certificate_update_time(value, now);
}

TwToken *
tw_token_set_get_token(TwTokenSet *self, const gchar *id)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), NULL);
	return g_hash_table_lookup(self->tokens, id);
}

TwCertificate *
tw_token_set_get_certificate(TwTokenSet *self, const gchar *id)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), NULL);
	return g_hash_table_lookup(self->certificates, id);
}

/* Returns: (transfer container) (element-type TwToken): in the order they came */
GPtrArray *
tw_token_set_get_tokens(TwTokenSet *self)
{
	return tw_token_set_get_tokens_in(self, NULL);
}

/**
 * tw_token_set_get_tokens_in:
 * @scope: (nullable): a reader name, "" for tokens without a reader, NULL for all
 *
 * Returns: (transfer container) (element-type TwToken)
 */
GPtrArray *
tw_token_set_get_tokens_in(TwTokenSet *self, const gchar *scope)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_object_unref);

	g_return_val_if_fail(TW_IS_TOKEN_SET(self), out);
	for (guint i = 0; i < self->order->len; i++) {
		const gchar *id = g_ptr_array_index(self->order, i);

		if (scope == NULL || g_strcmp0(g_hash_table_lookup(self->scopes, id), scope) == 0)
			g_ptr_array_add(out, g_object_ref(g_hash_table_lookup(self->tokens, id)));
	}
	return out;
}

/* Returns: (transfer container) (element-type TwCertificate) */
GPtrArray *
tw_token_set_get_certificates(TwTokenSet *self)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer value;

	g_return_val_if_fail(TW_IS_TOKEN_SET(self), out);
	g_hash_table_iter_init(&iter, self->certificates);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(out, g_object_ref(value));
	return out;
}

/**
 * tw_token_set_restore:
 * @token: (transfer none): a token remembered from the state, absent
 * @scope: the reader it was last read in, "" if none
 * @certificates: (element-type TwCertificate): its certificates not known yet
 *
 * Adds what the state remembered, before any read. Emits token-added and
 * certificate-added, not token-presence-changed: the token is not there.
 */
void
tw_token_set_restore(TwTokenSet *self, TwToken *token, const gchar *scope, GPtrArray *certificates)
{
	g_return_if_fail(TW_IS_TOKEN_SET(self));
	for (guint i = 0; certificates != NULL && i < certificates->len; i++) {
		TwCertificate *cert = g_ptr_array_index(certificates, i);

		if (g_hash_table_contains(self->certificates, tw_certificate_get_id(cert)))
			continue;
		g_hash_table_insert(self->certificates, g_strdup(tw_certificate_get_id(cert)),
				    g_object_ref(cert));
		g_signal_emit(self, signals[SIGNAL_CERTIFICATE_ADDED], 0, cert);
	}
	if (g_hash_table_contains(self->tokens, tw_token_get_id(token)))
		return;
	g_hash_table_insert(self->tokens, g_strdup(tw_token_get_id(token)), g_object_ref(token));
	g_hash_table_insert(self->scopes, g_strdup(tw_token_get_id(token)), g_strdup(scope));
	g_ptr_array_add(self->order, g_strdup(tw_token_get_id(token)));
	g_signal_emit(self, signals[SIGNAL_TOKEN_ADDED], 0, token);
}

/* While restoring, what is added is remembered, not news: clients see the
 * objects, no "added" announcement. */
void
tw_token_set_set_restoring(TwTokenSet *self, gboolean restoring)
{
	g_return_if_fail(TW_IS_TOKEN_SET(self));
	self->restoring = restoring;
}

gboolean
tw_token_set_get_restoring(TwTokenSet *self)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), FALSE);
	return self->restoring;
}

guint
tw_token_set_count_certificates(TwTokenSet *self)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), 0);
	return g_hash_table_size(self->certificates);
}

/* the reader name the token was read in, "" if none */
const gchar *
tw_token_set_get_scope(TwTokenSet *self, TwToken *token)
{
	g_return_val_if_fail(TW_IS_TOKEN_SET(self), NULL);
	return g_hash_table_lookup(self->scopes, tw_token_get_id(token));
}

static void
tw_token_set_dispose(GObject *object)
{
	TwTokenSet *self = TW_TOKEN_SET(object);

	g_clear_pointer(&self->tokens, g_hash_table_unref);
	g_clear_pointer(&self->scopes, g_hash_table_unref);
	g_clear_pointer(&self->certificates, g_hash_table_unref);
	g_clear_pointer(&self->order, g_ptr_array_unref);
	G_OBJECT_CLASS(tw_token_set_parent_class)->dispose(object);
}

static void
tw_token_set_init(TwTokenSet *self)
{
	self->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->scopes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->certificates = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->order = g_ptr_array_new_with_free_func(g_free);
}

static void
tw_token_set_class_init(TwTokenSetClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_token_set_dispose;
	signals[SIGNAL_TOKEN_ADDED] =
		g_signal_new("token-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_TOKEN);
	/* the token came or went; it stays known either way */
	signals[SIGNAL_TOKEN_PRESENCE] =
		g_signal_new("token-presence-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
			     0, NULL, NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_TOKEN);
	/* the token is forgotten */
	signals[SIGNAL_TOKEN_REMOVED] =
		g_signal_new("token-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_TOKEN);
	signals[SIGNAL_CERTIFICATE_ADDED] =
		g_signal_new("certificate-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
			     NULL, NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_CERTIFICATE);
	signals[SIGNAL_CERTIFICATE_REMOVED] =
		g_signal_new("certificate-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
			     NULL, NULL, NULL, G_TYPE_NONE, 1, TW_TYPE_CERTIFICATE);
}

TwTokenSet *
tw_token_set_new(void)
{
	return g_object_new(TW_TYPE_TOKEN_SET, NULL);
}

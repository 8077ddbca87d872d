/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The clients of the daemon, by unique bus name: who each one is (its uid,
 * from the bus) and whether polkit lets it read the tokens present
 * (io.github.tokenwatch.read-tokens). A client is looked up once, on its
 * first call, asynchronously; calls that come while the lookup runs wait
 * for the same answer. The answer is kept until the client leaves the bus
 * (NameOwnerChanged), and polkit is asked again for every client when it
 * says that authorisations changed (a session became active or inactive).
 * Nothing here blocks the main loop.
 */
#define G_LOG_DOMAIN "TwPeers"

#include "config.h"

#include <polkit/polkit.h>

#include "tw-auth.h"
#include "tw-peers.h"

typedef struct {
	TwPeer peer; /* first: a TwPeerEntry* is a TwPeer* */
	gboolean resolved;
	GPtrArray *waiting; /* GTask */
	guint generation;   /* of polkit answers, to drop stale ones */
} TwPeerEntry;

struct _TwPeers {
	GObject parent_instance;
	GDBusConnection *connection;
	guint32 own_uid;
	GHashTable *entries; /* unique name → TwPeerEntry */
	guint name_owner_id;
	PolkitAuthority *authority;
	GCancellable *cancellable;
};

G_DEFINE_TYPE(TwPeers, tw_peers, G_TYPE_OBJECT)

enum { SIGNAL_PEER_REMOVED, SIGNAL_PEER_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

static void
tw_peer_entry_free(TwPeerEntry *entry)
{
	g_free(entry->peer.name);
	g_ptr_array_unref(entry->waiting);
	g_free(entry);
}

/* answer every call that waited for @entry, with @error or the peer */
static void
tw_peers_answer(TwPeerEntry *entry, const GError *error)
{
	g_autoptr(GPtrArray) waiting = g_steal_pointer(&entry->waiting);

	entry->waiting = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < waiting->len; i++) {
		GTask *task = g_ptr_array_index(waiting, i);

		if (error != NULL)
			g_task_return_error(task, g_error_copy(error));
		else
			g_task_return_pointer(task, entry, NULL);
	}
}

static void
tw_peers_drop(TwPeers *self, const gchar *name, const GError *error)
{
	TwPeerEntry *entry = g_hash_table_lookup(self->entries, name);
	gboolean was_resolved;

	if (entry == NULL)
		return;
	was_resolved = entry->resolved;
	g_hash_table_steal(self->entries, name);
	tw_peers_answer(entry, error);
	if (was_resolved)
		g_signal_emit(self, signals[SIGNAL_PEER_REMOVED], 0, entry->peer.name);
	tw_peer_entry_free(entry);
}

/* the entry of @name, or NULL (also once disposed) */
static TwPeerEntry *
tw_peers_entry(TwPeers *self, const gchar *name)
{
	return self->entries != NULL ? g_hash_table_lookup(self->entries, name) : NULL;
}

typedef struct {
	TwPeers *self;
	gchar *name;
	guint generation;
	gboolean first; /* the lookup, not a later re-check */
} TwPeersCheck;

static void
tw_peers_check_free(TwPeersCheck *check)
{
	g_object_unref(check->self);
	g_free(check->name);
	g_free(check);
}

static void
tw_peers_read_checked_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwPeersCheck *check = user_data;
	TwPeers *self = check->self;
	TwPeerEntry *entry = tw_peers_entry(self, check->name);
	g_autoptr(GError) error = NULL;
	gboolean may_read = tw_auth_check_finish(res, &error);

	/* gone meanwhile, or asked again since */
	if (entry == NULL || entry->generation != check->generation) {
		tw_peers_check_free(check);
		return;
	}
	if (!may_read)
		g_debug("%s (uid %u) may not read the tokens present: %s", check->name,
			entry->peer.uid, error->message);
	if (check->first) {
		entry->peer.may_read = may_read;
		entry->resolved = TRUE;
		tw_peers_answer(entry, NULL);
	} else if (entry->peer.may_read != may_read) {
		entry->peer.may_read = may_read;
		g_info("%s (uid %u) %s read the tokens present now", check->name, entry->peer.uid,
		       may_read ? "may" : "may no longer");
		g_signal_emit(self, signals[SIGNAL_PEER_CHANGED], 0, check->name);
	}
	tw_peers_check_free(check);
}

static void
tw_peers_check_read(TwPeers *self, TwPeerEntry *entry, gboolean first)
{
	TwPeersCheck *check = g_new0(TwPeersCheck, 1);

	check->self = g_object_ref(self);
	check->name = g_strdup(entry->peer.name);
	check->generation = ++entry->generation;
	check->first = first;
	tw_auth_check_sender_async(entry->peer.name, entry->peer.uid, TW_AUTH_ACTION_READ_TOKENS,
				   FALSE, self->cancellable, tw_peers_read_checked_cb, check);
}

static void
tw_peers_uid_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	TwPeersCheck *check = user_data;
	TwPeers *self = check->self;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
		g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	TwPeerEntry *entry = tw_peers_entry(self, check->name);

	if (entry == NULL || entry->generation != check->generation) {
		tw_peers_check_free(check);
		return;
	}
	if (reply == NULL) {
		g_dbus_error_strip_remote_error(error);
		g_prefix_error(&error, "who %s is: ", check->name);
		tw_peers_drop(self, check->name, error);
		tw_peers_check_free(check);
		return;
	}
	g_variant_get(reply, "(u)", &entry->peer.uid);
	entry->peer.sees_all = entry->peer.uid == 0 || entry->peer.uid == self->own_uid;
	if (entry->peer.sees_all) {
		entry->resolved = TRUE;
		tw_peers_answer(entry, NULL);
	} else {
		tw_peers_check_read(self, entry, TRUE);
	}
	tw_peers_check_free(check);
}

/**
 * tw_peers_get_async:
 * @name: the unique bus name of a client (the sender of a call)
 *
 * Finds out who @name is, or answers at once when it is known.
 */
void
tw_peers_get_async(TwPeers *self,
		   const gchar *name,
		   GCancellable *cancellable,
		   GAsyncReadyCallback callback,
		   gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	TwPeerEntry *entry;
	TwPeersCheck *check;

	g_task_set_source_tag(task, tw_peers_get_async);
	if (name == NULL || !g_dbus_is_unique_name(name)) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
					"the caller has no unique bus name");
		return;
	}
	entry = g_hash_table_lookup(self->entries, name);
	if (entry != NULL && entry->resolved) {
		g_task_return_pointer(task, entry, NULL);
		return;
	}
	if (entry != NULL) {
		g_ptr_array_add(entry->waiting, g_steal_pointer(&task));
		return;
	}
	entry = g_new0(TwPeerEntry, 1);
	entry->peer.name = g_strdup(name);
	entry->waiting = g_ptr_array_new_with_free_func(g_object_unref);
	g_ptr_array_add(entry->waiting, g_steal_pointer(&task));
	g_hash_table_insert(self->entries, entry->peer.name, entry);

	check = g_new0(TwPeersCheck, 1);
	check->self = g_object_ref(self);
	check->name = g_strdup(name);
	check->generation = entry->generation;
	check->first = TRUE;
	g_dbus_connection_call(self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixUser",
			       g_variant_new("(s)", name), G_VARIANT_TYPE("(u)"),
			       G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, tw_peers_uid_cb,
			       check);
}

/* Returns: (transfer none): the peer, valid until it leaves the bus (the
 * "peer-removed" signal) or the next return to the main loop */
const TwPeer *
tw_peers_get_finish(TwPeers *self, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, self), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* the peer @name when it is known already, else NULL; never waits */
const TwPeer *
tw_peers_lookup(TwPeers *self, const gchar *name)
{
	TwPeerEntry *entry = name != NULL ? g_hash_table_lookup(self->entries, name) : NULL;

	return entry != NULL && entry->resolved ? &entry->peer : NULL;
}

/* Returns: (transfer container) (element-type TwPeer): the known peers */
GPtrArray *
tw_peers_get_all(TwPeers *self)
{
	GPtrArray *out = g_ptr_array_sized_new(g_hash_table_size(self->entries));
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->entries);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		TwPeerEntry *entry = value;

		if (entry->resolved)
			g_ptr_array_add(out, &entry->peer);
	}
	return out;
}

static void
tw_peers_name_owner_changed_cb(GDBusConnection *connection,
			       const gchar *sender,
			       const gchar *path,
			       const gchar *iface,
			       const gchar *member,
			       GVariant *params,
			       gpointer user_data)
{
	TwPeers *self = TW_PEERS(user_data);
	const gchar *name, *old_owner, *new_owner;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sss)")))
		return;
	g_variant_get(params, "(&s&s&s)", &name, &old_owner, &new_owner);
	if (name[0] == ':' && new_owner[0] == '\0') {
		g_autoptr(GError) error =
			g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED, "%s left the bus", name);

		tw_peers_drop(self, name, error);
	}
}

/* polkit's answers may have changed: ask again for everyone but root */
static void
tw_peers_authority_changed_cb(PolkitAuthority *authority, gpointer user_data)
{
	TwPeers *self = TW_PEERS(user_data);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->entries);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		TwPeerEntry *entry = value;

		if (entry->resolved && !entry->peer.sees_all)
			tw_peers_check_read(self, entry, FALSE);
	}
}

static void
tw_peers_authority_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwPeers) self = TW_PEERS(user_data);
	g_autoptr(GError) error = NULL;
	PolkitAuthority *authority = polkit_authority_get_finish(res, &error);

	if (authority == NULL) {
		g_debug("no polkit authority to follow: %s", error->message);
		return;
	}
	if (g_cancellable_is_cancelled(self->cancellable)) {
		g_object_unref(authority);
		return;
	}
	self->authority = authority;
	g_signal_connect_object(authority, "changed", G_CALLBACK(tw_peers_authority_changed_cb),
				self, 0);
}

static void
tw_peers_dispose(GObject *object)
{
	TwPeers *self = TW_PEERS(object);

	g_cancellable_cancel(self->cancellable);
	if (self->name_owner_id != 0) {
		g_dbus_connection_signal_unsubscribe(self->connection, self->name_owner_id);
		self->name_owner_id = 0;
	}
	if (self->entries != NULL) {
		g_autoptr(GError) error =
			g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "shutting down");
		GHashTableIter iter;
		gpointer value;

		g_hash_table_iter_init(&iter, self->entries);
		while (g_hash_table_iter_next(&iter, NULL, &value))
			tw_peers_answer(value, error);
		g_clear_pointer(&self->entries, g_hash_table_unref);
	}
	if (self->authority != NULL) {
		g_signal_handlers_disconnect_by_data(self->authority, self);
		g_clear_object(&self->authority);
	}
	g_clear_object(&self->connection);
	g_clear_object(&self->cancellable);
	G_OBJECT_CLASS(tw_peers_parent_class)->dispose(object);
}

static void
tw_peers_init(TwPeers *self)
{
	self->entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)tw_peer_entry_free);
	self->cancellable = g_cancellable_new();
}

static void
tw_peers_class_init(TwPeersClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_peers_dispose;

	/**
	 * TwPeers::peer-removed:
	 * @name: the unique name of a known peer that left the bus
	 */
	signals[SIGNAL_PEER_REMOVED] =
		g_signal_new("peer-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
	/**
	 * TwPeers::peer-changed:
	 * @name: the unique name of a known peer whose polkit answer changed
	 */
	signals[SIGNAL_PEER_CHANGED] =
		g_signal_new("peer-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
			     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

/**
 * tw_peers_new:
 * @connection: the bus connection the clients call on
 * @own_uid: the daemon's uid: a client of the same user sees everything, as
 *   root does
 */
TwPeers *
tw_peers_new(GDBusConnection *connection, guint32 own_uid)
{
	TwPeers *self = g_object_new(TW_TYPE_PEERS, NULL);

	self->connection = g_object_ref(connection);
	self->own_uid = own_uid;
	self->name_owner_id = g_dbus_connection_signal_subscribe(
		connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
		"/org/freedesktop/DBus", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
		tw_peers_name_owner_changed_cb, self, NULL);
	/* only on the system bus is there a polkit to follow */
	polkit_authority_get_async(self->cancellable, tw_peers_authority_cb, g_object_ref(self));
	return self;
}

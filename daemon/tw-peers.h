/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* what the daemon knows of a client on the bus, once it has called */
typedef struct {
	gchar *name;	   /* unique bus name */
	guint32 uid;	   /* as the bus knows it */
	gboolean sees_all; /* root, or the daemon's own user */
	gboolean may_read; /* polkit: io.github.tokenwatch.read-tokens */
} TwPeer;

#define TW_TYPE_PEERS (tw_peers_get_type())
G_DECLARE_FINAL_TYPE(TwPeers, tw_peers, TW, PEERS, GObject)

TwPeers *tw_peers_new(GDBusConnection *connection, guint32 own_uid) G_GNUC_WARN_UNUSED_RESULT;
void tw_peers_get_async(TwPeers *self,
			const gchar *name,
			GCancellable *cancellable,
			GAsyncReadyCallback callback,
			gpointer user_data);
const TwPeer *tw_peers_get_finish(TwPeers *self, GAsyncResult *res, GError **error);
const TwPeer *tw_peers_lookup(TwPeers *self, const gchar *name);
GPtrArray *tw_peers_get_all(TwPeers *self);

G_END_DECLS

/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tw-peers.h"

G_BEGIN_DECLS

/* whether @peer may see the object about @subject; called on the main
 * loop, must not wait */
typedef gboolean (*TwExporterVisibleFunc)(const TwPeer *peer, GObject *subject, gpointer user_data);

#define TW_TYPE_EXPORTER (tw_exporter_get_type())
G_DECLARE_FINAL_TYPE(TwExporter, tw_exporter, TW, EXPORTER, GObject)

TwExporter *tw_exporter_new(const gchar *root_path,
			    const gchar *const *collections,
			    TwExporterVisibleFunc visible,
			    gpointer visible_data) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_exporter_set_connection(TwExporter *self,
				    GDBusConnection *connection,
				    TwPeers *peers,
				    GError **error);
void tw_exporter_unset_connection(TwExporter *self);
void tw_exporter_add(TwExporter *self,
		     const gchar *path,
		     GDBusInterfaceSkeleton *iface,
		     GObject *subject);
void tw_exporter_remove(TwExporter *self, const gchar *path);
void tw_exporter_flush(TwExporter *self, const gchar *path);
void tw_exporter_flush_pending(TwExporter *self);
void tw_exporter_invalidate(TwExporter *self, const gchar *path);
GPtrArray *tw_exporter_get_audience(TwExporter *self, const gchar *path);
void tw_exporter_emit(TwExporter *self,
		      GPtrArray *audience,
		      const gchar *interface_name,
		      const gchar *signal_name,
		      GVariant *parameters);

G_END_DECLS

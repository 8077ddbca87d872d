/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* One device model, as read from a keyfile in a devices directory; see
 * docs/devices.md. Owned by the TwDevices that loaded it. */
typedef struct {
	gchar *id;		     /* file name without .conf */
	gchar *name;		     /* for people */
	GPtrArray *atrs;	     /* internal: bytes + mask */
	GStrv manufacturer_patterns; /* GPatternSpec globs, may be empty, never NULL */
	GStrv model_patterns;	     /* likewise */
	/* Unix s at 00:00 UTC of the day AFTER the given date (the certification
	 * runs through that day); 0 = unknown */
	gint64 qscd_certified_until;
	guint qualified_capacity; /* 0 = unknown */
	GHashTable *sources;	  /* fact key → source string */
	gchar *origin;		  /* the file it came from */
} TwDevice;

#define TW_TYPE_DEVICES (tw_devices_get_type())
G_DECLARE_FINAL_TYPE(TwDevices, tw_devices, TW, DEVICES, GObject)

TwDevices *tw_devices_new(void) G_GNUC_WARN_UNUSED_RESULT;
gboolean
tw_devices_load(TwDevices *self, const gchar *const *directories, gboolean strict, GError **error);
const TwDevice *tw_devices_match(TwDevices *self,
				 const gchar *atr_hex,
				 const gchar *manufacturer,
				 const gchar *model);
const TwDevice *tw_devices_lookup(TwDevices *self, const gchar *id);
guint tw_devices_get_count(TwDevices *self);

const gchar *tw_devices_default_data_dir(void);
const gchar *tw_devices_default_local_dir(void);

G_END_DECLS

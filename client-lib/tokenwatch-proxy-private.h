/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * What the objects that mirror a generated D-Bus proxy share: each keeps
 * one GValue per GObject property, filled from the proxy's cached D-Bus
 * property of the name given in @dbus_names (indexed by property id, %NULL
 * for a property that mirrors none). Missing or mistyped D-Bus properties
 * read as the default: "" for a string, %NULL for an object path (also "/"),
 * an empty array, 0, %FALSE, the UNKNOWN (0) value of an enumeration.
 */

G_GNUC_INTERNAL
void tokenwatch_proxy_values_init(GValue *values, GParamSpec **props, guint n_props);
G_GNUC_INTERNAL
void tokenwatch_proxy_values_clear(GValue *values, guint n_props);
G_GNUC_INTERNAL
void tokenwatch_proxy_values_sync(GObject *object,
				  GDBusProxy *proxy,
				  GParamSpec **props,
				  const gchar *const *dbus_names,
				  GValue *values,
				  guint n_props);
G_GNUC_INTERNAL
gint tokenwatch_proxy_enum_from_string(GType enum_type, const gchar *str);
G_GNUC_INTERNAL
void tokenwatch_proxy_convert_error(GBusType bus_type, GError **error);

G_END_DECLS

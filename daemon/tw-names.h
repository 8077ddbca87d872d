/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *tw_names_make_display(const gchar *raw, gsize max_chars);
gchar *tw_names_object_path(const gchar *kind, const gchar *id);
gchar *tw_names_hex(const guint8 *data, gsize len);

G_END_DECLS

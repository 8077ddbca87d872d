/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *twctl_dn_get_attribute(const gchar *dn, const gchar *type) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_dn_get_name(const gchar *dn) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

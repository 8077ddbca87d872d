/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the private D-Bus interface between tokenwatchd and its PKCS#11 helper
 * processes, peer to peer over a socket pair (never on a bus) */
#define TW_P11_HELPER_IFACE "io.github.tokenwatch.P11Helper"
#define TW_P11_HELPER_PATH  "/io/github/tokenwatch/P11Helper"
#define TW_P11_HELPER_FD    3

int tw_p11_helper_main(gint fd,
		       gboolean use_p11_kit_config,
		       const gchar *const *module_paths,
		       guint timeout_ms);

G_END_DECLS

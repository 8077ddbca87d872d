/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TW_TYPE_CONFIG (tw_config_get_type())
G_DECLARE_FINAL_TYPE(TwConfig, tw_config, TW, CONFIG, GObject)

TwConfig *tw_config_new(void) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_config_load(TwConfig *self, const gchar *path, GError **error);
const gchar *tw_config_get_path(TwConfig *self);
const gchar *tw_config_get_requested_path(TwConfig *self);

gboolean tw_config_get_use_p11_kit(TwConfig *self);
gboolean tw_config_get_isolate_modules(TwConfig *self);
void tw_config_set_use_p11_kit(TwConfig *self, gboolean use);
const gchar *const *tw_config_get_modules(TwConfig *self);
void tw_config_add_module(TwConfig *self, const gchar *path);
guint tw_config_get_token_timeout_ms(TwConfig *self);

GArray *tw_config_get_expiry_days(TwConfig *self);
GArray *tw_config_get_device_days(TwConfig *self);
guint tw_config_get_free_memory_percent(TwConfig *self);
const gchar *tw_config_get_devices_data_dir(TwConfig *self);
const gchar *tw_config_get_devices_local_dir(TwConfig *self);
const gchar *tw_config_get_state_dir(TwConfig *self);
void tw_config_set_state_dir(TwConfig *self, const gchar *dir);
const gchar *tw_config_get_metrics_dir(TwConfig *self);
gboolean tw_config_get_metrics_names(TwConfig *self);

const gchar *tw_config_default_path(void);
const gchar *tw_config_directory(void);

G_END_DECLS

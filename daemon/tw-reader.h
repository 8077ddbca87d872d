/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-card-events.h"

G_BEGIN_DECLS

#define TW_TYPE_READER (tw_reader_get_type())
G_DECLARE_FINAL_TYPE(TwReader, tw_reader, TW, READER, GObject)

TwReader *tw_reader_new(const gchar *pcsc_name) G_GNUC_WARN_UNUSED_RESULT;

const gchar *tw_reader_get_pcsc_name(TwReader *self);
const gchar *tw_reader_get_name(TwReader *self);
TwCardState tw_reader_get_card_state(TwReader *self);
gboolean tw_reader_get_card_present(TwReader *self);
const gchar *tw_reader_get_atr(TwReader *self);
guint tw_reader_get_event_count(TwReader *self);
guint16 tw_reader_get_pcsc_counter(TwReader *self);

void tw_reader_set_card(TwReader *self, TwCardState state, const gchar *atr);
void tw_reader_set_pcsc_counter(TwReader *self, guint16 counter);
void tw_reader_add_events(TwReader *self, guint n);

G_END_DECLS

/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "tw-engine.h"

G_BEGIN_DECLS

/* The MESSAGE_IDs of the events a person searches the journal for; the
 * catalog (data/tokenwatch.catalog) explains each, docs/journal.md lists
 * the fields. */
#define TW_JOURNAL_TOKEN_INSERTED "37f514e80fea4ee4869de5b4aab16b52"
#define TW_JOURNAL_TOKEN_REMOVED  "e3eaf6ea004b47b4a05468f7d424805a"
#define TW_JOURNAL_CERT_EXPIRING  "6c640c7fcc1c4e49aad85e099b776290"
#define TW_JOURNAL_CERT_EXPIRED	  "0cdf14e1d06346fc98159e5b60041633"
#define TW_JOURNAL_CERT_RENEWED	  "3bdd95d5b899419ba6c7e673c4dd17b3"
#define TW_JOURNAL_DEVICE_ENDING  "7fbdb86db7874884aba14a1aa2666c85"

#define TW_TYPE_JOURNAL (tw_journal_get_type())
G_DECLARE_FINAL_TYPE(TwJournal, tw_journal, TW, JOURNAL, GObject)

TwJournal *tw_journal_new(TwEngine *engine) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

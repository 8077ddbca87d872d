/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tokenwatch-reader.h"
#include "tw-dbus-generated.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL
TokenwatchReader *tokenwatch_reader_new(TwDBusReader *proxy);

G_END_DECLS

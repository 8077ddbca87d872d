/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tokenwatch-token.h"
#include "tw-dbus-generated.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL
TokenwatchToken *tokenwatch_token_new(TwDBusToken *proxy);

G_END_DECLS

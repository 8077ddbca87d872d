/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define TOKENWATCH_INSIDE

#include "tokenwatch-advice.h"
#include "tokenwatch-certificate.h"
#include "tokenwatch-client.h"
#include "tokenwatch-enum-types.h"
#include "tokenwatch-enums.h"
#include "tokenwatch-error.h"
#include "tokenwatch-reader.h"
#include "tokenwatch-token.h"
#include "tokenwatch-version.h"

#undef TOKENWATCH_INSIDE

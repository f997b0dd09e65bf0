// The daemons' only clock reads. Timers run on CLOCK_MONOTONIC (never jumps); the difference
// to CLOCK_BOOTTIME grows by the time the host slept.
#pragma once

#include "core/time.h"

namespace m6t::os {

core::Time mono_now();
core::Duration boot_minus_mono();

}  // namespace m6t::os

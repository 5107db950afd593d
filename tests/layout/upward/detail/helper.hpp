// A fixture for the layering check's control test: a low-level helper that includes the
// policy (layer 0 -> layer 4). The check must reject it.
#pragma once

#include <redress/policy.hpp>

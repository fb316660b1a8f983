// Assertion helpers for the core module's tests.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

namespace plumb::test {

// has_reason and EXPECT_OUTCOME live in plumb_test.hpp, shared by every module's tests.

}  // namespace plumb::test

// Catch2's implementation without its main, for the test executables that write their own
// (the integration tests start their servers before the tests run): they call run_catch.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_runner.hpp"

int redress_test::run_catch(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }

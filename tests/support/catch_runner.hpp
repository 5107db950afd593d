// For test executables with their own main (linked with redress_catch_runner): runs the
// Catch2 session (Catch::Session is declared only where Catch2's implementation is compiled).
#pragma once

namespace redress_test {

/// `Catch::Session().run(argc, argv)`.
int run_catch(int argc, char* argv[]);

}  // namespace redress_test

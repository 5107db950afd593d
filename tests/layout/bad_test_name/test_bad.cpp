// Input of the check_test_names self-test: a name that ctest would cut at its ';'.
TEST_CASE("a name; cut in two by ctest") {}

# Fails when a Catch2 test case's name holds a ';'. catch_discover_tests registers each test
# under its name, and CMake cuts a list at ';': the test registered is half a name, matches
# no test case, and Catch (run on an empty match) reports success. Such a test never runs and
# always passes. Run as: cmake -DTESTS_DIR=<dir> -P check_test_names.cmake
if(NOT TESTS_DIR)
    message(FATAL_ERROR "check_test_names: set -DTESTS_DIR=<directory of test sources>")
endif()
file(GLOB_RECURSE sources "${TESTS_DIR}/*.cpp" "${TESTS_DIR}/*.hpp")
# The self-test's input is checked only when asked for by name.
if(NOT TESTS_DIR MATCHES "bad_test_name$")
    list(FILTER sources EXCLUDE REGEX "/layout/bad_test_name/")
endif()
set(bad "")
foreach(source IN LISTS sources)
    file(READ "${source}" text)
    # A test case's name: the string literals after TEST_CASE( (possibly several, concatenated).
    string(REGEX MATCHALL "TEST_CASE\\([ \t\r\n]*(\"([^\"\\\\]|\\\\.)*\"[ \t\r\n]*)+" names "${text}")
    foreach(name IN LISTS names)
        # MATCHALL's list already split a name at its ';': a piece without the closing quote
        # of its literal is the first half of such a name.
        string(REGEX MATCH "\"[ \t\r\n]*$" closed "${name}")
        if(NOT closed)
            file(RELATIVE_PATH rel "${TESTS_DIR}" "${source}")
            string(REGEX REPLACE "[ \t\r\n]+" " " shown "${name}")
            list(APPEND bad "${rel}: ${shown}")
        endif()
    endforeach()
endforeach()
if(bad)
    list(JOIN bad "\n  " shown)
    message(FATAL_ERROR "test case names must not contain ';' (ctest would cut the name and run nothing):\n  ${shown}")
endif()
message(STATUS "check_test_names: no test case name holds ';'")

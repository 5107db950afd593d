# Tests of <redress/fmt.hpp> (label unit), included from tests/CMakeLists.txt when redress::fmt
# exists, so paths and redress_test_executable are those of tests/.
#   fmt/*.cpp        redress_fmt_tests, against the installed fmt
#   fmt/fmt10/*.cpp  redress_fmt10_tests: a fmt that formats std::optional itself (10.0.0 and
#                    later), played on the installed fmt (see the file); its own executable,
#                    since its std::optional formatter must not meet fmt 9's at link time
redress_test_executable(redress_fmt_tests unit ${CMAKE_CURRENT_SOURCE_DIR}/fmt/*.cpp LIBS redress::fmt)
redress_test_executable(redress_fmt10_tests unit ${CMAKE_CURRENT_SOURCE_DIR}/fmt/fmt10/*.cpp LIBS redress::fmt)

# The guard is needed: without it (redress defining its fmt 9 formatter next to fmt 10's),
# `fmt::print("{}", outcome.stop_reason)` does not compile.
set(_fmt10_src ${CMAKE_CURRENT_SOURCE_DIR}/fmt/fmt10/test_fmt10_std_optional.cpp)
if(EXISTS ${_fmt10_src})
    add_library(redress_compile_fail_fmt10_std_optional OBJECT EXCLUDE_FROM_ALL ${_fmt10_src})
    target_link_libraries(redress_compile_fail_fmt10_std_optional PRIVATE redress::fmt Catch2::Catch2)
    target_compile_definitions(redress_compile_fail_fmt10_std_optional PRIVATE REDRESS_FMT_HAS_STD_OPTIONAL=0)
    set(_name "compile_fail: fmt 10's std::optional formatter and redress's fmt 9 one, unguarded, are ambiguous")
    add_test(NAME "${_name}"
        COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target redress_compile_fail_fmt10_std_optional)
    # g++: "ambiguous template instantiation"; clang: "ambiguous partial specializations".
    set_tests_properties("${_name}" PROPERTIES LABELS compile_fail PASS_REGULAR_EXPRESSION "ambiguous (template instantiation|partial specializations)")
    unset(_name)
endif()
unset(_fmt10_src)

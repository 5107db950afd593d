# Separate compilation: a translation unit compiled with REDRESS_SEPARATE_COMPILATION uses the
# cores redress::compiled holds but defines none of them (each is an undefined symbol, resolved
# by the library), nor the members of the library's classes that only <redress/impl/*.hpp>
# defines; the same unit compiled without it and without optimisation defines them all (the
# control: the names below are the ones the check looks for).
#
#   cmake -DCXX=<compiler> -DNM=<nm> -DINCLUDE_DIR=<repo>/include -DSOURCE=compiled_tu.cpp
#         -DWORK_DIR=<dir> -DFLAGS=<|-separated> [-DREQUIRE_USED=ON] -P check_compiled_symbols.cmake
cmake_minimum_required(VERSION 3.25)

set(cores BasicBreakerCore BasicBudgetCore BasicRatioBudgetCore classify_thrown classify_type
    invalid_option interruptible_sleep BasicAttemptLoop wait validate_options BreakerGate emit_breaker_transition
    settle_attempt run_attempts run_plain throw_unless_exhausted throw_exhausted)
# Reached only through another core or a handle's out-of-line member (the breaker's and the
# budgets' are made and copied in the library): not referenced by the unit under separate
# compilation.
set(indirect classify_type interruptible_sleep emit_breaker_transition BasicAttemptLoop wait settle_attempt
    BasicBudgetCore BasicRatioBudgetCore BasicBreakerCore classify_thrown invalid_option)
# Members of the library's own classes that the headers only declare under separate compilation
# (their bodies are in <redress/impl/NAME.hpp>): regular expressions on the demangled names.
set(out_of_line "redress::Tags::Tags\\(redress::Tags const&\\)" "redress::Budget::Budget\\(redress::BudgetOptions\\)"
    "redress::CircuitBreaker::CircuitBreaker\\(redress::CircuitBreakerOptions\\)" "redress::DecorrelatedJitter::operator\\(\\)"
    "redress::Budget::~Budget\\(")
string(REPLACE "|" ";" _flags "${FLAGS}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Defined (upper-case letters other than U: T, W, V...) and undefined symbol names of `object`.
function(symbols_of object out_defined out_undefined)
    execute_process(COMMAND "${NM}" -C "${object}" OUTPUT_VARIABLE _nm RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "${NM} failed on ${object}")
    endif()
    string(REPLACE "\n" ";" _lines "${_nm}")
    set(_def "")
    set(_undef "")
    foreach(_line IN LISTS _lines)
        if(_line MATCHES "^ +U (.*)$")
            list(APPEND _undef "${CMAKE_MATCH_1}")
        elseif(_line MATCHES "^[0-9a-f]+ [TWVtw] (.*)$")
            list(APPEND _def "${CMAKE_MATCH_1}")
        endif()
    endforeach()
    set(${out_defined} "${_def}" PARENT_SCOPE)
    set(${out_undefined} "${_undef}" PARENT_SCOPE)
endfunction()

foreach(_mode IN ITEMS separate header_only)
    set(_object "${WORK_DIR}/${_mode}.o")
    set(_defs "")
    if(_mode STREQUAL "separate")
        set(_defs -DREDRESS_SEPARATE_COMPILATION)
    endif()
    execute_process(COMMAND "${CXX}" -std=c++20 ${_flags} ${_defs} "-I${INCLUDE_DIR}" -c "${SOURCE}" -o "${_object}"
        RESULT_VARIABLE _rc ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "compiling ${SOURCE} (${_mode}) failed:\n${_err}")
    endif()
    symbols_of("${_object}" _defined _undefined)
    foreach(_core IN LISTS cores)
        set(_def_hits "${_defined}")
        # The core's own members (after a return type, if any), not std templates of it.
        list(FILTER _def_hits INCLUDE REGEX "^([^ (]+ )?redress::detail::${_core}[<(]")
        # Member templates depend on the user's types and stay in the unit: the loop's
        # constructor from the policy's Retry (it builds the loop's view of it).
        list(FILTER _def_hits EXCLUDE REGEX "::BasicAttemptLoop<redress::Retry<")
        # The typed wrappers that erase the user's operation and call the core (their template
        # arguments start with the mode or loop, then the value type): `run_attempts<Mode, T, ...>`.
        list(FILTER _def_hits EXCLUDE REGEX "::(run_attempts|settle_attempt)<[^<>]*,")
        # Optimising, the compiler may inline a small member it can see, and keep the cold part
        # of it as a local clone (`[clone .part.0]`): the member itself is not compiled here.
        list(FILTER _def_hits EXCLUDE REGEX "\\[clone \\.")
        set(_undef_hits "${_undefined}")
        list(FILTER _undef_hits INCLUDE REGEX "^([^ (]+ )?redress::detail::${_core}[<(]")
        if(_mode STREQUAL "separate")
            if(_def_hits)
                list(GET _def_hits 0 _first)
                message(FATAL_ERROR "under separate compilation the translation unit defines ${_core}: ${_first}")
            endif()
            # (Optimising, the compiler may still inline a small member it can see: only
            # without optimisation must every core the unit uses be an undefined symbol.)
            if(REQUIRE_USED AND NOT _undef_hits AND NOT _core IN_LIST indirect)
                message(FATAL_ERROR "under separate compilation the translation unit does not use ${_core} (the check tests nothing)")
            endif()
        elseif(REQUIRE_USED AND NOT _def_hits)
            message(FATAL_ERROR "header-only, the translation unit defines no ${_core}: the check's names are stale")
        endif()
    endforeach()
    foreach(_member IN LISTS out_of_line)
        set(_hits "${_defined}")
        list(FILTER _hits INCLUDE REGEX "^([^ (]+ )?${_member}")
        if(_mode STREQUAL "separate" AND _hits)
            list(GET _hits 0 _first)
            message(FATAL_ERROR "under separate compilation the translation unit defines ${_first}")
        elseif(_mode STREQUAL "header_only" AND REQUIRE_USED AND NOT _hits)
            message(FATAL_ERROR "header-only, the translation unit defines nothing matching ${_member}: the check's names are stale")
        endif()
    endforeach()
    # Either way, the unit's operations take no stop token: the attempt-timeout watchdog, which
    # only such an operation can see, must not be compiled into it (docs/engine.md).
    set(_watchdog "${_defined}")
    list(FILTER _watchdog INCLUDE REGEX "redress::detail::(BasicTimeoutService|BasicAttemptDeadline)<")
    if(_watchdog)
        list(GET _watchdog 0 _first)
        message(FATAL_ERROR "the unit (${_mode}) compiles the attempt-timeout watchdog, which none of its operations can see: ${_first}")
    endif()
endforeach()
list(LENGTH cores _n)
list(LENGTH out_of_line _m)
if(REQUIRE_USED)
    message(STATUS "separate compilation: none of the ${_n} cores and ${_m} members defined, each core the unit uses an undefined symbol; header-only: all defined")
else()
    message(STATUS "separate compilation: none of the ${_n} cores and ${_m} members defined")
endif()

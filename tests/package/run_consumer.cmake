# Driver of the package tests, run with `cmake -P`. Steps (STEP=...):
#   install           configure, build and install redress from REDRESS_SOURCE_DIR into PREFIX
#   find_package      build the consumer against PREFIX with find_package, run its programs
#   add_subdirectory  build the consumer with add_subdirectory(REDRESS_SOURCE_DIR), run its programs
#   fetchcontent      pack REDRESS_SOURCE_DIR as a release archive would be, build the consumer
#                     with FetchContent from that file:// URL, run its programs
#   plain             no CMake: compile the consumer's programs with the compiler and
#                     -I <redress>/include alone, as the docs tell a user to, and run them
# Inputs: REDRESS_SOURCE_DIR, CONSUMER_DIR, WORK_DIR, PREFIX, GENERATOR, MAKE_PROGRAM,
#   CXX_COMPILER, CXX_COMPILER_ID, CXX_FLAGS, CXX_FLAGS_DEBUG, EXE_LINKER_FLAGS, BUILD_TYPE,
#   COMPONENTS (comma-separated, find_package),
#   EXPECT_PROGRAMS (comma-separated program names the consumer must define: one per
#     integration target it can see),
#   RUN_PROGRAMS (comma-separated, default EXPECT_PROGRAMS: the programs built and run; each
#     one's output must equal CONSUMER_DIR/expected/<name>.txt),
#   EXTRA_ARGS (|-separated extra -D arguments for the consumer configure),
#   FORWARD_ARGS (|-separated -D arguments for every nested configure, from the outer build),
#   EXPECT_CONFIGURE_FAILURE (regex: the consumer configure must fail and print it),
#   EXPECT_FOUND, EXPECT_NOT_FOUND (comma-separated integrations the configure summary line
#     must list as found / not found; checked when either is set),
#   EXPECT_OUTPUT (a text the configure output must contain),
#   CONFIGURE_ONLY (configure and check, build nothing),
#   BUILD_PROGRAMS_ONLY (build only RUN_PROGRAMS, not everything the consumer and redress add),
#   FMT_INCLUDE_DIRS, FMT_LIBRARY (|-separated / a file: fmt for the plain step).
# Every step starts from an empty WORK_DIR, so the tests are repeatable.
cmake_minimum_required(VERSION 3.25)

foreach(_v IN ITEMS STEP REDRESS_SOURCE_DIR WORK_DIR CXX_COMPILER)
    if(NOT DEFINED ${_v} OR "${${_v}}" STREQUAL "")
        message(FATAL_ERROR "run_consumer.cmake: ${_v} is not set")
    endif()
endforeach()

string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")
string(REPLACE "," ";" EXPECT_PROGRAMS "${EXPECT_PROGRAMS}")
if(DEFINED RUN_PROGRAMS)
    string(REPLACE "," ";" RUN_PROGRAMS "${RUN_PROGRAMS}")
else()
    set(RUN_PROGRAMS ${EXPECT_PROGRAMS})
endif()
string(REPLACE "," ";" EXPECT_FOUND "${EXPECT_FOUND}")
string(REPLACE "," ";" EXPECT_NOT_FOUND "${EXPECT_NOT_FOUND}")

set(_common_args
    -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
    list(APPEND _common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_FLAGS_DEBUG)
    list(APPEND _common_args "-DCMAKE_CXX_FLAGS_DEBUG=${CXX_FLAGS_DEBUG}")
endif()
if(FORWARD_ARGS)
    string(REPLACE "|" ";" _forward "${FORWARD_ARGS}")
    list(APPEND _common_args ${_forward})
endif()

function(run_checked what)
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
    message("---- ${what}\n${_out}")
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "${what} failed (${_rc})")
    endif()
    set(LAST_OUTPUT "${_out}" PARENT_SCOPE)
endfunction()

# The configure summary must be one line, listing EXPECT_FOUND and EXPECT_NOT_FOUND in order:
#   -- redress: integrations: fmt (found 9.1.0), asio (found 1.22.1); not found: -
function(check_summary output)
    if(NOT EXPECT_FOUND AND NOT EXPECT_NOT_FOUND)
        return()
    endif()
    string(REGEX MATCHALL "-- redress: integrations: " _starts "${output}")
    list(LENGTH _starts _count)
    if(NOT _count EQUAL 1)
        message(FATAL_ERROR "the configure printed the redress integrations line ${_count} times, not once")
    endif()
    foreach(_side IN ITEMS FOUND NOT_FOUND)
        set(_parts "")
        foreach(_name IN LISTS EXPECT_${_side})
            list(APPEND _parts "${_name} \\([^()]*\\)")
        endforeach()
        if(_parts)
            list(JOIN _parts ", " _re_${_side})
        else()
            set(_re_${_side} "-")
        endif()
    endforeach()
    string(REGEX MATCH "-- redress: integrations: [^\n]*" _line "${output}")
    if(NOT _line MATCHES "^-- redress: integrations: ${_re_FOUND}; not found: ${_re_NOT_FOUND}$")
        message(FATAL_ERROR "unexpected integrations line '${_line}' (expected found: '${EXPECT_FOUND}', not found: '${EXPECT_NOT_FOUND}')")
    endif()
endfunction()

# `programs` lists the programs the consumer defines (paths): it must hold EXPECT_PROGRAMS
# and nothing else. Runs RUN_PROGRAMS and compares each one's output with
# CONSUMER_DIR/expected/<name>.txt.
function(run_programs programs)
    set(_defined "")
    foreach(_p IN LISTS programs)
        get_filename_component(_n "${_p}" NAME_WE)
        list(APPEND _defined "${_n}")
        set(_path_${_n} "${_p}")
    endforeach()
    if(NOT "${_defined}" STREQUAL "${EXPECT_PROGRAMS}")
        message(FATAL_ERROR "the consumer defines the programs '${_defined}', expected '${EXPECT_PROGRAMS}'")
    endif()
    foreach(_n IN LISTS RUN_PROGRAMS)
        set(_p "${_path_${_n}}")
        execute_process(COMMAND "${_p}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
        message("---- run ${_p}\n${_out}${_err}")
        if(NOT _rc EQUAL 0)
            message(FATAL_ERROR "${_n} exited with ${_rc}")
        endif()
        file(READ "${CONSUMER_DIR}/expected/${_n}.txt" _expected)
        string(REPLACE "\r\n" "\n" _out "${_out}")
        if(NOT _out STREQUAL _expected)
            message(FATAL_ERROR "${_n} printed\n${_out}\ninstead of\n${_expected}")
        endif()
    endforeach()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# ---- install --------------------------------------------------------------------------------
if(STEP STREQUAL "install")
    run_checked("configure redress"
        "${CMAKE_COMMAND}" -S "${REDRESS_SOURCE_DIR}" -B "${WORK_DIR}/build" ${_common_args}
        -DREDRESS_BUILD_TESTS=OFF -DREDRESS_BUILD_EXAMPLES=OFF -DREDRESS_BUILD_DOCS=OFF
        -DREDRESS_BUILD_BENCHMARKS=OFF -DREDRESS_BUILD_TOOLS=OFF -DREDRESS_INSTALL=ON "-DCMAKE_INSTALL_PREFIX=${PREFIX}")
    check_summary("${LAST_OUTPUT}")
    run_checked("build redress" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
    file(REMOVE_RECURSE "${PREFIX}")
    run_checked("install redress" "${CMAKE_COMMAND}" --install "${WORK_DIR}/build")
    foreach(_f IN ITEMS
            include/redress/error_class.hpp
            include/redress/detail/wire_enum.hpp
            share/cmake/redress/redressConfig.cmake
            share/cmake/redress/redressConfigVersion.cmake
            share/cmake/redress/redressTargets.cmake
            share/cmake/redress/FindAsio.cmake)
        if(NOT EXISTS "${PREFIX}/${_f}")
            message(FATAL_ERROR "the install tree lacks ${_f}")
        endif()
    endforeach()
    message("installed redress into ${PREFIX}")
    return()
endif()

# ---- plain: the compiler and -I, no CMake --------------------------------------------------
if(STEP STREQUAL "plain")
    separate_arguments(_cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
    separate_arguments(_ld_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")
    set(_programs "")
    foreach(_name IN LISTS RUN_PROGRAMS)
        string(REPLACE "consumer" "" _kind "${_name}")  # "", "_compiled", "_fmt", "_asio"
        set(_src "${CONSUMER_DIR}/main.cpp")
        set(_extra "")
        if(_kind STREQUAL "_fmt")
            set(_src "${CONSUMER_DIR}/fmt_main.cpp")
            string(REPLACE "|" ";" _fmt_dirs "${FMT_INCLUDE_DIRS}")
            foreach(_d IN LISTS _fmt_dirs)
                list(APPEND _extra "-I${_d}")
            endforeach()
            list(APPEND _extra "${FMT_LIBRARY}")
        elseif(_kind STREQUAL "_compiled")
            # What docs/building.md tells a user who compiles the core once without CMake: the
            # macro everywhere, and one more source file that includes <redress/impl/src.hpp>.
            list(APPEND _extra -DREDRESS_SEPARATE_COMPILATION "${CONSUMER_DIR}/compiled_src.cpp" -pthread)
        elseif(_kind STREQUAL "_asio")
            # What docs/building.md tells a user of <redress/asio.hpp> without CMake.
            set(_src "${CONSUMER_DIR}/asio_main.cpp")
            list(APPEND _extra -DASIO_STANDALONE -pthread)
            if(CXX_COMPILER_ID MATCHES "Clang")
                list(APPEND _extra -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1)
            endif()
        elseif(NOT _kind STREQUAL "")
            # A contrib integration with no dependency (prometheus): its source alone.
            string(SUBSTRING "${_kind}" 1 -1 _contrib)
            set(_src "${CONSUMER_DIR}/${_contrib}_main.cpp")
        endif()
        set(_exe "${WORK_DIR}/${_name}")
        run_checked("compile ${_name}"
            "${CXX_COMPILER}" -std=c++20 ${_cxx_flags} "-I${REDRESS_SOURCE_DIR}/include"
            "${_src}" -o "${_exe}" ${_extra} ${_ld_flags})
        list(APPEND _programs "${_exe}")
    endforeach()
    run_programs("${_programs}")
    return()
endif()

# ---- the consumer project ------------------------------------------------------------------
set(_consumer_args "-DREDRESS_CONSUMER_MODE=${STEP}")
if(STEP STREQUAL "find_package")
    list(APPEND _consumer_args "-DCMAKE_PREFIX_PATH=${PREFIX}")
    if(COMPONENTS)
        list(JOIN COMPONENTS "," _c)
        list(APPEND _consumer_args "-DREDRESS_CONSUMER_COMPONENTS=${_c}")
    endif()
elseif(STEP STREQUAL "add_subdirectory")
    list(APPEND _consumer_args "-DREDRESS_SOURCE_DIR=${REDRESS_SOURCE_DIR}")
elseif(STEP STREQUAL "fetchcontent")
    # The repository as a release archive holds it: every top-level entry but build trees and
    # hidden ones (.git, .ci).
    file(GLOB _entries RELATIVE "${REDRESS_SOURCE_DIR}" "${REDRESS_SOURCE_DIR}/*")
    list(FILTER _entries EXCLUDE REGEX "^(build|\\.)")
    set(_archive "${WORK_DIR}/redress-src.tar.gz")
    execute_process(COMMAND "${CMAKE_COMMAND}" -E tar czf "${_archive}" -- ${_entries}
        WORKING_DIRECTORY "${REDRESS_SOURCE_DIR}" RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "could not pack ${REDRESS_SOURCE_DIR} into ${_archive}")
    endif()
    list(APPEND _consumer_args "-DREDRESS_ARCHIVE=${_archive}")
else()
    message(FATAL_ERROR "run_consumer.cmake: unknown STEP '${STEP}'")
endif()
if(EXTRA_ARGS)
    string(REPLACE "|" ";" _extra "${EXTRA_ARGS}")
    list(APPEND _consumer_args ${_extra})
endif()

set(_build "${WORK_DIR}/consumer")
set(_configure "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${_build}" ${_common_args} ${_consumer_args})

if(DEFINED EXPECT_CONFIGURE_FAILURE)
    execute_process(COMMAND ${_configure} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
    message("---- configure consumer (expected to fail)\n${_out}")
    if(_rc EQUAL 0)
        message(FATAL_ERROR "the consumer configured although it should not have")
    endif()
    if(NOT _out MATCHES "${EXPECT_CONFIGURE_FAILURE}")
        message(FATAL_ERROR "the configure failure does not say '${EXPECT_CONFIGURE_FAILURE}'")
    endif()
    message("configure failed as expected")
    return()
endif()

run_checked("configure consumer" ${_configure})
if(STEP STREQUAL "find_package")
    # The package must come from the prefix under test, not from anywhere else on the machine.
    string(FIND "${LAST_OUTPUT}" "redress_DIR=${PREFIX}/" _pos)
    if(_pos EQUAL -1)
        message(FATAL_ERROR "find_package(redress) did not use the package installed in ${PREFIX}")
    endif()
endif()
check_summary("${LAST_OUTPUT}")
if(DEFINED EXPECT_OUTPUT)
    string(FIND "${LAST_OUTPUT}" "${EXPECT_OUTPUT}" _pos)
    if(_pos EQUAL -1)
        message(FATAL_ERROR "the configure output does not say '${EXPECT_OUTPUT}'")
    endif()
endif()

# An embedded redress writes only under its own binary directory: nothing of its outputs may
# appear elsewhere in the consumer's tree (it once wrote <consumer build>/docs).
function(check_outputs_stay_home)
    if(NOT EXISTS "${_build}/redress_binary_dir.txt")
        return()
    endif()
    file(READ "${_build}/redress_binary_dir.txt" _home)
    string(FIND "${_home}" "${_build}/" _at)
    if(NOT IS_DIRECTORY "${_home}" OR NOT _at EQUAL 0)
        message(FATAL_ERROR "redress's binary directory '${_home}' is not inside the consumer's build tree")
    endif()
    if(EXISTS "${_build}/docs")
        message(FATAL_ERROR "redress wrote ${_build}/docs, outside its binary directory ${_home}")
    endif()
    file(GLOB_RECURSE _files LIST_DIRECTORIES false RELATIVE "${_build}" "${_build}/*")
    file(RELATIVE_PATH _home_rel "${_build}" "${_home}")
    list(FILTER _files EXCLUDE REGEX "^${_home_rel}/")
    list(FILTER _files INCLUDE REGEX "(^|/)(Doxyfile|redress[^/]*\\.cmake|redress_[^/]*)$")
    list(FILTER _files EXCLUDE REGEX "^(redress_binary_dir\\.txt|_deps/redress-(subbuild|src)/.*)$")
    if(_files)
        message(FATAL_ERROR "redress wrote outside its binary directory ${_home}: ${_files}")
    endif()
endfunction()
check_outputs_stay_home()
if(CONFIGURE_ONLY)
    return()
endif()

set(_targets "")
if(BUILD_PROGRAMS_ONLY)
    set(_targets --target ${RUN_PROGRAMS})
endif()
run_checked("build consumer" "${CMAKE_COMMAND}" --build "${_build}" ${_targets})
check_outputs_stay_home()

file(STRINGS "${_build}/consumer_programs.txt" _programs)
run_programs("${_programs}")

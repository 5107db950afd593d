# Driver of the package tests, run with `cmake -P`. Steps (STEP=...):
#   install           configure, build and install redress from REDRESS_SOURCE_DIR into PREFIX
#   find_package      build the consumer against PREFIX with find_package, run its programs
#   add_subdirectory  build the consumer with add_subdirectory(REDRESS_SOURCE_DIR), run its programs
# Inputs: REDRESS_SOURCE_DIR, CONSUMER_DIR, WORK_DIR, PREFIX, GENERATOR, MAKE_PROGRAM,
#   CXX_COMPILER, CXX_FLAGS, EXE_LINKER_FLAGS, BUILD_TYPE, COMPONENTS (comma-separated, find_package),
#   EXPECT_PROGRAMS (comma-separated of program names that must have been built),
#   EXTRA_ARGS (|-separated extra -D arguments for the consumer configure),
#   FORWARD_ARGS (|-separated -D arguments for every nested configure, from the outer build),
#   EXPECT_CONFIGURE_FAILURE (regex: the consumer configure must fail and print it).
# Every step starts from an empty WORK_DIR, so the tests are repeatable.
cmake_minimum_required(VERSION 3.25)

foreach(_v IN ITEMS STEP REDRESS_SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
    if(NOT DEFINED ${_v} OR "${${_v}}" STREQUAL "")
        message(FATAL_ERROR "run_consumer.cmake: ${_v} is not set")
    endif()
endforeach()

string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")
string(REPLACE "," ";" EXPECT_PROGRAMS "${EXPECT_PROGRAMS}")

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

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(STEP STREQUAL "install")
    run_checked("configure redress"
        "${CMAKE_COMMAND}" -S "${REDRESS_SOURCE_DIR}" -B "${WORK_DIR}/build" ${_common_args}
        -DREDRESS_BUILD_TESTS=OFF -DREDRESS_BUILD_EXAMPLES=OFF -DREDRESS_BUILD_BENCHMARKS=OFF
        -DREDRESS_INSTALL=ON "-DCMAKE_INSTALL_PREFIX=${PREFIX}")
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

set(_consumer_args "-DREDRESS_CONSUMER_MODE=${STEP}")
if(STEP STREQUAL "find_package")
    list(APPEND _consumer_args "-DCMAKE_PREFIX_PATH=${PREFIX}")
    if(COMPONENTS)
        list(JOIN COMPONENTS "," _c)
        list(APPEND _consumer_args "-DREDRESS_CONSUMER_COMPONENTS=${_c}")
    endif()
elseif(STEP STREQUAL "add_subdirectory")
    list(APPEND _consumer_args "-DREDRESS_SOURCE_DIR=${REDRESS_SOURCE_DIR}")
else()
    message(FATAL_ERROR "run_consumer.cmake: unknown STEP '${STEP}'")
endif()
if(EXTRA_ARGS)
    string(REPLACE "|" ";" _extra "${EXTRA_ARGS}")
    list(APPEND _consumer_args ${_extra})
endif()

set(_configure "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" ${_common_args} ${_consumer_args})

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
run_checked("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")

file(STRINGS "${WORK_DIR}/consumer/consumer_programs.txt" _programs)
foreach(_name IN LISTS EXPECT_PROGRAMS)
    set(_seen FALSE)
    foreach(_p IN LISTS _programs)
        get_filename_component(_n "${_p}" NAME_WE)
        if(_n STREQUAL _name)
            set(_seen TRUE)
        endif()
    endforeach()
    if(NOT _seen)
        message(FATAL_ERROR "the consumer did not build ${_name} (built: ${_programs})")
    endif()
endforeach()
foreach(_p IN LISTS _programs)
    run_checked("run ${_p}" "${_p}")
endforeach()

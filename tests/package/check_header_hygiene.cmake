# Header hygiene, run with `cmake -P`: preprocesses a translation unit that includes one
# header (HEADER, e.g. redress/event.hpp) with the compiler of the build, asks it for every
# file it reads (-M), and fails if a third-party header is among them. A core header must be
# usable with nothing but the standard library; only the integration headers may reach fmt,
# Asio and the other libraries.
# Inputs: HEADER, INCLUDE_DIR, CXX_COMPILER, CXX_FLAGS, WORK_DIR.
cmake_minimum_required(VERSION 3.25)

foreach(_v IN ITEMS HEADER INCLUDE_DIR CXX_COMPILER WORK_DIR)
    if(NOT DEFINED ${_v} OR "${${_v}}" STREQUAL "")
        message(FATAL_ERROR "check_header_hygiene.cmake: ${_v} is not set")
    endif()
endforeach()

string(MAKE_C_IDENTIFIER "${HEADER}" _id)
set(_tu "${WORK_DIR}/${_id}.cpp")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${_tu}" "#include <${HEADER}>\n")

separate_arguments(_flags UNIX_COMMAND "${CXX_FLAGS}")
execute_process(
    COMMAND "${CXX_COMPILER}" ${_flags} -std=c++20 "-I${INCLUDE_DIR}" -M "${_tu}"
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _deps ERROR_VARIABLE _err)
if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "preprocessing <${HEADER}> failed:\n${_err}")
endif()

# -M prints a make rule: "x.o: a.cpp b.h \\\n c.h ...". Keep the file names.
string(REGEX REPLACE "^[^:]*:" "" _deps "${_deps}")
string(REPLACE "\\\n" " " _deps "${_deps}")
string(REGEX REPLACE "[ \t\r\n]+" ";" _deps "${_deps}")
list(FILTER _deps EXCLUDE REGEX "^$")
list(REMOVE_ITEM _deps "${_tu}")

# Third-party libraries a core header must never reach.
set(_forbidden "(^|/)(fmt|asio|boost|spdlog|curl|hiredis|postgresql|libpq|benchmark|catch2)(/|\\.h)|(^|/)asio\\.hpp$|(^|/)libpq-fe\\.h$")
set(_bad "")
set(_own 0)
foreach(_f IN LISTS _deps)
    if(_f MATCHES "${_forbidden}")
        list(APPEND _bad "${_f}")
    endif()
    string(FIND "${_f}" "${INCLUDE_DIR}/" _pos)
    if(_pos EQUAL 0)
        math(EXPR _own "${_own} + 1")
    endif()
endforeach()
list(LENGTH _deps _n)

if(_bad)
    list(JOIN _bad "\n  " _bad)
    message(FATAL_ERROR "<${HEADER}> reaches third-party headers:\n  ${_bad}")
endif()
if(_own EQUAL 0)
    message(FATAL_ERROR "<${HEADER}> was not read from ${INCLUDE_DIR}; the check saw nothing")
endif()
message("<${HEADER}>: ${_n} files read (${_own} from redress), standard library only")

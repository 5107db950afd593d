# Fails when the project's headers, docs, README or examples cite a document or a header that
# does not exist: a markdown link to a .md page, a `docs/<page>.md` mention, or a
# `<redress/...>` header (a pattern with `*` must match at least one). Also fails on any
# citation of SPEC, an internal document users do not have (the contract is docs/contract.md),
# or of an issue by its number (the project's tracker is not theirs).
#
#   cmake -DROOT=<repository root> -P check_links.cmake
cmake_minimum_required(VERSION 3.25)
if(NOT ROOT)
    message(FATAL_ERROR "pass -DROOT=<repository root>")
endif()

file(GLOB_RECURSE files RELATIVE "${ROOT}"
    "${ROOT}/include/*.hpp" "${ROOT}/docs/*.md" "${ROOT}/examples/*.cpp" "${ROOT}/README.md"
    "${ROOT}/bench/*" "${ROOT}/scripts/*" "${ROOT}/tests/*.cpp" "${ROOT}/tests/*.py" "${ROOT}/tools/*.cpp")
set(problems "")
set(references 0)
foreach(file IN LISTS files)
    file(READ "${ROOT}/${file}" text)
    # Square brackets and semicolons would confuse CMake's lists: neither matters here.
    string(REPLACE "[" "<" text "${text}")
    string(REPLACE "]" ">" text "${text}")
    string(REPLACE ";" "," text "${text}")
    get_filename_component(dir "${ROOT}/${file}" DIRECTORY)

    if(text MATCHES "SPEC( |§|\\.md)")
        string(APPEND problems "  ${file}: cites SPEC (say it in the project's words, or link docs/contract.md)\n")
    endif()
    if(text MATCHES "[( ]issues? [0-9]+[):,. ]")
        string(APPEND problems "  ${file}: cites an issue number, which users cannot look up (say what it means)\n")
    endif()

    # Markdown links to pages: ](page.md) or ](page.md#anchor), relative to the file.
    string(REGEX MATCHALL ">\\([^)#: ]+\\.md(#[^)]*)?\\)" links "${text}")
    foreach(link IN LISTS links)
        string(REGEX REPLACE "^>\\(([^)#]+)(#[^)]*)?\\)$" "\\1" target "${link}")
        math(EXPR references "${references} + 1")
        if(NOT EXISTS "${dir}/${target}")
            string(APPEND problems "  ${file}: links ${target}, which does not exist\n")
        endif()
    endforeach()

    # Mentions of docs pages by path: docs/<page>.md, relative to the repository.
    string(REGEX MATCHALL "docs/[A-Za-z0-9_.-]+\\.md" mentions "${text}")
    foreach(target IN LISTS mentions)
        math(EXPR references "${references} + 1")
        if(NOT EXISTS "${ROOT}/${target}")
            string(APPEND problems "  ${file}: mentions ${target}, which does not exist\n")
        endif()
    endforeach()

    # Headers of the library: <redress/...>, a pattern with * must match something.
    string(REGEX MATCHALL "<redress/[A-Za-z0-9_./*-]+>" headers "${text}")
    foreach(header IN LISTS headers)
        string(REGEX REPLACE "^<(.*)>$" "\\1" target "${header}")
        # An all-capitals segment is a placeholder (`<redress/contrib/NAME.hpp>`): any name.
        string(REGEX REPLACE "(^|/)[A-Z]+(\\.hpp)?$" "\\1*\\2" target "${target}")
        math(EXPR references "${references} + 1")
        file(GLOB matches "${ROOT}/include/${target}")
        if(NOT matches)
            string(APPEND problems "  ${file}: names <${target}>, which does not exist\n")
        endif()
    endforeach()
endforeach()

if(problems)
    message(FATAL_ERROR "redress: references to documents or headers that do not exist:\n${problems}")
endif()
list(LENGTH files count)
message(STATUS "redress: ${references} references checked in ${count} files, all resolve")

# Documentation: the Doxygen API reference (target `redress_docs`, with REDRESS_BUILD_DOCS)
# and, with the tests, the checks `docs: doxygen` (the reference builds without a warning)
# and `docs: snippets` (every C++ snippet in README.md and docs/*.md comes from a compiled
# example). Included from the root CMakeLists.txt. Output: <redress binary dir>/docs.

if(REDRESS_BUILD_DOCS OR REDRESS_BUILD_TESTS)
    find_package(Doxygen QUIET)
endif()
if(DOXYGEN_FOUND AND (REDRESS_BUILD_DOCS OR REDRESS_BUILD_TESTS))
    set(REDRESS_DOXYGEN_OUTPUT "${PROJECT_BINARY_DIR}/docs/api")
    set(_redress_doxyfile "${PROJECT_BINARY_DIR}/docs/Doxyfile")
    configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${_redress_doxyfile}" @ONLY)
    file(MAKE_DIRECTORY "${REDRESS_DOXYGEN_OUTPUT}")
    if(REDRESS_BUILD_DOCS)
        # Undocumented public names are warnings, and warnings fail the target.
        add_custom_target(redress_docs
            COMMAND ${CMAKE_COMMAND} -E make_directory "${REDRESS_DOXYGEN_OUTPUT}"
            COMMAND ${DOXYGEN_EXECUTABLE} "${_redress_doxyfile}"
            WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
            COMMENT "Doxygen: API reference in ${REDRESS_DOXYGEN_OUTPUT}/html"
            VERBATIM)
    endif()
    if(REDRESS_BUILD_TESTS)
        add_test(NAME "docs: doxygen" COMMAND ${DOXYGEN_EXECUTABLE} "${_redress_doxyfile}"
                 WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
        set_tests_properties("docs: doxygen" PROPERTIES LABELS docs)
    endif()
    unset(_redress_doxyfile)
elseif(REDRESS_BUILD_DOCS)
    message(STATUS "redress: Doxygen not found, so there is no redress_docs target")
endif()

if(REDRESS_BUILD_TESTS)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    if(Python3_Interpreter_FOUND)
        add_test(NAME "docs: snippets"
                 COMMAND ${Python3_EXECUTABLE} "${PROJECT_SOURCE_DIR}/tests/docs/check_snippets.py" "${PROJECT_SOURCE_DIR}")
        set_tests_properties("docs: snippets" PROPERTIES LABELS docs)
    endif()
endif()

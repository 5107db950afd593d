# Documentation: the Doxygen API reference (target `docs`) and the check that every C++
# snippet in README.md and docs/*.md comes from a compiled example (ctest `docs: snippets`).
# Included from the root CMakeLists.txt.

find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
    set(REDRESS_DOXYGEN_OUTPUT ${CMAKE_BINARY_DIR}/docs/api)
    configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CMAKE_BINARY_DIR}/docs/Doxyfile @ONLY)
    # Undocumented public names are warnings, and warnings fail the target.
    add_custom_target(docs
        COMMAND ${CMAKE_COMMAND} -E make_directory ${REDRESS_DOXYGEN_OUTPUT}
        COMMAND ${DOXYGEN_EXECUTABLE} ${CMAKE_BINARY_DIR}/docs/Doxyfile
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        COMMENT "Doxygen: API reference in ${REDRESS_DOXYGEN_OUTPUT}/html"
        VERBATIM)
    file(MAKE_DIRECTORY ${REDRESS_DOXYGEN_OUTPUT})
    if(REDRESS_BUILD_TESTS)
        add_test(NAME "docs: doxygen" COMMAND ${DOXYGEN_EXECUTABLE} ${CMAKE_BINARY_DIR}/docs/Doxyfile
                 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
        set_tests_properties("docs: doxygen" PROPERTIES LABELS docs)
    endif()
endif()

if(REDRESS_BUILD_TESTS)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    if(Python3_Interpreter_FOUND)
        add_test(NAME "docs: snippets"
                 COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/docs/check_snippets.py ${PROJECT_SOURCE_DIR})
        set_tests_properties("docs: snippets" PROPERTIES LABELS docs)
    endif()
endif()

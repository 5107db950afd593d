# Install and export rules (included by the root CMakeLists.txt when REDRESS_INSTALL is ON).
#
# Layout after `cmake --install`:
#   include/redress/**.hpp                      the headers (core and integrations)
#   share/cmake/redress/redressConfig.cmake      entry point of find_package(redress CONFIG)
#   share/cmake/redress/redressConfigVersion.cmake
#   share/cmake/redress/redressTargets.cmake     redress::redress (standard library only)
#   share/cmake/redress/redress-fmt-targets.cmake   redress::fmt, if fmt was found at build time
#   share/cmake/redress/redress-asio-targets.cmake  redress::asio, if Asio was found at build time
#   share/cmake/redress/redress-<name>-targets.cmake redress::<name> for each contrib integration
#                                                  (curl, postgres, spdlog, prometheus) built here
#   share/cmake/redress/FindAsio.cmake           so consumers get Asio::Asio from libasio-dev
#   share/cmake/redress/RedressCompiled.cmake    redress::compiled, built in the consumer's tree
#
# The library is header-only, so the package is architecture independent and lives under
# share/ (the same package serves every compiler and ABI of a machine).
# Each integration is its own export set: a consumer machine without fmt still gets
# redress::redress, and `COMPONENTS fmt` turns the missing dependency into an error.

set(REDRESS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/redress"
    CACHE STRING "Where the redress CMake package files are installed (relative to the prefix)")
mark_as_advanced(REDRESS_INSTALL_CMAKEDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/redress"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
    COMPONENT redress_development
    FILES_MATCHING PATTERN "*.hpp")

install(TARGETS redress EXPORT redressTargets)
install(EXPORT redressTargets
    NAMESPACE redress::
    FILE redressTargets.cmake
    DESTINATION "${REDRESS_INSTALL_CMAKEDIR}"
    COMPONENT redress_development)

# One export set per integration; the names listed here are the find_package components.
set(_redress_installed_components "")
foreach(_redress_comp IN ITEMS fmt asio ${REDRESS_CONTRIB_INTEGRATIONS})
    if(TARGET redress_${_redress_comp})
        install(TARGETS redress_${_redress_comp} EXPORT redress_${_redress_comp}_targets)
        install(EXPORT redress_${_redress_comp}_targets
            NAMESPACE redress::
            FILE redress-${_redress_comp}-targets.cmake
            DESTINATION "${REDRESS_INSTALL_CMAKEDIR}"
            COMPONENT redress_development)
        list(APPEND _redress_installed_components ${_redress_comp})
    endif()
endforeach()
unset(_redress_comp)

configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/redressConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/redressConfig.cmake"
    INSTALL_DESTINATION "${REDRESS_INSTALL_CMAKEDIR}")

# Before 1.0 a minor release may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/redressConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}"
    COMPATIBILITY SameMinorVersion
    ARCH_INDEPENDENT)

install(FILES
    "${PROJECT_BINARY_DIR}/redressConfig.cmake"
    "${PROJECT_BINARY_DIR}/redressConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/FindAsio.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/RedressCompiled.cmake"
    DESTINATION "${REDRESS_INSTALL_CMAKEDIR}"
    COMPONENT redress_development)

if(EXISTS "${PROJECT_SOURCE_DIR}/LICENSE")
    install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/redress"
        COMPONENT redress_development)
endif()
unset(_redress_installed_components)

# Integration targets. Each is an INTERFACE target over redress::redress that brings one
# third-party dependency; the core target never does. A target exists only when its
# dependency is found, and REDRESS_REQUIRE_INTEGRATIONS turns "not found" into an error.
option(REDRESS_REQUIRE_INTEGRATIONS "Fail configuration when an integration's dependency is missing" OFF)

set(_redress_mode QUIET)
if(REDRESS_REQUIRE_INTEGRATIONS)
    set(_redress_mode REQUIRED)
endif()

# fmt: <redress/fmt.hpp>
find_package(fmt 9 ${_redress_mode})
if(fmt_FOUND)
    add_library(redress_fmt INTERFACE)
    add_library(redress::fmt ALIAS redress_fmt)
    set_target_properties(redress_fmt PROPERTIES EXPORT_NAME fmt)
    target_link_libraries(redress_fmt INTERFACE redress::redress fmt::fmt)
endif()

# Asio (standalone, header-only): <redress/asio.hpp>
find_package(Asio 1.22 ${_redress_mode})
if(Asio_FOUND)
    add_library(redress_asio INTERFACE)
    add_library(redress::asio ALIAS redress_asio)
    set_target_properties(redress_asio PROPERTIES EXPORT_NAME asio)
    target_link_libraries(redress_asio INTERFACE redress::redress Asio::Asio)
endif()

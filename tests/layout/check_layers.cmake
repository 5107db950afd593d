# Fails when a library header includes a header of a higher layer (docs/engine.md, "Where
# things live"). Each layer may include its own layer and those below:
#   0 detail/        low-level helpers: the standard library only
#   1 vocabulary     the enums and value types of the model
#   2 components     retry options, strategies, classifiers, breaker, budget, extras/
#   3 engine/        the attempt-loop core and the drivers
#   4 policy         the face users call
#   5 conveniences   decorator, macros, lint, testing/, simulation/, the umbrella headers,
#                    impl/src.hpp (the one translation unit of redress::compiled)
#   impl/NAME.hpp    the definitions NAME.hpp declares (separate compilation): NAME.hpp's layer
#   6 integrations   fmt.hpp, asio.hpp, contrib/ (the only headers with third-party includes)
# A header missing from the map fails too, so a new header gets a layer when it is added.
#
#   cmake -DINCLUDE_DIR=<repo>/include/redress -P check_layers.cmake
cmake_minimum_required(VERSION 3.25)

set(layer_vocabulary attempt.hpp tags.hpp time_bound.hpp vocabulary.hpp clock.hpp error_class.hpp classification.hpp backoff_context.hpp event.hpp
    hooks.hpp errors.hpp outcome.hpp task.hpp)
set(layer_components retry.hpp strategies.hpp classify.hpp circuit_breaker.hpp budget.hpp ratio_budget.hpp hedge.hpp executor.hpp)
set(layer_policy policy.hpp policy_context.hpp policy_shapes.hpp)
set(layer_conveniences decorator.hpp envelope.hpp macros.hpp lint.hpp testing.hpp redress.hpp)
set(layer_integrations fmt.hpp asio.hpp)

function(layer_of header out)
    if(header MATCHES "^detail/")
        set(${out} 0 PARENT_SCOPE)
    elseif(header MATCHES "^extras/")
        set(${out} 2 PARENT_SCOPE)
    elseif(header MATCHES "^engine/")
        set(${out} 3 PARENT_SCOPE)
    elseif(header MATCHES "^impl/(.+)$" AND NOT header STREQUAL "impl/src.hpp")
        # impl/NAME.hpp defines what NAME.hpp declares: it sits in that header's layer.
        layer_of("${CMAKE_MATCH_1}" _own)
        set(${out} "${_own}" PARENT_SCOPE)
    elseif(header MATCHES "^testing/" OR header MATCHES "^simulation/" OR header MATCHES "^impl/")
        set(${out} 5 PARENT_SCOPE)
    elseif(header MATCHES "^contrib/")
        set(${out} 6 PARENT_SCOPE)
    elseif(header IN_LIST layer_vocabulary)
        set(${out} 1 PARENT_SCOPE)
    elseif(header IN_LIST layer_components)
        set(${out} 2 PARENT_SCOPE)
    elseif(header IN_LIST layer_policy)
        set(${out} 4 PARENT_SCOPE)
    elseif(header IN_LIST layer_conveniences)
        set(${out} 5 PARENT_SCOPE)
    elseif(header IN_LIST layer_integrations)
        set(${out} 6 PARENT_SCOPE)
    else()
        set(${out} "" PARENT_SCOPE)
    endif()
endfunction()

if(NOT INCLUDE_DIR)
    message(FATAL_ERROR "pass -DINCLUDE_DIR=<repo>/include/redress")
endif()
file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}" "${INCLUDE_DIR}/*.hpp")
set(violations "")
set(checked 0)
foreach(header IN LISTS headers)
    layer_of("${header}" own)
    if(own STREQUAL "")
        string(APPEND violations "  ${header}: not in the layer map (tests/layout/check_layers.cmake)\n")
        continue()
    endif()
    file(STRINGS "${INCLUDE_DIR}/${header}" includes REGEX "^#include <redress/")
    foreach(line IN LISTS includes)
        string(REGEX REPLACE "^#include <redress/([^>]+)>.*" "\\1" target "${line}")
        layer_of("${target}" theirs)
        math(EXPR checked "${checked} + 1")
        if(theirs STREQUAL "")
            string(APPEND violations "  ${header} includes ${target}, which is not in the layer map\n")
        elseif(theirs GREATER own)
            string(APPEND violations "  ${header} (layer ${own}) includes ${target} (layer ${theirs})\n")
        endif()
    endforeach()
endforeach()
if(violations)
    message(FATAL_ERROR "redress: includes that run from a lower layer to a higher one:\n${violations}")
endif()
list(LENGTH headers count)
message(STATUS "redress: layering holds for ${count} headers (${checked} includes checked)")

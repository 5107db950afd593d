# <redress/contrib/prometheus.hpp>: renderings of scripted runs checked by Prometheus's own
# `promtool check metrics` (skipped with the reason when promtool is not installed), and
# their exact values. Included from tests/integration/CMakeLists.txt.
redress_integration_executable(redress_integration_prometheus prometheus
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_prometheus.cpp
    LIBS redress::prometheus
    TIMEOUT 60)

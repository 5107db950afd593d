# Tests of redress-sim: each runs the binary on a short scenario (labels unit and tool).
set(_sim_args --scenario blip --duration 20 --rate 200 --concurrency 20 --fault-start 5 --fault-duration 5)
set(_sim_dir ${CMAKE_CURRENT_SOURCE_DIR}/tests)

add_test(NAME "tool: redress-sim prints one table row per policy"
    COMMAND redress_sim ${_sim_args} --policies none,immediate,full-jitter+budget)
set_tests_properties("tool: redress-sim prints one table row per policy" PROPERTIES
    PASS_REGULAR_EXPRESSION "policy +requests +attempts[^\n]*\nnone +[0-9]+[^\n]*\nimmediate +[0-9]+[^\n]*\nfull-jitter\\+budget +[0-9]+")

add_test(NAME "tool: redress-sim --csv writes a CSV that parses"
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:redress_sim> "-DARGS=${_sim_args}"
            -DOUT=${CMAKE_CURRENT_BINARY_DIR}/series.csv -P ${_sim_dir}/check_csv.cmake)

add_test(NAME "tool: redress-sim accepts a JSON policy file"
    COMMAND redress_sim ${_sim_args} --policy-file ${_sim_dir}/policies.json)
set_tests_properties("tool: redress-sim accepts a JSON policy file" PROPERTIES
    PASS_REGULAR_EXPRESSION "\nmy-decorrelated-with-budget +[0-9]+[^\n]*\nmy-breaker-only +[0-9]+[^\n]*\nmy-hedged +[0-9]+")

add_test(NAME "tool: redress-sim rejects a bad option with a message naming it"
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:redress_sim> "-DARGS=--rate;-5" -DEXPECT=request_rate
            -P ${_sim_dir}/expect_failure.cmake)
add_test(NAME "tool: redress-sim rejects an unknown key in the policy file"
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:redress_sim> "-DARGS=--policy-file;${_sim_dir}/bad_policies.json"
            "-DEXPECT=policies\\[0\\]\\.max_attemps: unknown key" -P ${_sim_dir}/expect_failure.cmake)
add_test(NAME "tool: redress-sim rejects a bad hedge option in the policy file with the library's rule"
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:redress_sim> "-DARGS=--policy-file;${_sim_dir}/bad_hedge.json"
            "-DEXPECT=policies\\[0\\]\\.hedge\\.percentile: must be in \\(0, 1\\)" -P ${_sim_dir}/expect_failure.cmake)
add_test(NAME "tool: redress-sim counts the hedges of its hedged policies"
    COMMAND redress_sim ${_sim_args} --policies full-jitter,hedge-p95+budget)
set_tests_properties("tool: redress-sim counts the hedges of its hedged policies" PROPERTIES
    PASS_REGULAR_EXPRESSION "retries +hedges +h\\.budget +h\\.breaker +cancelled\nfull-jitter [^\n]* 0 +0 +0 +0\nhedge-p95\\+budget [^\n]* [1-9][0-9]* +[0-9]+ +0 +[1-9][0-9]*\n")
add_test(NAME "tool: redress-sim rejects an unknown scenario"
    COMMAND ${CMAKE_COMMAND} -DTOOL=$<TARGET_FILE:redress_sim> "-DARGS=--scenario;nope" -DEXPECT=overload
            -P ${_sim_dir}/expect_failure.cmake)

add_test(NAME "tool: redress-sim --chart renders PNG and SVG with gnuplot"
    COMMAND sh ${_sim_dir}/check_chart.sh $<TARGET_FILE:redress_sim> ${CMAKE_CURRENT_BINARY_DIR}/chart ${_sim_args})
set_tests_properties("tool: redress-sim --chart renders PNG and SVG with gnuplot" PROPERTIES SKIP_RETURN_CODE 77)

set_tests_properties(
    "tool: redress-sim prints one table row per policy"
    "tool: redress-sim --csv writes a CSV that parses"
    "tool: redress-sim accepts a JSON policy file"
    "tool: redress-sim rejects a bad option with a message naming it"
    "tool: redress-sim rejects an unknown key in the policy file"
    "tool: redress-sim rejects a bad hedge option in the policy file with the library's rule"
    "tool: redress-sim counts the hedges of its hedged policies"
    "tool: redress-sim rejects an unknown scenario"
    "tool: redress-sim --chart renders PNG and SVG with gnuplot"
    PROPERTIES LABELS "unit;tool" TIMEOUT 60)

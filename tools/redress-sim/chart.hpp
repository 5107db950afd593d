// The chart of a comparison: a gnuplot script (data inline), rendered to PNG and SVG when
// gnuplot is on PATH.
#pragma once

#include <string>
#include <vector>

#include <redress/simulation/simulation.hpp>

namespace redress_sim {

/// Writes PREFIX.gp and, when gnuplot is found, renders PREFIX.png and PREFIX.svg. Returns a
/// line telling the user what was written (or why not rendered).
std::string write_chart(const std::string& prefix, const std::string& title,
                        const std::vector<redress::simulation::Result>& results);

}  // namespace redress_sim

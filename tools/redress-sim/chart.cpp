#include "chart.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace redress_sim {

namespace {

double seconds_of(redress::Duration d) { return static_cast<double>(d.count()) / 1e9; }

/// One datablock per policy: time, load (attempts/s), success rate (%), in flight.
void write_data(std::ostream& out, const std::vector<redress::simulation::Result>& results) {
    for (std::size_t p = 0; p < results.size(); ++p) {
        out << "$p" << p << " << EOD\n";
        const auto& series = results[p].series;
        for (std::size_t i = 0; i < series.size(); ++i) {
            const auto& iv = series[i];
            const double width = i + 1 < series.size() ? seconds_of(series[i + 1].start - iv.start)
                                                       : (i > 0 ? seconds_of(iv.start - series[i - 1].start) : 1.0);
            out << seconds_of(iv.start) << ' ' << static_cast<double>(iv.attempts) / width << ' '
                << 100.0 * iv.success_rate() << ' ' << iv.peak_in_flight << '\n';
        }
        out << "EOD\n";
    }
}

/// The fault window, shaded on every panel.
std::string fault_rectangle(const std::vector<redress::simulation::Result>& results) {
    double from = -1, to = -1;
    for (const auto& iv : results.front().series) {
        if (!iv.fault) continue;
        if (from < 0) from = seconds_of(iv.start);
        to = seconds_of(iv.start);
    }
    if (from < 0) return "unset object 1\n";
    std::ostringstream s;
    s << "set object 1 rect from " << from << ", graph 0 to " << to + 1 << ", graph 1 behind "
      << "fillcolor rgb '#f4cccc' fillstyle solid 0.6 noborder\n";
    return s.str();
}

std::string panel(const char* ylabel, int column, std::size_t count, const std::string& extra) {
    std::ostringstream s;
    s << "set ylabel '" << ylabel << "'\n" << extra << "plot ";
    for (std::size_t p = 0; p < count; ++p)
        s << (p ? ", " : "") << "$p" << p << " using 1:" << column << " with lines lw 2 title title" << p;
    s << "\n";
    return s.str();
}

}  // namespace

std::string write_chart(const std::string& prefix, const std::string& title,
                        const std::vector<redress::simulation::Result>& results) {
    if (results.empty()) throw std::runtime_error("--chart: no results to draw");
    const std::string script = prefix + ".gp";
    std::ofstream out(script);
    if (!out) throw std::runtime_error("--chart: cannot write " + script);
    write_data(out, results);
    for (std::size_t p = 0; p < results.size(); ++p) out << "title" << p << " = '" << results[p].policy << "'\n";
    std::ostringstream body;
    body << "set multiplot layout 3,1 title '" << title << "'\n"
         << "set grid\nset key outside right top\nset xlabel 'time (s)'\n"
         << fault_rectangle(results) << panel("downstream load (attempts/s)", 2, results.size(), "")
         << panel("success rate (%)", 3, results.size(), "set yrange [0:105]\n")
         << panel("requests in flight", 4, results.size(), "set yrange [0:*]\n") << "unset multiplot\n";
    out << "set terminal pngcairo size 1200,900 font ',10'\nset output '" << prefix << ".png'\n"
        << body.str() << "set terminal svg size 1200,900 dynamic font ',10'\nset output '" << prefix << ".svg'\n"
        << "set yrange [*:*]\n" << body.str() << "unset output\n";
    out.close();
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
        return "wrote " + script + "; gnuplot is not on PATH, so no PNG/SVG (install gnuplot-nox, then run: gnuplot " +
               script + ")";
    const std::string cmd = "gnuplot '" + script + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("--chart: gnuplot failed on " + script);
    return "wrote " + prefix + ".png, " + prefix + ".svg (gnuplot script: " + script + ")";
}

}  // namespace redress_sim

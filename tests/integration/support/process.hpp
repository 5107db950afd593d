// Test harness for the integration tests: real server processes on loopback, started by the
// test itself and stopped even when a test fails or the test process dies.
//
//   redress::it::Process server({"/usr/bin/redis-server", "--port", std::to_string(port)});
//   redress::it::wait_for_port(port, 10s);   // throws with the server's log when it never listens
//   ...                                      // ~Process: SIGTERM, then SIGKILL after a grace period
//
// A child is killed with SIGKILL when the test process dies (PR_SET_PDEATHSIG), so a crashed
// or killed test never leaves a server behind. Linux only, like the servers it starts.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace redress::it {

/// Exit status that ctest reports as "skipped" (the tests set SKIP_RETURN_CODE 77).
inline constexpr int skip_exit_code = 77;

/// Prints why the integration test cannot run and exits with `skip_exit_code`.
[[noreturn]] inline void skip(const std::string& reason) {
    std::printf("skipped: %s\n", reason.c_str());
    std::fflush(stdout);
    std::exit(skip_exit_code);
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
[[nodiscard]] inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("binding a free loopback port: " + why);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
[[nodiscard]] inline bool port_open(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

/// The first of `names` found as an executable file, looking in $PATH and then in `extra_dirs`
/// (for programs Debian keeps off the PATH, e.g. /usr/lib/postgresql/15/bin).
[[nodiscard]] inline std::optional<std::string> find_program(const std::vector<std::string>& names,
                                                             const std::vector<std::string>& extra_dirs = {}) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');)
            if (!dir.empty()) dirs.push_back(dir);
    }
    dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
    for (const auto& name : names)
        for (const auto& dir : dirs) {
            const std::string candidate = dir + "/" + name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
    return std::nullopt;
}

/// A user to run a server as, when the server refuses root (PostgreSQL).
struct RunAs {
    uid_t uid;
    gid_t gid;
};

/// `name`'s uid and gid; nullopt when no such user exists.
[[nodiscard]] inline std::optional<RunAs> user(const char* name) {
    const passwd* pw = ::getpwnam(name);
    if (!pw) return std::nullopt;
    return RunAs{pw->pw_uid, pw->pw_gid};
}

/// A fresh temporary directory, removed (recursively) by the destructor; chowned to `owner`
/// when given, so a server run as another user can write into it.
class TempDir {
public:
    explicit TempDir(const std::string& prefix, std::optional<RunAs> owner = std::nullopt) {
        std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
        path_ = pattern;
        if (owner && ::chown(path_.c_str(), owner->uid, owner->gid) != 0)
            throw std::runtime_error("chown " + path_.string() + ": " + std::strerror(errno));
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// A child process: argv[0] is the program's path. Output goes to `log_file` (or is dropped).
/// The destructor stops it: SIGTERM, then SIGKILL after `grace`; it dies with the test process.
class Process {
public:
    struct Options {
        std::string log_file{};               ///< stdout and stderr of the child; /dev/null if empty
        std::optional<RunAs> run_as{};        ///< drop to this user before exec (root only)
        std::vector<std::string> env{};       ///< extra NAME=value entries
        std::chrono::milliseconds grace{5000};  ///< SIGTERM → SIGKILL delay on stop
    };

    explicit Process(std::vector<std::string> argv) : Process(std::move(argv), Options{}) {}
    Process(std::vector<std::string> argv, Options options) : argv_(std::move(argv)), options_(std::move(options)) {
        start();
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() { stop(); }

    /// Starts the program again after `stop()` or `kill()` (same arguments, same log file, appended).
    void start() {
        if (pid_ > 0) return;
        std::vector<char*> args;
        for (auto& a : argv_) args.push_back(a.data());
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
        if (pid == 0) {
            // Child: only async-signal-safe calls until exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            ::setpgid(0, 0);
            const char* log = options_.log_file.empty() ? "/dev/null" : options_.log_file.c_str();
            const int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
                ::close(fd);
            }
            const int null_in = ::open("/dev/null", O_RDONLY);
            if (null_in >= 0) ::dup2(null_in, 0);
            if (options_.run_as) {
                if (::setgroups(0, nullptr) != 0 || ::setgid(options_.run_as->gid) != 0 ||
                    ::setuid(options_.run_as->uid) != 0)
                    ::_exit(126);
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // cleared by setuid
            }
            for (const auto& entry : options_.env) ::putenv(const_cast<char*>(entry.c_str()));
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        pid_ = pid;
    }

    /// SIGTERM, wait up to the grace period, then SIGKILL; returns the wait status (-1 if not running).
    int stop() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        const auto until = std::chrono::steady_clock::now() + options_.grace;
        while (std::chrono::steady_clock::now() < until) {
            if (const auto status = try_reap()) return *status;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return kill(SIGKILL);
    }

    /// Sends `sig` (SIGKILL by default) to the whole process group and reaps the child.
    int kill(int sig = SIGKILL) {
        if (pid_ <= 0) return -1;
        ::kill(-pid_, sig);
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }

    /// Blocks until the child exits; returns its wait status (-1 if not running).
    int wait() {
        if (pid_ <= 0) return -1;
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }

    /// Sends a signal without waiting (e.g. SIGSTOP / SIGCONT to freeze a server).
    void signal(int sig) const {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    /// False once the child has exited (it is reaped then).
    [[nodiscard]] bool running() {
        if (pid_ <= 0) return false;
        return !try_reap().has_value();
    }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

    /// The log file's contents, for failure messages.
    [[nodiscard]] std::string log() const {
        if (options_.log_file.empty()) return {};
        std::ifstream in(options_.log_file);
        std::stringstream out;
        out << in.rdbuf();
        return out.str();
    }

private:
    std::optional<int> try_reap() {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno == ECHILD)) {
            pid_ = -1;
            return status;
        }
        return std::nullopt;
    }

    std::vector<std::string> argv_;
    Options options_;
    pid_t pid_ = -1;
};

/// Runs a program to completion (as `run_as` when given) and returns its exit status; its output
/// goes to `log_file`.
inline int run(std::vector<std::string> argv, Process::Options options = {}) {
    Process p(std::move(argv), std::move(options));
    const int status = p.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/// Waits (polling every 20 ms) until 127.0.0.1:`port` accepts connections; throws after
/// `timeout`, or as soon as `server` has exited, with the server's log in the message.
inline void wait_for_port(int port, std::chrono::milliseconds timeout, Process* server = nullptr) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!port_open(port)) {
        if (server && !server->running())
            throw std::runtime_error("the server exited before listening on port " + std::to_string(port) +
                                     "; its log:\n" + server->log());
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("nothing listened on 127.0.0.1:" + std::to_string(port) + " after " +
                                     std::to_string(timeout.count()) + " ms" +
                                     (server ? "; the server's log:\n" + server->log() : std::string{}));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace redress::it

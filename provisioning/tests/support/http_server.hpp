// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the provisioning tests and benchmark: it plays Azure
// IMDS and the wireserver. Each test scripts it with a handler that sees every request (and how many came
// before) and says how to answer: a status and body, after a delay, as raw bytes, or never (the connection stays
// open until the server stops, so the client's deadline must do the work). Every request is recorded with its
// headers and body. One thread per connection; "Connection: close" after each response.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace plumb::test {

struct RecordedRequest {
    std::string method;
    std::string target;                          // path and query
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct Reply {
    Reply() = default;
    Reply(int s, std::string b, std::string type = "application/json")
        : status(s), body(std::move(b)), content_type(std::move(type)) {}
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::chrono::milliseconds delay{0};  // wait this long before answering
    bool hang = false;                   // never answer
    std::string raw;                     // when set, sent verbatim instead of a formatted response
};

class HttpServer {
public:
    // index: the number of requests this server received before this one.
    using Handler = std::function<Reply(const RecordedRequest& request, int index)>;
    explicit HttpServer(Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const { return port_; }
    std::string url(const std::string& path = "") const;
    std::vector<RecordedRequest> requests() const;
    // Requests whose target starts with `prefix`.
    std::vector<RecordedRequest> requests_to(const std::string& prefix) const;
    void stop();

private:
    void accept_loop();
    void serve(int fd);
    bool wait_stop(std::chrono::milliseconds timeout) const;  // true when stopping

    Handler handler_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;  // eventfd, readable once stop() was called
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    mutable std::mutex mutex_;
    std::vector<std::thread> workers_;
    std::vector<RecordedRequest> requests_;
    int count_ = 0;
};

}  // namespace plumb::test

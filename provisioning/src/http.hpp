// HTTP for the provisioner through libcurl: one request per call, no proxy (IMDS and the wireserver are link-local
// and must never be sent to a proxy from the environment), no redirects, a hard timeout, and a bounded body.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::provision {

struct HttpRequest {
    std::string method = "GET";  // GET or POST
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;                  // sent for POST
    std::chrono::milliseconds timeout{30000};
    std::size_t max_body = 1u << 20;   // larger response bodies fail with EFBIG
};

struct HttpResponse {
    long status = 0;
    std::string body;
};

// A transport failure (refused, timed out: ETIMEDOUT, body too large: EFBIG, bad URL: EINVAL) is an Error; any
// HTTP status is a response.
Result<HttpResponse> http_request(const HttpRequest& request);

}  // namespace plumb::provision

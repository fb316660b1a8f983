#include "http.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace plumb::provision {

namespace {

struct Sink {
    std::string body;
    std::size_t max = 0;
    bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t len = size * n;
    if (sink->body.size() + len > sink->max) {
        sink->too_large = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    sink->body.append(data, len);
    return len;
}

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Result<HttpResponse> http_request(const HttpRequest& req) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
    if (!curl) return fail(ENOMEM, "libcurl: cannot create a handle");
    std::unique_ptr<curl_slist, ListDeleter> headers;
    for (const auto& h : req.headers) {
        curl_slist* l = curl_slist_append(headers.get(), h.c_str());
        if (!l) return fail(ENOMEM, "libcurl: header list");
        headers.release();
        headers.reset(l);
    }
    Sink sink{{}, req.max_body, false};
    long timeout_ms = std::max<long>(1, static_cast<long>(req.timeout.count()));
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "plumb-provision");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (req.method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (req.method != "GET") {
        return fail_invalid("unsupported HTTP method " + req.method);
    }
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    const std::string what = req.method + " " + req.url;
    if (sink.too_large) return fail(EFBIG, what + ": response body larger than " + std::to_string(req.max_body) + " bytes");
    if (rc != CURLE_OK) {
        std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        int code = rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT
                 : rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ? EINVAL
                 : ECONNREFUSED;
        return fail(code, what + ": " + detail);
    }
    HttpResponse r;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(sink.body);
    return r;
}

}  // namespace plumb::provision
